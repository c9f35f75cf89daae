/**
 * Semantic validation of a FlashSaleStack document. Returns ALL problems at once, each with the field path
 * and how to fix it. Runs without a cluster (validate/render commands) and in the operator (a cluster may run
 * an older CRD). Two layers:
 *   1. structure, driven by src/api/schema.ts (types, unknown fields, enums, ranges, lengths, required);
 *   2. formats and the flash-sale safety rules of DESIGN §5 (quantities, cron, CIDRs, images, durations,
 *      eviction policy, pooling/operator-owned PostgreSQL parameters, cross-field rules).
 * The per-version PostgreSQL parameter catalog plugs in through `options.checkPostgresParameters`.
 */
import { checkCidr, checkCron, checkDateTime, checkDuration, checkImage, parseDuration } from './formats.js';
import type { Problem } from './problems.js';
import { parseMaxmemory, parseQuantity, QUANTITY_PATTERN } from './quantity.js';
import {
  DNS_LABEL_PATTERN,
  DURATION_PATTERN,
  MAXMEMORY_PATTERN,
  rootSchema,
  type SchemaNode,
} from './schema.js';
import { PORTS } from './images.js';
import { API_VERSION, KIND, type PostgresMajorVersion } from './types.js';

export type PostgresParameterCheck = (
  version: PostgresMajorVersion,
  params: Record<string, string>,
  path: string,
) => Problem[];

export interface ValidateOptions {
  /** The per-version catalog check (src/tuning validatePostgresParameters); built-in rules only when absent. */
  checkPostgresParameters?: PostgresParameterCheck;
}

/** Maximum length of metadata.name: child names append up to "-postgres-headless" and pod/Job suffixes. */
export const MAX_STACK_NAME_LENGTH = 40;

/** PostgreSQL settings render sets itself; users may not override them. */
export const BUILTIN_OPERATOR_OWNED_PARAMETERS: readonly string[] = [
  'listen_addresses',
  'port',
  'data_directory',
  'config_file',
  'hba_file',
  'ident_file',
  'external_pid_file',
  'unix_socket_directories',
  'unix_socket_group',
  'unix_socket_permissions',
];

/** Names the seed document put in postgresql.conf that are PgBouncer settings, with where they belong. */
export const POOLING_PARAMETERS: Readonly<Record<string, string>> = {
  pool_mode: 'spec.pgbouncer.poolMode',
  pool_size: 'spec.pgbouncer.defaultPoolSize',
  pool_max_wait:
    'spec.pgbouncer (PgBouncer query_wait_timeout; tune spec.pgbouncer.defaultPoolSize/reservePoolSize)',
};

/** postgresql.conf settings spec.backup.pitr owns while it is enabled. */
export const WAL_ARCHIVING_PARAMETERS: readonly string[] = [
  'archive_mode',
  'archive_command',
  'archive_library',
  'archive_timeout',
  'restore_command',
];

/** `storage` (a PVC the operator creates) and `existingClaim` of one backup volume exclude each other. */
function checkOneVolume(volume: unknown, path: string, out: Problem[]): void {
  if (get(volume, 'storage') !== undefined && get(volume, 'existingClaim') !== undefined) {
    out.push({
      path: `${path}.existingClaim`,
      message: `set either ${path}.storage (a PVC the operator creates) or ${path}.existingClaim, not both`,
    });
  }
}

/** spec.postgres.bootstrap.fromBackup: a dump (file) or a point in time (targetTime / targetLSN), one of them. */
function checkFromBackup(from: unknown, out: Problem[]): void {
  if (!isObject(from)) return;
  const path = 'spec.postgres.bootstrap.fromBackup';
  const set = ['file', 'targetTime', 'targetLSN'].filter((k) => from[k] !== undefined);
  if (set.length !== 1) {
    out.push({
      path,
      message: `set exactly one of file (restore a pg_dump), targetTime or targetLSN (point-in-time recovery from a spec.backup.pitr volume); ${set.length === 0 ? 'none is set' : `${set.join(' and ')} are set`}`,
    });
  }
  const t = from.targetTime;
  const bad = typeof t === 'string' ? checkDateTime(t) : undefined;
  if (bad !== undefined) out.push({ path: `${path}.targetTime`, message: bad });
}

