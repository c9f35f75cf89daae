/**
 * Kubernetes resource quantities (`512Mi`, `2`, `500m`, `1.5G`, `1e3`) and Redis sizes (`16gb`).
 *
 * Grammar (k8s.io/apimachinery resource.Quantity): a signed decimal number followed by an optional suffix:
 * binary SI `Ki Mi Gi Ti Pi Ei`, decimal SI `n u m "" k M G T P E`, or a decimal exponent `e3` / `E3`.
 */

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY_RE =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE]?)$/;

/** The same grammar as a JSON-schema/CRD pattern (also used by the CRD for quantity fields). */
export const QUANTITY_PATTERN =
  '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?$';

/**
 * Parses a Kubernetes quantity into a plain number in base units: bytes for memory/storage, cores for cpu
 * (`500m` → 0.5). Returns undefined when the text is not a quantity.
 */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY_RE.exec(text.trim() === text ? text : '');
  if (!match) return undefined;
  const [, num, suffix = ''] = match;
  const value = Number(num);
  if (!Number.isFinite(value)) return undefined;
  if (suffix in BINARY) return value * (BINARY[suffix] as number);
  if (suffix in DECIMAL) return value * (DECIMAL[suffix] as number);
  if (/^[eE]/.test(suffix)) return value * 10 ** Number(suffix.slice(1));
  return undefined;
}

/** True when `text` is a valid Kubernetes quantity. */
export function isQuantity(text: string): boolean {
  return parseQuantity(text) !== undefined;
}

const REDIS_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1024,
  m: 1000 ** 2,
  mb: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1024 ** 3,
};

/**
 * Parses Redis' own memory notation (redis.conf: `1k` = 1000, `1kb` = 1024, `16gb`, case-insensitive).
 * Returns bytes, or undefined when it is not a Redis size.
 */
export function parseRedisSize(text: string): number | undefined {
  const match = /^([0-9]+)(b|k|kb|m|mb|g|gb)?$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? '').toLowerCase();
  return Number(match[1]) * (REDIS_UNITS[unit] as number);
}

/**
 * `spec.redis.maxmemory` accepts a Kubernetes quantity (`3Gi`) or Redis' own notation (`3gb`, bytes).
 * Returns bytes (rounded down), or undefined when neither.
 */
export function parseMaxmemory(text: string): number | undefined {
  const redis = parseRedisSize(text);
  if (redis !== undefined) return redis;
  const q = parseQuantity(text);
  return q === undefined ? undefined : Math.floor(q);
}
