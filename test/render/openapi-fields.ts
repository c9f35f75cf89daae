/**
 * The fields of Kubernetes' built-in types per minor version, from Kubernetes' published OpenAPI: what a
 * server of that minor declares, so an object can be checked the way server-side apply decodes it (a field
 * the server's schema lacks is refused: `.spec…sleep: field not declared in schema`), with the JSON type
 * of every value (a port given as "8080" where the schema says integer is refused too).
 *
 * Source: the models @kubernetes/client-node generates from one release's OpenAPI document, which name
 * that release in their header. Installed side by side as npm aliases (package.json devDependencies
 * `kubernetes-openapi-1.NN`), plus the @kubernetes/client-node the operator uses. A minor between two
 * sources (no release was generated from it) gets the fields both neighbours declare: fields are added
 * over releases, not removed and re-added, so that is what it had at least — a conservative stand-in.
 *
 * (Render's own copy, until the stand-in's per-version models land — test/support/kube-openapi.ts and
 * kube-schemas.ts `schemaFailures(objects, { kubernetesVersion })` from `standin-schema`, the same source and
 * more: required fields, exact models for more minors. Then versions.test.ts uses those and this file goes.)
 *
 * Not checked here: value constraints (enums, patterns, required fields; kubernetes-models' validators do
 * those, at its one version) and fields still behind an alpha feature gate, which a minor declares but
 * drops (see src/kubernetes/version.ts FIELD_SINCE).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatVersion, type KubernetesVersion } from '../../src/kubernetes/version.js';

/** Field name → declared type (`string`, `number`, `Array<V1Container>`, `{ [key: string]: string; }`...). */
export type TypeFields = ReadonlyMap<string, string>;
/** Type name (`V1Deployment`) → its fields. */
export type Schema = ReadonlyMap<string, TypeFields>;

interface AttributeType {
  baseName: string;
  type: string;
}
type ModelClass = { attributeTypeMap?: AttributeType[] };

const require = createRequire(import.meta.url);

/** Packages whose models carry one release's OpenAPI, with the directory of their model files. */
const SOURCES: readonly { pkg: string; load: () => Promise<Record<string, unknown>>; dir: string }[] = [
  ...['1.28', '1.29', '1.30'].map((v) => ({
    pkg: `kubernetes-openapi-${v}`,
    load: async () => require(`kubernetes-openapi-${v}/dist/gen/model/models.js`) as Record<string, unknown>,
    dir: 'dist/gen/model',
  })),
  {
    pkg: '@kubernetes/client-node',
    load: async () => (await import('@kubernetes/client-node')) as Record<string, unknown>,
    dir: 'dist/gen/models',
  },
];

/** The minor a package's models were generated from, as their headers say. */
function releaseOf(pkg: string, dir: string): number {
  const root = dirname(require.resolve(`${pkg}/package.json`));
  const models = join(root, dir);
  const file = readdirSync(models).find((f) => /^v1Pod\.js$/i.test(f));
  const header = file ? readFileSync(join(models, file), 'utf8').slice(0, 600) : '';
  const m = /(?:OpenAPI document|OpenAPI spec version): (?:release-|v)1\.(\d+)/.exec(header);
  if (!m) throw new Error(`${pkg}: cannot tell which Kubernetes release its models come from`);
  return Number(m[1]);
}

let exact: Promise<Map<number, Schema>> | undefined;

async function loadExact(): Promise<Map<number, Schema>> {
  const out = new Map<number, Schema>();
  for (const source of SOURCES) {
    const exports = await source.load();
    const schema = new Map<string, TypeFields>();
    for (const [name, value] of Object.entries(exports)) {
      const attrs = (value as ModelClass | undefined)?.attributeTypeMap;
      if (typeof value !== 'function' || !Array.isArray(attrs)) continue;
      schema.set(name, new Map(attrs.map((a) => [a.baseName, a.type])));
    }
    out.set(releaseOf(source.pkg, source.dir), schema);
  }
  return out;
}

