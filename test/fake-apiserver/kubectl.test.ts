import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { eventually, http, kubectlFor, start } from './helpers.js';

let srv: FakeApiServer;
let dir: string;
const kubectl = (...args: string[]) => kubectlFor(srv, dir)(...args);

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

beforeAll(async () => {
  ({ srv } = await start({ kubelet: { delayMs: 50 } }));
  dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-kubectl-'));
});
afterAll(async () => {
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

const WIDGET = `apiVersion: example.test/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 3
  tiers:
    - name: a
`;

const DEPLOY = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: ${image}
          ports: [{containerPort: 80}]
`;

describe('kubectl against the in-memory API server', () => {
  it('applies client-side (create then strategic-merge update) with default validation', async () => {
    const a = await kubectl('apply', '-f', file('d1.yaml', DEPLOY('nginx:1')));
    expect(a.stderr).toBe('');
    expect(a.stdout).toContain('deployment.apps/web created');
    const b = await kubectl('apply', '-f', file('d2.yaml', DEPLOY('nginx:2')));
    expect(b.stdout).toContain('deployment.apps/web configured');
    const img = await kubectl(
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}',
    );
    expect(img.stdout).toBe('nginx:2 2');
    expect(
      srv
        .requests()
        .some(
          (r) =>
            r.verb === 'patch' &&
            r.resource === 'deployments' &&
            r.fieldManager === 'kubectl-client-side-apply',
        ),
    ).toBe(true);
  });

  it('applies server-side and reports a conflict', async () => {
    const a = await kubectl('apply', '--server-side', '-f', file('w.yaml', WIDGET));
    expect(a.stdout).toContain('widget.example.test/w1 serverside-applied');
    const other = await kubectl(
      'apply',
      '--server-side',
      '--field-manager',
      'someone',
      '-f',
      file('w2.yaml', WIDGET.replace('size: 3', 'size: 4')),
    );
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('conflict');
    const forced = await kubectl(
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager',
      'someone',
      '-f',
      join(dir, 'w2.yaml'),
    );
    expect(forced.code).toBe(0);
  });

  it('rejects unknown fields of a custom resource with default (strict) validation', async () => {
    const r = await kubectl(
      'apply',
      '-f',
      file('bad.yaml', WIDGET.replace('name: w1', 'name: wbad').replace('size: 3', 'size: 3\n  colour: red')),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.colour"');
  });

  it('get shows printer columns; describe shows the object and its events', async () => {
    await http(
      srv,
      'PATCH',
      '/apis/example.test/v1/namespaces/default/widgets/w1/status',
      {
        status: {
          phase: 'Running',
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Up',
              message: 'ok',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
    const g = await kubectl('get', 'wd');
    const [header, row] = g.stdout.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'SIZE', 'PHASE', 'READY', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 4)).toEqual(['w1', '4', 'Running', 'True']);
    const deploys = await kubectl('get', 'deploy');
    expect(deploys.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
    ]);
    const w = (await http(srv, 'GET', '/apis/example.test/v1/namespaces/default/widgets/w1')).json;
    await http(srv, 'POST', '/api/v1/namespaces/default/events', {
      metadata: { name: 'w1.1' },
      involvedObject: {
        apiVersion: 'example.test/v1',
        kind: 'Widget',
        name: 'w1',
        namespace: 'default',
        uid: w.metadata.uid,
      },
      reason: 'Provisioned',
      message: 'all parts in place',
      type: 'Normal',
      source: { component: 'widget-operator' },
      count: 1,
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
    });
    const d = await kubectl('describe', 'widget', 'w1');
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/Phase:\s+Running/);
    expect(d.stdout).toMatch(/Normal\s+Provisioned\s+\S+\s+widget-operator\s+all parts in place/);
  });

  it('wait --for=condition works (simulated kubelet makes the Deployment Available)', async () => {
    const r = await kubectl('wait', '--for=condition=Available', 'deploy/web', '--timeout=20s');
    expect(r.stdout).toContain('deployment.apps/web condition met');
    const wr = await kubectl('wait', '--for=condition=Ready', 'wd/w1', '--timeout=10s');
    expect(wr.stdout).toContain('condition met');
  });

  it('applies examples/minimal.yaml against the project CRD and prints its columns with `get fss`', async () => {
    const crdPath = fileURLToPath(new URL('../../crds/flashsale.dev_flashsalestacks.yaml', import.meta.url));
    srv.installCrd(readFileSync(crdPath, 'utf8'));
    const crd = YAML.parse(readFileSync(crdPath, 'utf8'));
    const cols = crd.spec.versions
      .find((v: any) => v.served)
      .additionalPrinterColumns.filter((c: any) => !c.priority);
    const a = await kubectl(
      'apply',
      '-f',
      fileURLToPath(new URL('../../examples/minimal.yaml', import.meta.url)),
    );
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/flashsalestack\.flashsale\.dev\/\S+ created/);
    const g = await kubectl('get', 'fss');
    const header = g.stdout.split('\n')[0]!;
    expect(header.split(/\s{2,}/)).toEqual(['NAME', ...cols.map((c: any) => c.name.toUpperCase())]);
    const d = await kubectl('describe', 'fss');
    expect(d.stdout).toMatch(/Kind:\s+FlashSaleStack/);
  });

  it('deletes and waits for the object to be gone, collecting dependents', async () => {
    const w = (await http(srv, 'GET', '/apis/example.test/v1/namespaces/default/widgets/w1')).json;
    await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: {
        name: 'w1-conf',
        ownerReferences: [
          {
            apiVersion: 'example.test/v1',
            kind: 'Widget',
            name: 'w1',
            uid: w.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
    });
    const r = await kubectl('delete', 'wd', 'w1');
    expect(r.stdout).toContain('widget.example.test "w1" deleted');
    expect((await kubectl('get', 'wd', 'w1')).stderr).toContain('NotFound');
    await eventually(
      async () => (await http(srv, 'GET', '/api/v1/namespaces/default/configmaps/w1-conf')).status === 404,
      'dependent gone',
    );
    const f = await kubectl('delete', 'deploy', 'web', '--cascade=foreground');
    expect(f.code).toBe(0);
    expect((await kubectl('get', 'deploy')).stderr).toContain('No resources found');
  });
});
