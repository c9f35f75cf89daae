/**
 * The CRD passes a real API server's apiextensions validation on every supported minor, starting at the
 * lowest (src/kubernetes/version.ts): defaults that validate (schema and CEL rules, after nested defaults
 * are applied, and nothing a structural schema would prune), and CEL rules that compile with the library a
 * 1.28 server offers new expressions. (Structural rules and list types: drift.test.ts; the CRD's own fields
 * per minor: test/render/versions.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { compileRule, evalCel } from '../support/cel.js';
import { crdSchema, schemaValidator } from './crd-helpers.js';

interface Node {
  type?: string;
  default?: unknown;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
}

/** Every schema node with its path. */
function nodes(node: Node, path = '', out: [string, Node][] = []): [string, Node][] {
  out.push([path || '.', node]);
  for (const [k, child] of Object.entries(node.properties ?? {})) nodes(child, `${path}.${k}`, out);
  if (node.items) nodes(node.items, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object') nodes(node.additionalProperties, `${path}.*`, out);
  return out;
}

/** A value with the defaults of nested properties filled in, as the API server defaults (recursively). */
function withDefaults(node: Node, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !node.properties) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [k, child] of Object.entries(node.properties)) {
    if (out[k] === undefined && child.default !== undefined) out[k] = structuredClone(child.default);
    if (out[k] !== undefined) out[k] = withDefaults(child, out[k]);
  }
  return out;
}

/** CEL rule failures on `value` and its nested objects (where the value has them). */
function celFailures(node: Node, value: unknown, path: string): string[] {
  const out: string[] = [];
  for (const r of node['x-kubernetes-validations'] ?? []) {
    const compiled = compileRule(r);
    if ('error' in compiled) out.push(`${path}: ${r.rule}: ${compiled.error}`);
    // Transition rules (oldSelf) only run on updates; a default is checked as on create.
    else if (compiled.usesOldSelf) continue;
    else if (evalCel(compiled.ast, { self: value }) !== true) out.push(`${path}: ${r.message}`);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, child] of Object.entries(node.properties ?? {})) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out.push(...celFailures(child, v, `${path}.${k}`));
    }
  }
  return out;
}

/**
 * Functions and macros a 1.28 API server compiles new CRD rules with: its CEL environment for new
 * expressions is the 1.27 compatibility set (k8s.io/apiserver pkg/cel/environment, DefaultCompatibilityVersion
 * 1.27 in v0.28): the CEL standard library, ext.Strings version 0, and the Kubernetes URL, regex and list
 * libraries. quantity() and optional types only come with 1.29's set; ip/cidr 1.30; format 1.31.
 */
// prettier-ignore
const CEL_AT_1_28 = new Set([
  // standard library and macros
  'has', 'all', 'exists', 'exists_one', 'map', 'filter', 'size', 'contains', 'startsWith', 'endsWith',
  'matches', 'int', 'uint', 'double', 'string', 'bytes', 'bool', 'duration', 'timestamp', 'dyn', 'type',
  'getDate', 'getDayOfMonth', 'getDayOfWeek', 'getDayOfYear', 'getFullYear', 'getHours', 'getMilliseconds',
  'getMinutes', 'getMonth', 'getSeconds',
  // ext.Strings(0)
  'charAt', 'indexOf', 'lastIndexOf', 'lowerAscii', 'replace', 'split', 'substring', 'trim', 'upperAscii',
  // Kubernetes libraries: URLs, regex, lists
  'url', 'isURL', 'getScheme', 'getHost', 'getHostname', 'getPort', 'getEscapedPath', 'getQuery',
  'find', 'findAll', 'isSorted', 'sum', 'min', 'max',
]);

/** Names called in a CEL rule (`f(`, `.m(`), string literals left out. */
function calledNames(rule: string): string[] {
  const code = rule.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");
  return [...code.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)].map((m) => m[1]!);
}

const schema = crdSchema() as Node;
const all = nodes(schema);

describe('the CRD on a real API server', () => {
  it('has defaults that validate against their own schema and survive pruning', () => {
    const withDefault = all.filter(([, n]) => n.default !== undefined);
    expect(withDefault.length).toBeGreaterThan(50);
    const failures: string[] = [];
    for (const [path, node] of withDefault) {
      const value = withDefaults(node, node.default);
      const validate = schemaValidator(node);
      if (!validate(value)) failures.push(`${path}: ${JSON.stringify(validate.errors)}`);
      failures.push(...celFailures(node, value, path));
    }
    expect(failures).toEqual([]);
  });

  it('catches a default that does not validate (the check can fail)', () => {
    const node: Node = {
      type: 'object',
      properties: { a: { type: 'integer', default: 5 }, b: { type: 'integer', default: 3 } },
      'x-kubernetes-validations': [{ rule: 'self.a <= self.b', message: 'a must not exceed b' }],
    };
    expect(celFailures(node, withDefaults(node, {}), '.x')).toEqual(['.x: a must not exceed b']);
    expect(schemaValidator({ type: 'object', properties: { a: { type: 'integer' } } })({ z: 1 })).toBe(false);
  });

  it('uses only CEL functions a 1.28 server compiles new rules with', () => {
    const rules = all.flatMap(([path, n]) =>
      (n['x-kubernetes-validations'] ?? []).map((r) => ({ path, ...r })),
    );
    expect(rules.length).toBeGreaterThan(5);
    const unavailable = rules.flatMap((r) =>
      calledNames(r.rule)
        .filter((f) => !CEL_AT_1_28.has(f))
        .map((f) => `${r.path}: ${f}() in ${r.rule}`),
    );
    expect(unavailable).toEqual([]);
    // Optional field syntax (self.?x, self[?'x']) needs cel.OptionalTypes: 1.29's set.
    expect(rules.filter((r) => /\.\?|\[\?/.test(r.rule.replace(/'[^']*'/g, '')))).toEqual([]);
    expect(calledNames("quantity(self.x).isGreaterThan(quantity('1Gi')) && 'a(b)'.size() > 0")).toEqual([
      'quantity',
      'isGreaterThan',
      'quantity',
      'size',
    ]);
  });
});
