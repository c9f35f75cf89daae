/** Shared fixtures and daemon helpers for the data-tier render tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { applyDefaults } from '../../../src/api/defaults.js';
import type { FlashSaleStackSpec, ResolvedFlashSaleStack } from '../../../src/api/types.js';
import { MIN_SUPPORTED } from '../../../src/kubernetes/version.js';
import type { KubeObject, RenderInputs } from '../../../src/render/common.js';

export function stack(spec: FlashSaleStackSpec = {}, name = 'shop'): ResolvedFlashSaleStack {
  return applyDefaults({
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name, namespace: 'sales', uid: '1111-2222' },
    spec,
  });
}

export function inputs(overrides: Partial<RenderInputs['secrets']> = {}): RenderInputs {
  return {
    secrets: {
      postgresPassword: 'pgPassw0rd-Secret',
      pgbouncerAdminPassword: 'bouncerAdm1n-Secret',
      redisPassword: 'redisPassw0rd-Secret',
      rabbitmqPassword: 'rabbitPassw0rd-Secret',
      erlangCookie: 'ERLANGCOOKIESECRETVALUE',
      apiAdminToken: 'apiToken-Secret',
      ...overrides,
    },
    prometheusOperatorAvailable: false,
    operatorNamespace: 'flash-sale-system',
    kubernetesVersion: MIN_SUPPORTED,
  };
}

export const ALL_SECRETS = Object.values(inputs().secrets);

export function find(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!;
}

export function configData(objects: KubeObject[]): Record<string, string> {
  return find(objects, 'ConfigMap').data as Record<string, string>;
}

export function secretData(objects: KubeObject[], name?: string): Record<string, string> {
  return find(objects, 'Secret', name).stringData as Record<string, string>;
}

export function podSpec(workload: KubeObject): any {
  return (workload as any).spec.template.spec;
}

export function checksum(workload: KubeObject): string {
  return (workload as any).spec.template.metadata.annotations['flashsale.dev/config-checksum'];
}

/** Asserts the restricted Pod Security Standard on a pod spec (all containers, init containers). */
export function restrictedProblems(spec: any): string[] {
  const problems: string[] = [];
  const psc = spec.securityContext ?? {};
  if (psc.seccompProfile?.type !== 'RuntimeDefault') problems.push('pod seccompProfile');
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${c.name}: allowPrivilegeEscalation`);
    if (!(sc.runAsNonRoot === true || psc.runAsNonRoot === true)) problems.push(`${c.name}: runAsNonRoot`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) problems.push(`${c.name}: runAsUser 0`);
    if (JSON.stringify(sc.capabilities?.drop) !== '["ALL"]') problems.push(`${c.name}: capabilities`);
    if (sc.capabilities?.add?.length) problems.push(`${c.name}: adds capabilities`);
    if (!c.resources?.limits?.cpu || !c.resources?.limits?.memory || !c.resources?.requests?.memory)
      problems.push(`${c.name}: resources`);
    if (/:latest$/.test(c.image) || !/:[^/]+$/.test(c.image)) problems.push(`${c.name}: image not pinned`);
  }
  for (const c of spec.containers) {
    if (!c.readinessProbe || !c.livenessProbe) problems.push(`${c.name}: probes`);
  }
  for (const v of spec.volumes ?? []) {
    if (v.hostPath) problems.push(`hostPath volume ${v.name}`);
  }
  return problems;
}

export { freePort } from '../../support/processes.js';

/** Starts a long-running daemon; output is kept for error messages. */
export function startDaemon(cmd: string, args: string[]): { proc: ChildProcess; output: () => string } {
  let out = '';
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  proc.stdout?.on('data', (d) => (out += String(d)));
  proc.stderr?.on('data', (d) => (out += String(d)));
  return { proc, output: () => out };
}

export async function stopDaemon(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
    }, 10_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, attempts = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}: ${String(last)}`);
}
