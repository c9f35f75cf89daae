import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { request } from '../support/tls.js';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from '../support/server.js';
import { kubectlBinary } from '../support/tools.js';

export const WIDGET_CRD = fileURLToPath(new URL('./fixtures/widgets-crd.yaml', import.meta.url));

export async function start(
  opts: FakeApiServerOptions = {},
): Promise<{ srv: FakeApiServer; kc: KubeConfig }> {
  const srv = await startFakeApiServer({ crdFiles: [WIDGET_CRD], ...opts });
  const kc = new KubeConfig();
  kc.loadFromFile(srv.kubeconfigPath);
  return { srv, kc };
}

/** Await a client-node call that must fail; return the decoded Status body. */
export async function apiError(p: Promise<unknown>, code: number): Promise<Record<string, any>> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiException);
    const ex = e as ApiException<unknown>;
    expect(ex.code).toBe(code);
    const body = typeof ex.body === 'string' ? JSON.parse(ex.body) : ex.body;
    return body as Record<string, any>;
  }
  throw new Error(`expected the call to fail with ${code}, it succeeded`);
}

/** Raw HTTP against the server as its admin (for content types and endpoints client-node does not expose). */
export async function http(
  srv: FakeApiServer,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await request(srv.url + path, {
    method,
    headers: {
      'Content-Type': contentType,
      Accept: 'application/json',
      Authorization: `Bearer ${srv.adminToken}`,
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = res.body.toString('utf8');
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers))
    for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) h.append(k, x);
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: h };
}

export async function eventually<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<Exclude<NonNullable<T>, false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false && v !== null) return v as Exclude<NonNullable<T>, false>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function widget(
  name: string,
  spec: Record<string, unknown> = { size: 1 },
  extra: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'example.test/v1',
    kind: 'Widget',
    metadata: { name, namespace: 'default', ...extra },
    spec,
  };
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the machine's kubectl against `srv` (discovery cached under `cacheDir`); never throws. */
export function kubectlFor(srv: FakeApiServer, cacheDir: string) {
  const run = promisify(execFile);
  return async (...args: string[]): Promise<KubectlResult> => {
    try {
      const r = await run(
        kubectlBinary(),
        ['--kubeconfig', srv.kubeconfigPath, '--cache-dir', join(cacheDir, 'cache'), ...args],
        { timeout: 30_000 },
      );
      return { ...r, code: 0 };
    } catch (e) {
      const err = e as KubectlResult;
      return { stdout: err.stdout, stderr: err.stderr, code: err.code };
    }
  };
}