/** Environment variables the operator sets on the API from Secrets; spec.api.env may not override them. */
export const RESERVED_API_ENV: readonly string[] = ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'ADMIN_TOKEN'];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string "${v.length > 60 ? v.slice(0, 57) + '...' : v}"`;
  return `${typeof v} ${String(v)}`;
}

const TYPE_WORDS: Record<SchemaNode['type'], string> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function suggest(name: string, known: string[]): string {
  const best = known
    .map((k) => ({ k, d: levenshtein(name, k) }))
    .sort((x, y) => x.d - y.d)
    .find((x) => x.d <= Math.max(2, Math.floor(name.length / 3)));
  return best ? `did you mean "${best.k}"? ` : '';
}

/** Patterns whose violations the format layer reports with a more specific message. */
const SPECIFIC_PATTERNS = new Set([QUANTITY_PATTERN, DURATION_PATTERN, MAXMEMORY_PATTERN]);
/** What a pattern means, where the field's description does not say it. */
const PATTERN_FORMS = new Map([
  [
    DNS_LABEL_PATTERN,
    'must be a DNS label such as a namespace name: lower-case letters, digits and "-", starting and ending with a letter or digit',
  ],
]);

/** Layer 1: structure against the schema (FlashSales use it too). */
export function checkStructure(value: unknown, node: SchemaNode, path: string, out: Problem[]): void {
  const expected = node.type;
  const typeOk =
    expected === 'object'
      ? isObject(value)
      : expected === 'array'
        ? Array.isArray(value)
        : expected === 'integer'
          ? typeof value === 'number' && Number.isInteger(value)
          : expected === 'number'
            ? typeof value === 'number' && Number.isFinite(value)
            : typeof value === expected;
  if (!typeOk) {
    let hint = '';
    if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
      hint =
        typeof value === 'boolean'
          ? '; YAML reads unquoted on/off/yes/no/true/false as booleans: quote the value, e.g. "on"'
          : `; quote it: "${String(value)}"`;
    } else if (expected === 'integer' && typeof value === 'number') {
      hint = '; use a whole number';
    } else if (expected === 'integer' && typeof value === 'string' && /^-?[0-9]+$/.test(value)) {
      hint = `; remove the quotes: ${value}`;
    } else if (expected === 'boolean' && typeof value === 'string') {
      hint = '; write true or false without quotes';
    }
    out.push({ path, message: `must be ${TYPE_WORDS[expected]}, got ${describe(value)}${hint}` });
    return;
  }
  if (node.enum && !node.enum.includes(value as string | number)) {
    if (path === 'spec.postgres.version' && typeof value === 'number') {
      out.push({ path, message: `PostgreSQL ${value} is not supported; use a major version from 15 to 18` });
      return;
    }
    out.push({
      path,
      message: `${describe(value)} is not allowed; use one of: ${node.enum.map((e) => String(e)).join(', ')}`,
    });
    return;
  }
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) {
      out.push({ path, message: `must be at least ${node.minimum}, got ${value}` });
    }
    if (node.maximum !== undefined && value > node.maximum) {
      out.push({ path, message: `must be at most ${node.maximum}, got ${value}` });
    }
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) {
      out.push({
        path,
        message: value === '' ? 'must not be empty' : `must be at least ${node.minLength} characters`,
      });
    } else if (node.maxLength !== undefined && value.length > node.maxLength) {
      out.push({ path, message: `must be at most ${node.maxLength} characters, got ${value.length}` });
    } else if (
      node.pattern &&
      !SPECIFIC_PATTERNS.has(node.pattern) &&
      !new RegExp(node.pattern).test(value)
    ) {
      const form = PATTERN_FORMS.get(node.pattern);
      out.push({
        path,
        message: form
          ? `${describe(value)} ${form}`
          : `${describe(value)} has the wrong form (${node.description})`,
      });
    }
  }
  if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems) {
      out.push({ path, message: `must have at least ${node.minItems} item(s)` });
    }
    if (node.maxItems !== undefined && value.length > node.maxItems) {
      out.push({ path, message: `must have at most ${node.maxItems} items, got ${value.length}` });
    }
    if (node.items)
      value.forEach((item, i) => checkStructure(item, node.items as SchemaNode, `${path}[${i}]`, out));
    if (node['x-kubernetes-list-type'] === 'set') {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) out.push({ path: `${path}[${i}]`, message: `duplicate entry ${key}; remove it` });
        seen.add(key);
      });
    }
    const mapKeys = node['x-kubernetes-list-map-keys'];
    if (node['x-kubernetes-list-type'] === 'map' && mapKeys) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        if (!isObject(item)) return;
        const key = JSON.stringify(mapKeys.map((k) => item[k]));
        if (seen.has(key)) {
          out.push({
            path: `${path}[${i}]`,
            message: `duplicate ${mapKeys.join('/')} ${key}; each must be unique`,
          });
        }
        seen.add(key);
      });
    }
  }
  if (isObject(value)) {
    for (const name of node.required ?? []) {
      if (value[name] === undefined) out.push({ path: `${path}.${name}`, message: 'is required' });
    }
    if (node.properties) {
      const known = Object.keys(node.properties);
      for (const [key, child] of Object.entries(value)) {
        const childNode = node.properties[key];
        if (childNode) {
          if (child !== undefined && child !== null) checkStructure(child, childNode, `${path}.${key}`, out);
          else if (child === null && childNode.$required)
            out.push({ path: `${path}.${key}`, message: 'is required' });
        } else if (!node['x-kubernetes-preserve-unknown-fields']) {
          out.push({
            path: `${path}.${key}`,
            message: `unknown field; ${suggest(key, known)}known fields here: ${known.join(', ')}`,
          });
        }
      }
    } else if (node.additionalProperties) {
      for (const [key, child] of Object.entries(value)) {
        checkStructure(child, node.additionalProperties, `${path}.${key}`, out);
      }
    }
  }
}

// ---------------------------------------------------------------- layer 2 helpers

function get(obj: unknown, ...keys: string[]): unknown {
  let cur = obj;
  for (const k of keys) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function checkQuantityField(
  value: unknown,
  path: string,
  what: 'cpu' | 'memory' | 'storage',
  out: Problem[],
): void {
  if (typeof value !== 'string') return;
  const q = parseQuantity(value);
  const example = what === 'cpu' ? '500m or "2"' : what === 'memory' ? '512Mi or 4Gi' : '20Gi';
  if (q === undefined) {
    const redisStyle = /^[0-9]+(\.[0-9]+)?\s*[kmgt]b$/i.test(value) || /^[0-9]+\s*(GB|MB|KB|TB)$/.test(value);
    out.push({
      path,
      message: `"${value}" is not a Kubernetes quantity${redisStyle ? ` (units are Ki, Mi, Gi, Ti or k, M, G, T — e.g. ${value.replace(/\s*([kmgt])b$/i, (_, u: string) => u.toUpperCase() + 'i')})` : ''}; write e.g. ${example}`,
    });
  } else if (q <= 0) {
    out.push({ path, message: `must be greater than zero; write e.g. ${example}` });
  } else if (what !== 'cpu' && q < 1) {
    out.push({ path, message: `"${value}" is less than one byte ("m" means milli); write e.g. ${example}` });
  }
}

function checkResources(res: unknown, path: string, out: Problem[]): void {
  if (!isObject(res)) return;
  for (const side of ['requests', 'limits'] as const) {
    for (const key of ['cpu', 'memory'] as const) {
      checkQuantityField(get(res, side, key), `${path}.${side}.${key}`, key, out);
    }
  }
  for (const key of ['cpu', 'memory'] as const) {
    const r = str(get(res, 'requests', key));
    const l = str(get(res, 'limits', key));
    const rq = r === undefined ? undefined : parseQuantity(r);
    const lq = l === undefined ? undefined : parseQuantity(l);
    if (rq !== undefined && lq !== undefined && rq > lq) {
      out.push({
        path: `${path}.requests.${key}`,
        message: `request ${r} is above the limit ${l}; Kubernetes refuses this, lower the request or raise the limit`,
      });
    }
  }
}

function checkStorage(storage: unknown, path: string, out: Problem[]): void {
  checkQuantityField(get(storage, 'size'), `${path}.size`, 'storage', out);
}

function checkImageField(value: unknown, path: string, out: Problem[]): void {
  if (typeof value !== 'string' || value === '') return;
  const err = checkImage(value);
  if (err) out.push({ path, message: err });
}

function checkDurationField(value: unknown, path: string, out: Problem[]): void {
  if (typeof value !== 'string') return;
  const err = checkDuration(value);
  if (err) out.push({ path, message: err });
}

function checkCronField(value: unknown, path: string, out: Problem[]): void {
  if (typeof value !== 'string') return;
  const err = checkCron(value);
  if (err) out.push({ path, message: `invalid cron schedule: ${err}` });
}

/** Built-in PostgreSQL parameter rules that need no catalog. */
export function builtinPostgresParameterProblems(
  version: PostgresMajorVersion,
  params: Record<string, unknown>,
  path: string,
): Problem[] {
  const out: Problem[] = [];
  for (const [name, value] of Object.entries(params)) {
    const p = `${path}.${name}`;
    const lower = name.toLowerCase();
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) {
      out.push({ path: p, message: 'is not a valid parameter name (letters, digits, "_" and "." only)' });
    } else if (lower in POOLING_PARAMETERS) {
      out.push({
        path: p,
        message: `${name} is not a PostgreSQL parameter (PostgreSQL has no built-in pooling; an unknown name stops the server from starting); connection pooling is PgBouncer's job: set ${POOLING_PARAMETERS[lower]} and remove it here`,
      });
    } else if (BUILTIN_OPERATOR_OWNED_PARAMETERS.includes(lower)) {
      out.push({ path: p, message: `${name} is set by the operator (the pods depend on it); remove it` });
    } else if (lower === 'io_direct') {
      out.push({
        path: p,
        message: `io_direct is not a PostgreSQL parameter; the developer-only option is debug_io_direct (not for production)${version >= 18 ? ', and asynchronous I/O in PostgreSQL 18 is io_method (worker or io_uring)' : ''}; remove it`,
      });
    }
    if (typeof value === 'string' && /[\n\r\0]/.test(value)) {
      out.push({ path: p, message: 'must be a single line (no newlines or NUL characters)' });
    }
  }
  return out;
}

