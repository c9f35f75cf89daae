/**
 * CustomResourceDefinitions are validated on create and update as apiextensions-apiserver does, per emulated
 * server version: a CRD a real cluster refuses must be refused here, with the same message, through
 * @kubernetes/client-node, kubectl and server-side apply alike.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { apiError, http, kubectlFor, start } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CRD_FILE = join(ROOT, 'crds/flashsale.dev_flashsalestacks.yaml');
const OLD_CRD_FILE = fileURLToPath(
  new URL('./fixtures/flashsalestacks-described-root-metadata.yaml', import.meta.url),
);
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const ROOT_METADATA_MESSAGE =
  'spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified';

/** A CRD as plain JSON (spec typed loosely, so it also passes as client-node's V1CustomResourceDefinition). */
type CrdBody = Record<string, any> & { spec: any };

function yamlCrd(file: string): CrdBody {
  return YAML.parse(readFileSync(file, 'utf8').replace(/^#.*\n/gm, '')) as CrdBody;
}

/** A one-version CRD `gizmos.example.test` whose spec schema is `spec` (and extra root fields). */
function gizmoCrd(spec: Record<string, unknown>, name = 'gizmos'): CrdBody {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${name}.example.test` },
    spec: {
      group: 'example.test',
      scope: 'Namespaced',
      names: { kind: name === 'gizmos' ? 'Gizmo' : 'Gadget', plural: name },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec } } },
        },
      ],
    },
  };
}

const withRule = (rule: Record<string, unknown>) =>
  gizmoCrd({
    type: 'object',
    properties: { size: { type: 'integer' } },
    'x-kubernetes-validations': [rule],
  });

/**
 * POST a CRD as JSON (client-node's serializer would drop the `x-kubernetes-*` keys of plain objects), and
 * expect `code`; returns the response body.
 */
async function postCrd(srv: FakeApiServer, crd: Record<string, unknown>, code: number): Promise<any> {
  const r = await http(srv, 'POST', CRDS, crd);
  expect(r.status, JSON.stringify(r.json)).toBe(code);
  return r.json;
}

describe('CRD validation on a 1.28 server (the default)', () => {
  let srv: FakeApiServer;
  let api: ApiextensionsV1Api;
  let dir: string;
  const kubectl = (...args: string[]) => kubectlFor(srv, dir)(...args);
  beforeAll(async () => {
    const s = await start({ crdFiles: [] });
    srv = s.srv;
    api = s.kc.makeApiClient(ApiextensionsV1Api);
    dir = mkdtempSync(join(tmpdir(), 'crd-validation-'));
  });
  afterAll(async () => {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the old FlashSaleStack CRD (a description on root metadata) with the real message and stores nothing', async () => {
    const body = await apiError(api.createCustomResourceDefinition({ body: yamlCrd(OLD_CRD_FILE) }), 422);
    expect(body.reason).toBe('Invalid');
    expect(body.message).toBe(
      `CustomResourceDefinition.apiextensions.k8s.io "flashsalestacks.flashsale.dev" is invalid: ${ROOT_METADATA_MESSAGE}`,
    );
    expect(body.details.causes).toEqual([
      {
        reason: 'FieldValueForbidden',
        field: 'spec.validation.openAPIV3Schema.properties[metadata]',
        message:
          'Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
      },
    ]);
    expect((await http(srv, 'GET', `${CRDS}/flashsalestacks.flashsale.dev`)).status).toBe(404);
    const k = await kubectl('apply', '-f', OLD_CRD_FILE);
    expect(k.code).not.toBe(0);
    expect(k.stderr).toContain(ROOT_METADATA_MESSAGE);
  });

  it('accepts the generated CRD, through kubectl and the API, and serves its kind', async () => {
    const k = await kubectl('apply', '-f', CRD_FILE);
    expect(k.stderr).toBe('');
    expect(k.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/flashsalestacks.flashsale.dev created',
    );
    const crd = await api.readCustomResourceDefinition({ name: 'flashsalestacks.flashsale.dev' });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    expect((await http(srv, 'GET', '/apis/flashsale.dev/v1alpha1/flashsalestacks')).status).toBe(200);
  });

  it('refuses a CEL rule that does not parse, naming the rule', async () => {
    const body = await postCrd(srv, withRule({ rule: 'self.size >' }), 422);
    expect(body.details.causes[0].field).toBe(
      'spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule',
    );
    expect(body.message).toContain(
      'Invalid value: apiextensions.ValidationRule{Rule:"self.size >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:""}: compilation failed: ERROR: <input>:',
    );
  });

  it('refuses a CEL rule that names a field the schema does not declare', async () => {
    const body = await postCrd(srv, withRule({ rule: 'self.sise > 0' }), 422);
    expect(body.message).toContain("compilation failed: ERROR: <input>:1:1: undefined field 'sise'");
    const ok = await postCrd(srv, withRule({ rule: 'self.size > 0' }), 201);
    expect(ok.metadata.name).toBe('gizmos.example.test');
    await api.deleteCustomResourceDefinition({ name: 'gizmos.example.test' });
  });

  it('refuses list-map keys that are neither required nor defaulted, and defaults that do not validate', async () => {
    const listMap = gizmoCrd({
      type: 'object',
      properties: {
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', properties: { name: { type: 'string' } } },
        },
      },
    });
    const a = await postCrd(srv, listMap, 422);
    expect(a.message).toContain(
      'spec.validation.openAPIV3Schema.properties[spec].properties[ports].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property',
    );
    const badDefault = gizmoCrd({
      type: 'object',
      properties: {
        replicas: { type: 'integer', minimum: 1, default: 0 },
        mode: { type: 'object', properties: { kind: { type: 'string' } }, default: { kind: 'a', extra: 1 } },
      },
    });
    const b = await postCrd(srv, badDefault, 422);
    expect(b.message).toContain(
      'spec.validation.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: 0:',
    );
    expect(b.message).toContain(
      'properties[mode].default: Invalid value: {"kind":"a","extra":1}: must not have unknown fields: extra',
    );
  });

  it('refuses an array without items and a field without a type (structural schema)', async () => {
    const body = await apiError(
      api.createCustomResourceDefinition({
        body: gizmoCrd({
          type: 'object',
          properties: { tags: { type: 'array' }, any: { description: 'x' } },
        }),
      }),
      422,
    );
    expect(body.message).toContain(
      'properties[spec].properties[tags].items: Required value: must be specified',
    );
    expect(body.message).toContain(
      'properties[spec].properties[any].type: Required value: must not be empty for specified object fields',
    );
  });
});

describe('CRD features follow the emulated version', () => {
  const fieldPathCrd = () =>
    withRule({ rule: 'self.size >= 0', fieldPath: '.size', reason: 'FieldValueForbidden' });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crd-versions-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 1.27 server does not know fieldPath/reason: kubectl (strict) and server-side apply refuse, a plain create drops them with a warning', async () => {
    const { srv, kc } = await start({ crdFiles: [], kubernetesVersion: '1.27' });
    try {
      expect((await http(srv, 'GET', '/version')).json).toMatchObject({ major: '1', minor: '27' });
      const file = join(dir, 'gizmo-fieldpath.yaml');
      writeFileSync(file, YAML.stringify(fieldPathCrd()));
      const kubectl = kubectlFor(srv, dir);
      const k = await kubectl('apply', '-f', file);
      expect(k.code).not.toBe(0);
      expect(k.stderr).toContain(
        'unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validations[0].fieldPath"',
      );
      const ssa = await http(
        srv,
        'PATCH',
        `${CRDS}/gizmos.example.test?fieldManager=test`,
        fieldPathCrd(),
        'application/apply-patch+yaml',
      );
      expect(ssa.status).toBe(500);
      expect(ssa.json.message).toMatch(
        /^failed to create typed patch object \(\/gizmos\.example\.test; apiextensions\.k8s\.io\/v1, Kind=CustomResourceDefinition\): errors:\n {2}\.spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\.spec\.x-kubernetes-validations\[0\]\.fieldPath: field not declared in schema/,
      );
      const created = await http(srv, 'POST', CRDS, fieldPathCrd());
      expect(created.status).toBe(201);
      expect(created.headers.get('warning')).toContain(
        'unknown field \\"spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validations[0].fieldPath\\"',
      );
      const rule =
        created.json.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'][0];
      expect(rule).toEqual({ rule: 'self.size >= 0' });
      void kc;
    } finally {
      await srv.stop();
    }
  });

  it('a 1.28 server accepts fieldPath and reason and keeps them', async () => {
    const { srv, kc } = await start({ crdFiles: [], kubernetesVersion: '1.28' });
    try {
      const crd = await postCrd(srv, fieldPathCrd(), 201);
      expect(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations']).toEqual(
        [{ rule: 'self.size >= 0', fieldPath: '.size', reason: 'FieldValueForbidden' }],
      );
      // Through client-node too (its model of 1.28+ knows fieldPath).
      const viaClient = await kc
        .makeApiClient(ApiextensionsV1Api)
        .readCustomResourceDefinition({ name: 'gizmos.example.test' });
      expect(
        viaClient.spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec!.x_kubernetes_validations,
      ).toEqual([{ rule: 'self.size >= 0', fieldPath: '.size', reason: 'FieldValueForbidden' }]);
      const badPath = await postCrd(
        srv,
        gizmoCrd(
          {
            type: 'object',
            properties: { size: { type: 'integer' } },
            'x-kubernetes-validations': [{ rule: 'self.size >= 0', fieldPath: '.nope' }],
          },
          'gadgets',
        ),
        422,
      );
      expect(badPath.message).toContain(
        'x-kubernetes-validations[0].fieldPath: Invalid value: ".nope": must be a valid path',
      );
    } finally {
      await srv.stop();
    }
  });

  it('optionalOldSelf needs a 1.29 server, and a rule that uses oldSelf', async () => {
    const ratcheting = (rule: string) => withRule({ rule, optionalOldSelf: true });
    const old = await start({ crdFiles: [], kubernetesVersion: '1.28' });
    try {
      const r = await http(
        old.srv,
        'POST',
        `${CRDS}?fieldValidation=Strict`,
        ratcheting('oldSelf.hasValue() || self.size > 0'),
      );
      expect(r.status).toBe(400);
      expect(r.json.message).toContain(
        'unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validations[0].optionalOldSelf"',
      );
    } finally {
      await old.srv.stop();
    }
    const { srv } = await start({ crdFiles: [], kubernetesVersion: '1.30' });
    try {
      const r = await http(srv, 'POST', `${CRDS}?fieldValidation=Strict`, ratcheting('self.size > 0'));
      expect(r.status).toBe(422);
      expect(r.json.message).toContain(
        'x-kubernetes-validations[0].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule',
      );
    } finally {
      await srv.stop();
    }
  });
});
