import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRD_PATH, DOCS_PATH, TYPES_PATH, generateAll } from '../../src/api/generate.js';
import { applyDefaults } from '../../src/api/defaults.js';
import { specSchema, type SchemaNode } from '../../src/api/schema.js';
import { ROOT, crdSchema, loadCrd } from './crd-helpers.js';

describe('generated files are up to date (npm run generate)', () => {
  it('crds/, src/api/types.generated.ts and docs/api.md equal what generation produces', async () => {
    const generated = await generateAll(ROOT);
    for (const path of [CRD_PATH, TYPES_PATH, DOCS_PATH]) {
      const committed = readFileSync(`${ROOT}${path}`, 'utf8');
      expect(committed, `${path} is stale: run npm run generate`).toBe(generated[path]);
    }
  });
});

describe('the CRD', () => {
  it('has the names, scope, version, status subresource and printer columns', () => {
    const crd = loadCrd();
    expect(crd.metadata.name).toBe('flashsalestacks.flashsale.dev');
    expect(crd.spec.names).toMatchObject({
      kind: 'FlashSaleStack',
      plural: 'flashsalestacks',
      shortNames: ['fss'],
    });
    expect(crd.spec.scope).toBe('Namespaced');
    const v = crd.spec.versions[0];
    expect(v).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    // What on-call reads: state, health and backups by default; what runs (not what the spec asks) with -o wide.
    expect(v.additionalPrinterColumns.map((c: any) => [c.name, c.jsonPath, c.priority ?? 0])).toEqual([
      ['Phase', '.status.phase', 0],
      ['Ready', '.status.readyComponents', 0],
      ['Health', '.status.healthSummary', 0],
      ['Last Backup', '.status.lastSuccessfulBackup.completedAt', 0],
      ['Age', '.metadata.creationTimestamp', 0],
      ['Postgres', '.status.versions.postgres', 1],
      ['Redis', '.status.versions.redis', 1],
      ['RabbitMQ', '.status.versions.rabbitmq', 1],
      ['API', '.status.versions.api', 1],
      ['API Replicas', '.status.apiReplicas', 1],
    ]);
  });

  it('is structural: every node has a type (or preserve-unknown-fields), a description, and no $-keys', () => {
    const bad: string[] = [];
    const walk = (node: any, path: string, isRoot: boolean) => {
      if (
        !node.type &&
        !node['x-kubernetes-int-or-string'] &&
        !node['x-kubernetes-preserve-unknown-fields']
      ) {
        bad.push(`${path}: no type`);
      }
      if (!isRoot && path !== '.metadata' && !node.description) bad.push(`${path}: no description`);
      for (const k of Object.keys(node)) if (k.startsWith('$')) bad.push(`${path}: generator key ${k}`);
      for (const k of ['anyOf', 'oneOf', 'allOf', 'not', '$ref'])
        if (k in node) bad.push(`${path}: ${k} not allowed`);
      for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${k}`, false);
      if (node.items) walk(node.items, `${path}[]`, false);
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}.*`, false);
      if (node.properties && node.additionalProperties)
        bad.push(`${path}: properties and additionalProperties`);
      if (node['x-kubernetes-list-type'] === 'map') {
        for (const key of node['x-kubernetes-list-map-keys']) {
          if (!node.items.required?.includes(key)) bad.push(`${path}: list-map key ${key} must be required`);
        }
      }
    };
    walk(crdSchema(), '', true);
    expect(bad).toEqual([]);
  });

  it('has CEL rules for the cross-field constraints', () => {
    const spec = crdSchema().properties.spec.properties;
    const rules = (n: any) => (n['x-kubernetes-validations'] ?? []).map((r: any) => r.rule).join(' ');
    expect(rules(spec.redis)).toMatch(/allkeys-/);
    expect(rules(spec.api.properties.autoscaling)).toMatch(/minReplicas <= self.maxReplicas/);
    expect(rules(spec.rabbitmq)).toMatch(/replicas == 3/);
    expect(rules(spec.backup)).toMatch(/existingClaim/);
    expect(rules(spec.postgres.properties.parameters)).toMatch(/pool_mode/);
    expect(crdSchema().properties.status.properties.conditions['x-kubernetes-list-map-keys']).toEqual([
      'type',
    ]);
    expect(
      crdSchema().properties.status.properties.health.properties.redis[
        'x-kubernetes-preserve-unknown-fields'
      ],
    ).toBe(true);
  });

  it('static schema defaults equal what applyDefaults produces', () => {
    const resolved = applyDefaults({
      apiVersion: 'flashsale.dev/v1alpha1',
      kind: 'FlashSaleStack',
      metadata: { name: 'x' },
      spec: {},
    }).spec as any;
    const checked: string[] = [];
    const walk = (node: SchemaNode, value: any, path: string) => {
      for (const [k, child] of Object.entries(node.properties ?? {})) {
        if (value === undefined || !(k in value)) continue; // e.g. storage: defaults apply only when present
        if (child.default !== undefined && !(child.type === 'object' && child.properties)) {
          expect(value[k], path + '.' + k).toEqual(child.default);
          checked.push(`${path}.${k}`);
        }
        if (child.type === 'object' && child.properties) walk(child, value[k], `${path}.${k}`);
      }
    };
    walk(specSchema, resolved, 'spec');
    expect(checked.length).toBeGreaterThan(40);
    expect(checked).toContain('spec.pgbouncer.maxClientConn');
    expect(checked).toContain('spec.backup.storage.size');
  });
});
