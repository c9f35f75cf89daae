/**
 * Test harness: the in-memory API server (with our CRD and the simulated kubelet) and an operator running
 * in-process against it over real HTTP, through @kubernetes/client-node's KubeConfig. The operator runs as
 * its ServiceAccount with exactly the RBAC of manifests/rbac (as `kubectl apply -k manifests/` installs it),
 * so a request the generated ClusterRole/Role does not allow fails here as on a real cluster; tests act as
 * the cluster admin (`kc`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach } from 'vitest';
import YAML from 'yaml';
import { KubeClient, type ApiObject } from '../../src/controller/kube-client.js';
import { createLogger, silentLogger, type Logger } from '../../src/controller/logger.js';
import { Operator, type OperatorOptions, type OperatorParts } from '../../src/controller/operator.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { createOperatorParts } from '../../src/controller/wiring.js';
import { installOperatorRbac, OPERATOR_NAMESPACE } from '../support/operator-rbac.js';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from '../support/server.js';

export const CRD_FILE = fileURLToPath(
  new URL('../../crds/flashsale.dev_flashsalestacks.yaml', import.meta.url),
);
export const SALE_CRD_FILE = fileURLToPath(
  new URL('../../crds/flashsale.dev_flashsales.yaml', import.meta.url),
);
export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export {
  installOperatorRbac,
  OPERATOR_NAMESPACE,
  OPERATOR_SERVICE_ACCOUNT,
  OPERATOR_USER,
} from '../support/operator-rbac.js';

export function loadExample(name: string, namespace = 'default'): ApiObject {
  const doc = YAML.parse(readFileSync(`${EXAMPLES}${name}`, 'utf8')) as ApiObject;
  doc.metadata.namespace = namespace;
  return doc;
}

/** The server, the admin's kubeconfig (`kc`) and the operator's (`operatorKc`, its ServiceAccount with the generated RBAC). */
export async function startServer(
  opts: FakeApiServerOptions = {},
): Promise<{ srv: FakeApiServer; kc: KubeConfig; operatorKc: KubeConfig }> {
  const srv = await startFakeApiServer({
    crdFiles: [CRD_FILE, SALE_CRD_FILE],
    kubelet: { delayMs: 50 },
    ...opts,
  });
  const kc = new KubeConfig();
  kc.loadFromFile(srv.kubeconfigPath);
  const operatorKc = installOperatorRbac(srv);
  return { srv, kc, operatorKc };
}

export function operatorOptions(overrides: Partial<OperatorOptions> = {}): OperatorOptions {
  return {
    namespaces: [],
    metricsAddr: '127.0.0.1:0',
    leaderElect: false,
    concurrency: 4,
    resyncMs: 60_000,
    operatorNamespace: OPERATOR_NAMESPACE,
    watchIdleTimeoutMs: 5_000,
    backoffBaseMs: 50,
    backoffMaxMs: 1_000,
    ...overrides,
  };
}

export function testParts(overrides: Partial<OperatorParts> = {}): OperatorParts {
  return {
    ...createOperatorParts({ health: false, defaultProbeIntervalMs: 30_000, log: silentLogger }),
    ...overrides,
  };
}

export async function startOperator(
  kc: KubeConfig,
  overrides: Partial<OperatorOptions> = {},
  parts: OperatorParts = testParts(),
  log: Logger = process.env.OPERATOR_LOGS ? createLogger('debug') : silentLogger,
): Promise<Operator> {
  const op = new Operator(kc, operatorOptions(overrides), parts, log);
  await op.start();
  return op;
}

export function client(kc: KubeConfig): KubeClient {
  return new KubeClient(kc, 30_000, 'test-client');
}

export const STACKS = resourceTypeByKind('FlashSaleStack');

export async function getStack(c: KubeClient, name: string, ns = 'default'): Promise<ApiObject> {
  return c.get(STACKS, ns, name);
}

export function condition(
  stack: ApiObject,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  const conds =
    (stack.status as { conditions?: { type: string; status: string; reason: string; message: string }[] })
      ?.conditions ?? [];
  return conds.find((c) => c.type === type);
}

export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the stack's Ready condition is True, and returns the stack. */
export function waitReady(c: KubeClient, name = 'shop', timeoutMs = 30_000): Promise<ApiObject> {
  return eventually(
    async () => {
      const s = await getStack(c, name);
      return condition(s, 'Ready')?.status === 'True' ? s : undefined;
    },
    `${name} Ready`,
    timeoutMs,
  );
}

/** What a test of the running operator reads: filled in afresh before each test (see useOperatorTestEnv). */
export interface OperatorTestEnv {
  srv: FakeApiServer;
  /** The cluster admin's kubeconfig (what `c` uses). */
  kc: KubeConfig;
  /** The operator's ServiceAccount kubeconfig. */
  operatorKc: KubeConfig;
  c: KubeClient;
  /** The operator of the current test, once started. */
  op: Operator;
  /** Starts the operator of the current test (stopped after it), for files that start it with per-test options. */
  startOperator(overrides?: Partial<OperatorOptions>, parts?: OperatorParts): Promise<Operator>;
}

export interface OperatorTestEnvOptions {
  server?: FakeApiServerOptions;
  /** The options of the operator started before each test; false: each test calls env.startOperator itself. */
  operator?: Partial<OperatorOptions> | false;
  /** Makes the operator's parts for each test (default: testParts()). */
  parts?: () => OperatorParts;
}

/**
 * Registers a beforeEach that starts the in-memory API server, a client and (unless `operator: false`) the
 * operator, and an afterEach that stops them; returns the object whose fields hold the current test's ones.
 */
export function useOperatorTestEnv(opts: OperatorTestEnvOptions = {}): OperatorTestEnv {
  const env = {
    async startOperator(overrides: Partial<OperatorOptions> = {}, parts = opts.parts?.() ?? testParts()) {
      env.op = await startOperator(env.operatorKc, overrides, parts);
      return env.op;
    },
  } as OperatorTestEnv;
  beforeEach(async () => {
    ({ srv: env.srv, kc: env.kc, operatorKc: env.operatorKc } = await startServer(opts.server));
    env.c = client(env.kc);
    if (opts.operator !== false) await env.startOperator(opts.operator);
  });
  afterEach(async () => {
    const { op, srv } = env;
    delete (env as Partial<OperatorTestEnv>).op;
    await op?.stop();
    await srv.stop();
  });
  return env;
}

/** Write requests (create/update/patch/delete) recorded by the server since the last reset. */
export function writes(srv: FakeApiServer): { verb: string; resource: string; name?: string }[] {
  return srv
    .requests()
    .filter((r) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb))
    .map((r) => ({ verb: r.verb, resource: r.resource, name: r.name }));
}