/** The minors with a source of their own (the others are derived from their neighbours). */
export async function exactMinors(): Promise<number[]> {
  exact ??= loadExact();
  return [...(await exact).keys()].sort((a, b) => a - b);
}

const derived = new Map<number, Schema>();

/** The built-in types as a server of `version` declares them. */
export async function schemaAt(version: KubernetesVersion): Promise<Schema> {
  exact ??= loadExact();
  const sources = await exact;
  const own = sources.get(version.minor);
  if (own && version.major === 1) return own;
  const cached = derived.get(version.minor);
  if (cached) return cached;
  const minors = [...sources.keys()].sort((a, b) => a - b);
  const below = minors.filter((m) => m < version.minor).at(-1);
  const above = minors.find((m) => m > version.minor);
  if (version.major !== 1 || below === undefined || above === undefined) {
    throw new Error(
      `no OpenAPI source for Kubernetes ${formatVersion(version)} (have 1.${minors.join(', 1.')})`,
    );
  }
  const [lower, upper] = [sources.get(below)!, sources.get(above)!];
  const schema = new Map<string, TypeFields>();
  for (const [name, fields] of lower) {
    const later = upper.get(name);
    if (!later) continue;
    schema.set(name, new Map([...fields].filter(([f]) => later.has(f))));
  }
  derived.set(version.minor, schema);
  return schema;
}

/** The model type of a top-level object: `apps/v1` Deployment → V1Deployment, `autoscaling/v2` → V2…. */
export function typeNameOf(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').at(-1) ?? '';
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

const MAP_TYPE = /^\{ \[key: string\]: (.+); \}$/;
const ARRAY_TYPE = /^Array<(.+)>$/;

function check(value: unknown, type: string, schema: Schema, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = ARRAY_TYPE.exec(type);
  if (array) {
    if (!Array.isArray(value)) out.push(`${path}: expected a list, got ${JSON.stringify(value)}`);
    else
      value.forEach((item, i) => {
        const name = (item as { name?: unknown } | null)?.name;
        check(item, array[1]!, schema, `${path}[${typeof name === 'string' ? `name="${name}"` : i}]`, out);
      });
    return;
  }
  const map = MAP_TYPE.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) out.push(`${path}: expected a map`);
    else for (const [k, v] of Object.entries(value)) check(v, map[1]!, schema, `${path}.${k}`, out);
    return;
  }
  const scalar: Record<string, (v: unknown) => boolean> = {
    string: (v) => typeof v === 'string',
    String: (v) => typeof v === 'string',
    Date: (v) => typeof v === 'string',
    number: (v) => typeof v === 'number',
    boolean: (v) => typeof v === 'boolean',
    IntOrString: (v) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)),
  };
  if (type in scalar) {
    if (!scalar[type]!(value)) out.push(`${path}: expected ${type}, got ${JSON.stringify(value)}`);
    return;
  }
  const fields = schema.get(type);
  if (!fields) return; // object / any: free-form JSON (RawExtension, JSON)
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.push(`${path}: expected an object (${type}), got ${JSON.stringify(value)}`);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const fieldType = fields.get(k);
    if (fieldType === undefined) out.push(`${path}.${k}: field not declared in schema`);
    else check(v, fieldType, schema, `${path}.${k}`, out);
  }
}

/**
 * What a server of `version` would refuse in `obj` when decoding it: undeclared fields and values of the
 * wrong JSON type, as `Kind/name: .path: reason`. [] when it decodes cleanly.
 */
export async function decodeFailures(
  obj: { apiVersion: string; kind: string; metadata?: { name?: string } },
  version: KubernetesVersion,
): Promise<string[]> {
  const schema = await schemaAt(version);
  const where = `${obj.kind}/${obj.metadata?.name ?? ''}`;
  const type = typeNameOf(obj.apiVersion, obj.kind);
  if (!schema.has(type))
    return [`${where}: Kubernetes ${formatVersion(version)} serves no ${obj.apiVersion} ${obj.kind}`];
  const out: string[] = [];
  check(obj, type, schema, '', out);
  return out.map((f) => `${where}: ${f}`);
}