// ---------------------------------------------------------------- validateStack

export function validateStack(doc: unknown, options: ValidateOptions = {}): Problem[] {
  const out: Problem[] = [];
  if (!isObject(doc)) {
    return [{ path: '(document)', message: `must be a ${KIND} object, got ${describe(doc)}` }];
  }
  if (doc.apiVersion !== API_VERSION) {
    out.push({ path: 'apiVersion', message: `must be ${API_VERSION}, got ${describe(doc.apiVersion)}` });
  }
  if (doc.kind !== KIND) out.push({ path: 'kind', message: `must be ${KIND}, got ${describe(doc.kind)}` });

  const meta = doc.metadata;
  if (!isObject(meta)) {
    out.push({ path: 'metadata', message: 'is required: an object with at least a name' });
  } else {
    const name = meta.name;
    if (typeof name !== 'string' || name === '') {
      out.push({ path: 'metadata.name', message: 'is required: the stack name, e.g. shop' });
    } else if (name.length > MAX_STACK_NAME_LENGTH || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      out.push({
        path: 'metadata.name',
        message: `"${name}" must be at most ${MAX_STACK_NAME_LENGTH} characters of lowercase letters, digits and "-", starting with a letter and ending with a letter or digit (DNS-1035; it prefixes child Service names such as ${name.slice(0, 20)}-postgres-headless)`,
      });
    }
    if (
      meta.namespace !== undefined &&
      (typeof meta.namespace !== 'string' ||
        !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(meta.namespace) ||
        meta.namespace.length > 63)
    ) {
      out.push({
        path: 'metadata.namespace',
        message: 'must be a DNS-1123 label (lowercase letters, digits, "-")',
      });
    }
  }

  const spec = doc.spec;
  if (spec === undefined || spec === null) {
    // An absent spec means "all defaults", as the CRD's default {} does.
  } else {
    const specNode = rootSchema.properties?.spec as SchemaNode;
    checkStructure(spec, specNode, 'spec', out);
  }
  if (doc.status !== undefined && doc.status !== null) {
    checkStructure(doc.status, rootSchema.properties?.status as SchemaNode, 'status', out);
  }
  for (const key of Object.keys(doc)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
      out.push({ path: key, message: 'unknown top-level field; expected apiVersion, kind, metadata, spec' });
    }
  }
  if (isObject(spec)) semantic(spec, options, out);
  return dedupe(out);
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function semantic(spec: Json, options: ValidateOptions, out: Problem[]): void {
  // postgres
  const pg = spec.postgres;
  const versionRaw = get(pg, 'version');
  const version: PostgresMajorVersion =
    versionRaw === 15 || versionRaw === 16 || versionRaw === 17 || versionRaw === 18 ? versionRaw : 18;
  checkImageField(get(pg, 'image'), 'spec.postgres.image', out);
  checkStorage(get(pg, 'storage'), 'spec.postgres.storage', out);
  checkResources(get(pg, 'resources'), 'spec.postgres.resources', out);
  checkCronField(get(pg, 'maintenance', 'schedule'), 'spec.postgres.maintenance.schedule', out);
  const params = get(pg, 'parameters');
  if (isObject(params)) {
    const path = 'spec.postgres.parameters';
    const builtin = builtinPostgresParameterProblems(version, params, path);
    out.push(...builtin);
    if (options.checkPostgresParameters) {
      const strings = Object.fromEntries(
        Object.entries(params).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      const flagged = new Set(builtin.map((p) => p.path));
      const typeFlagged = new Set(out.map((p) => p.path));
      for (const p of options.checkPostgresParameters(version, strings, path)) {
        if (!flagged.has(p.path) && !typeFlagged.has(p.path)) out.push(p);
      }
    }
  }

  // pgbouncer
  const pgb = spec.pgbouncer;
  checkImageField(get(pgb, 'image'), 'spec.pgbouncer.image', out);
  checkResources(get(pgb, 'resources'), 'spec.pgbouncer.resources', out);
  const poolSize = get(pgb, 'defaultPoolSize');
  const maxClient = get(pgb, 'maxClientConn');
  if (typeof poolSize === 'number' && typeof maxClient === 'number' && poolSize > maxClient) {
    out.push({
      path: 'spec.pgbouncer.defaultPoolSize',
      message: `${poolSize} is larger than maxClientConn ${maxClient}; a pool cannot use more server connections than it has clients`,
    });
  }

  // redis
  const redis = spec.redis;
  checkImageField(get(redis, 'image'), 'spec.redis.image', out);
  checkStorage(get(redis, 'storage'), 'spec.redis.storage', out);
  checkResources(get(redis, 'resources'), 'spec.redis.resources', out);
  const policy = get(redis, 'maxmemoryPolicy');
  const role = get(redis, 'role') ?? 'inventory';
  if (typeof policy === 'string' && policy.startsWith('allkeys-') && role !== 'cache') {
    out.push({
      path: 'spec.redis.maxmemoryPolicy',
      message: `${policy} can evict stock counters and "already bought" markers under memory pressure (oversell, double purchase); use noeviction (default) or a volatile-* policy, or set spec.redis.role: cache if this Redis holds only disposable cache data`,
    });
  }
  const maxmemory = get(redis, 'maxmemory');
  if (typeof maxmemory === 'string') {
    const bytes = parseMaxmemory(maxmemory);
    if (bytes === undefined || bytes <= 0) {
      out.push({
        path: 'spec.redis.maxmemory',
        message: `"${maxmemory}" is not a size; write a Kubernetes quantity (3Gi) or Redis notation (3gb), or leave it out to derive it from the memory limit`,
      });
    } else {
      const limit = str(get(redis, 'resources', 'limits', 'memory'));
      const limitBytes = limit === undefined ? undefined : parseQuantity(limit);
      if (limitBytes !== undefined && bytes >= limitBytes) {
        out.push({
          path: 'spec.redis.maxmemory',
          message: `${maxmemory} is not below the container memory limit ${limit}; Redis would be OOM-killed before evicting or refusing writes. Leave maxmemory out (derived as a share of the limit) or raise spec.redis.resources.limits.memory`,
        });
      }
    }
  }

  // rabbitmq
  const mq = spec.rabbitmq;
  checkImageField(get(mq, 'image'), 'spec.rabbitmq.image', out);
  checkStorage(get(mq, 'storage'), 'spec.rabbitmq.storage', out);
  checkResources(get(mq, 'resources'), 'spec.rabbitmq.resources', out);

  // api
  const api = spec.api;
  checkImageField(get(api, 'image'), 'spec.api.image', out);
  checkResources(get(api, 'resources'), 'spec.api.resources', out);
  checkResources(get(api, 'consumer', 'resources'), 'spec.api.consumer.resources', out);
  if (get(api, 'port') === PORTS.apiMetrics) {
    out.push({
      path: 'spec.api.port',
      message: `${PORTS.apiMetrics} is the API's metrics port (GET /metrics is served there); choose another port`,
    });
  }
  const minR = get(api, 'autoscaling', 'minReplicas');
  const maxR = get(api, 'autoscaling', 'maxReplicas');
  if (typeof minR === 'number' && typeof maxR === 'number' && minR > maxR) {
    out.push({
      path: 'spec.api.autoscaling.minReplicas',
      message: `minReplicas ${minR} is greater than maxReplicas ${maxR}; lower minReplicas or raise maxReplicas`,
    });
  }
  const env = get(api, 'env');
  if (Array.isArray(env)) {
    env.forEach((e, i) => {
      const name = get(e, 'name');
      if (typeof name === 'string' && RESERVED_API_ENV.includes(name)) {
        out.push({
          path: `spec.api.env[${i}].name`,
          message: `${name} is set by the operator from the <stack>-api Secret; remove it (never put secrets in the spec)`,
        });
      }
    });
  }

  // nginx
  const nginx = spec.nginx;
  checkImageField(get(nginx, 'image'), 'spec.nginx.image', out);
  checkResources(get(nginx, 'resources'), 'spec.nginx.resources', out);
  const proxies = get(nginx, 'trustedProxies');
  if (Array.isArray(proxies)) {
    proxies.forEach((c, i) => {
      if (typeof c !== 'string') return;
      const err = checkCidr(c);
      if (err) out.push({ path: `spec.nginx.trustedProxies[${i}]`, message: err });
    });
  }
  for (const k of ['connect', 'send', 'read']) {
    checkDurationField(get(nginx, 'timeouts', k), `spec.nginx.timeouts.${k}`, out);
  }
  checkDurationField(get(nginx, 'upstream', 'failTimeout'), 'spec.nginx.upstream.failTimeout', out);

  // backup
  const backup = spec.backup;
  checkCronField(get(backup, 'schedule'), 'spec.backup.schedule', out);
  checkStorage(get(backup, 'storage'), 'spec.backup.storage', out);
  checkOneVolume(backup, 'spec.backup', out);

  // point-in-time recovery
  const pitr = get(backup, 'pitr');
  checkCronField(get(pitr, 'baseBackupSchedule'), 'spec.backup.pitr.baseBackupSchedule', out);
  checkStorage(get(pitr, 'storage'), 'spec.backup.pitr.storage', out);
  checkDurationField(get(pitr, 'archiveTimeout'), 'spec.backup.pitr.archiveTimeout', out);
  checkOneVolume(pitr, 'spec.backup.pitr', out);
  if (get(pitr, 'enabled') === true && isObject(params)) {
    for (const name of WAL_ARCHIVING_PARAMETERS) {
      if (name in params) {
        out.push({
          path: `spec.postgres.parameters.${name}`,
          message: `${name} is set by spec.backup.pitr (WAL archiving to its volume); remove it, or tune spec.backup.pitr`,
        });
      }
    }
    if (params.wal_level === 'minimal') {
      out.push({
        path: 'spec.postgres.parameters.wal_level',
        message:
          'wal_level minimal cannot be archived; remove it (replica, the default, is what spec.backup.pitr needs)',
      });
    }
  }
  checkFromBackup(get(pg, 'bootstrap', 'fromBackup'), out);

  // monitoring
  const mon = spec.monitoring;
  checkDurationField(get(mon, 'probeInterval'), 'spec.monitoring.probeInterval', out);
  checkDurationField(get(mon, 'probeTimeout'), 'spec.monitoring.probeTimeout', out);
  const interval = parseDuration(str(get(mon, 'probeInterval')) ?? '30s');
  const timeout = parseDuration(str(get(mon, 'probeTimeout')) ?? '5s');
  if (interval !== undefined && timeout !== undefined && timeout > interval) {
    out.push({
      path: 'spec.monitoring.probeTimeout',
      message: 'must not be longer than spec.monitoring.probeInterval (probes would overlap)',
    });
  }
}
