/**
 * Built-in objects are decoded against the OpenAPI models of the emulated Kubernetes minor: a field the
 * server's release does not have is refused by server-side apply and handled per `fieldValidation` on
 * create/update, exactly where a real server of that version would do so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatVersion, MAX_TESTED, MIN_SUPPORTED } from '../../src/kubernetes/version.js';
import { EMULATED_MINORS } from '../support/kube-openapi.js';
import { startFakeApiServer } from '../support/server.js';
import { validateObject } from '../support/kube-schemas.js';
import { apiError, http, kubectlFor, start } from './helpers.js';

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

/** A PgBouncer-like Deployment whose container drains with `lifecycle.preStop.sleep` (Kubernetes 1.29+). */
function sleepyDeployment(name = 'pgb'): { apiVersion: string; kind: string; metadata: any; spec: any } {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'pgbouncer',
              image: 'pgbouncer:1.18',
              lifecycle: { preStop: { sleep: { seconds: 5 } } },
            },
          ],
        },
      },
    },
  };
}

const SLEEP_SSA_ERROR =
  'failed to create typed patch object (default/pgb; apps/v1, Kind=Deployment): .spec.template.spec.containers[name="pgbouncer"].lifecycle.preStop.sleep: field not declared in schema';

const apply = (srv: Parameters<typeof http>[0], path: string, body: unknown) =>
  http(srv, 'PATCH', `${path}?fieldManager=test`, body, 'application/apply-patch+yaml');

describe('lifecycle.preStop.sleep across emulated versions', () => {
  it('a 1.28 server refuses it in server-side apply with the real message and stores nothing', async () => {
    const { srv } = await start({ kubernetesVersion: '1.28' });
    try {
      const r = await apply(srv, `${DEPLOYMENTS}/pgb`, sleepyDeployment());
      expect(r.status).toBe(500);
      expect(r.json).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        code: 500,
        message: SLEEP_SSA_ERROR,
      });
      expect(r.json.reason).toBeUndefined();
      expect(srv.object('apps/v1', 'Deployment', 'default', 'pgb')).toBeUndefined();
    } finally {
      await srv.stop();
    }
  });

  it('a 1.29 server has the field but its feature is off: accepted and silently dropped', async () => {
    const { srv } = await start({ kubernetesVersion: '1.29' });
    try {
      const r = await apply(srv, `${DEPLOYMENTS}/pgb`, sleepyDeployment());
      expect(r.status).toBe(201);
      expect(r.json.spec.template.spec.containers[0].lifecycle).toEqual({ preStop: {} });
    } finally {
      await srv.stop();
    }
  });

  it.each(['1.30', '1.36'])('a %s server accepts and stores it', async (version) => {
    const { srv } = await start({ kubernetesVersion: version });
    try {
      const r = await apply(srv, `${DEPLOYMENTS}/pgb`, sleepyDeployment());
      expect(r.status).toBe(201);
      expect(r.json.spec.template.spec.containers[0].lifecycle).toEqual({
        preStop: { sleep: { seconds: 5 } },
      });
      expect((await http(srv, 'GET', '/version')).json.gitVersion).toBe(`v${version}.0-fake`);
    } finally {
      await srv.stop();
    }
  });

  it('the same check is available to render tests through validateObject', () => {
    expect(validateObject(sleepyDeployment(), { kubernetesVersion: '1.28' })).toEqual([
      '.spec.template.spec.containers[name="pgbouncer"].lifecycle.preStop.sleep: field not declared in schema',
    ]);
    expect(validateObject(sleepyDeployment(), { kubernetesVersion: '1.30' })).toEqual([]);
  });

  it('emulates both ends of the range the operator declares (MIN_SUPPORTED, MAX_TESTED)', () => {
    expect(EMULATED_MINORS).toContain(formatVersion(MIN_SUPPORTED));
    expect(EMULATED_MINORS).toContain(formatVersion(MAX_TESTED));
  });

  it('refuses to emulate a version it has no models for, naming the ones it has', async () => {
    await expect(startFakeApiServer({ kubernetesVersion: '1.31' })).rejects.toThrow(
      /kubernetesVersion 1\.31 is not emulated; choose one of 1\.27, 1\.28, .*1\.36/,
    );
  });
});

describe('unknown fields on create and update (fieldValidation)', () => {
  let srv: Awaited<ReturnType<typeof start>>['srv'];
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let dir: string;
  beforeAll(async () => {
    const s = await start();
    srv = s.srv;
    apps = s.kc.makeApiClient(AppsV1Api);
    core = s.kc.makeApiClient(CoreV1Api);
    dir = mkdtempSync(join(tmpdir(), 'builtin-schemas-'));
  });
  afterAll(async () => {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Strict: 400 with the strict decoding error naming every unknown field, nothing stored', async () => {
    const body = sleepyDeployment('strict');
    body.spec.colour = 'blue';
    const r = await http(srv, 'POST', `${DEPLOYMENTS}?fieldValidation=Strict`, body);
    expect(r.status).toBe(400);
    expect(r.json.reason).toBe('BadRequest');
    expect(r.json.message).toBe(
      'strict decoding error: unknown field "spec.template.spec.containers[0].lifecycle.preStop.sleep", unknown field "spec.colour"',
    );
    expect(srv.object('apps/v1', 'Deployment', 'default', 'strict')).toBeUndefined();
  });

  it('Warn (the default): created without the unknown fields, one Warning header each', async () => {
    const body = sleepyDeployment('warned');
    body.spec.colour = 'blue';
    const r = await http(srv, 'POST', DEPLOYMENTS, body);
    expect(r.status).toBe(201);
    expect(r.headers.get('warning')).toBe(
      '299 - "unknown field \\"spec.template.spec.containers[0].lifecycle.preStop.sleep\\"", 299 - "unknown field \\"spec.colour\\""',
    );
    expect(r.json.spec.colour).toBeUndefined();
    expect(r.json.spec.template.spec.containers[0].lifecycle).toEqual({ preStop: {} });
  });

  it('Ignore: dropped without a warning', async () => {
    const body = sleepyDeployment('ignored');
    body.spec.colour = 'blue';
    const r = await http(srv, 'POST', `${DEPLOYMENTS}?fieldValidation=Ignore`, body);
    expect(r.status).toBe(201);
    expect(r.headers.get('warning')).toBeNull();
    expect(r.json.spec.colour).toBeUndefined();
  });

  it('a merge patch is decoded the same way', async () => {
    const r = await http(
      srv,
      'PATCH',
      `${DEPLOYMENTS}/warned?fieldValidation=Strict`,
      { spec: { paused: true, colour: 'red' } },
      'application/merge-patch+json',
    );
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('strict decoding error: unknown field "spec.colour"');
  });

  it('a value of the wrong type is a 400 naming the Go field', async () => {
    const body = sleepyDeployment('typed');
    body.spec.replicas = 'two';
    const r = await http(srv, 'POST', DEPLOYMENTS, body);
    expect(r.status).toBe(400);
    expect(r.json.message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
    const ssa = await apply(srv, `${DEPLOYMENTS}/typed`, body);
    expect(ssa.status).toBe(500);
    expect(ssa.json.message).toContain('.spec.replicas: expected numeric (int or float), got string');
  });

  it('a malformed quantity is refused', async () => {
    const r = await http(srv, 'POST', '/api/v1/namespaces/default/persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'bad-size' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5 GB' } } },
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain(
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
  });

  it('a missing required field is a 422 naming it', async () => {
    const e = await apiError(
      core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'no-port' }, spec: { ports: [{ name: 'http' } as never] } },
      }),
      422,
    );
    expect(e.message).toBe('Service "no-port" is invalid: spec.ports[0].port: Required value');
  });

  it('client-node creates see the Warn behaviour too', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: sleepyDeployment('from-client') as never,
    });
    // client-node's model (1.36) knows `sleep`; the 1.28 server drops it.
    expect(created.spec?.template.spec?.containers[0]?.lifecycle).toEqual({ preStop: {} });
  });

  it('kubectl apply (strict by default) and kubectl apply --server-side refuse the field', async () => {
    const kubectl = kubectlFor(srv, dir);
    const file = join(dir, 'pgb.yaml');
    writeFileSync(file, YAML.stringify(sleepyDeployment('kubectl-pgb')));
    const csa = await kubectl('apply', '-f', file);
    expect(csa.code).not.toBe(0);
    expect(csa.stderr).toContain('unknown field "spec.template.spec.containers[0].lifecycle.preStop.sleep"');
    const ssa = await kubectl('apply', '--server-side', '-f', file);
    expect(ssa.code).not.toBe(0);
    expect(ssa.stderr).toContain(
      '.spec.template.spec.containers[name="pgbouncer"].lifecycle.preStop.sleep: field not declared in schema',
    );
    expect(srv.object('apps/v1', 'Deployment', 'default', 'kubectl-pgb')).toBeUndefined();
  });
});
