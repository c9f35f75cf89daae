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

// ---------------------------------------------------------------- canonical form

const BINARY_EXPONENT: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const DECIMAL_SUFFIX: Record<number, string> = Object.fromEntries(
  Object.entries(DECIMAL_EXPONENT).map(([suffix, exp]) => [exp, suffix]),
);
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const PARTS_RE = /^([+-]?)0*([0-9]*)(?:\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE]?)$/;
const INT64_MAX = 2n ** 63n - 1n;

/** `digits × 10^exp` with trailing zeros moved into the exponent, then the exponent lowered to a multiple of 3. */
function engineering(digits: bigint, exp: number): { digits: bigint; exp: number } {
  while (digits >= 10n && digits % 10n === 0n) {
    digits /= 10n;
    exp++;
  }
  while (exp % 3 !== 0) {
    digits *= 10n;
    exp--;
  }
  return { digits, exp };
}

/**
 * The form the Kubernetes API server stores a quantity in (apimachinery `resource.Quantity` parse + marshal):
 * `0.5` → `500m`, `1000m` → `1`, `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`, `2000` → `2k`, `0.5Gi` → `512Mi`.
 * The suffix family is kept (binary stays binary when exact and ≥ 1024, `1e3` stays an exponent), values below
 * 1n round up to 1n, and a string that is already canonical comes back as written (the server keeps it: that
 * is how `+1` or `1E3` survive). Returns undefined when `text` is not a quantity; values outside the suffix
 * table (above 10^18 in decimal notation) come back unchanged.
 */
export function canonicalQuantity(text: string): string | undefined {
  if (text === '0') return text;
  const m = PARTS_RE.exec(text);
  if (!m || !isQuantity(text)) return undefined;
  const [, sign = '', intDigits = '', fracDigits = '', suffix = ''] = m;
  const num = intDigits === '' ? '0' : intDigits;
  const shifted = num + fracDigits;
  const binary = suffix in BINARY_EXPONENT;
  const exponentForm = /^[eE]/.test(suffix);
  const exponent = binary
    ? (BINARY_EXPONENT[suffix] as number)
    : exponentForm
      ? Number(suffix.slice(1))
      : (DECIMAL_EXPONENT[suffix] as number);

  // apimachinery's fast path keeps the string as written when it is already in canonical form.
  if (binary) {
    const precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
    const value = BigInt(num);
    if (
      fracDigits === '' &&
      precision >= 0 &&
      value << BigInt(exponent) <= INT64_MAX &&
      (value & 7n) !== 0n
    ) {
      return text;
    }
  } else {
    const scale = exponent - fracDigits.length;
    const fits = shifted.length <= 18 && scale >= -9;
    if (fits && scale % 3 === 0 && !shifted.endsWith('000') && !shifted.startsWith('0')) return text;
  }

  // Exact value as `unscaled × 10^scale`, rounded up (away from zero) to a multiple of 10^-9.
  let unscaled = BigInt(shifted) * (binary ? 2n ** BigInt(exponent) : 1n);
  let scale = (binary ? 0 : exponent) - fracDigits.length;
  if (scale < -9) {
    const divisor = 10n ** BigInt(-9 - scale);
    unscaled = (unscaled + divisor - 1n) / divisor;
    scale = -9;
  }
  if (unscaled === 0n) return '0';
  const minus = sign === '-' ? '-' : '';

  // Binary notation survives only for whole values of at least 1024 (`1.5Ki` → `1536`, `0.5Ki` → `512`).
  if (binary) {
    const divisor = 10n ** BigInt(-scale);
    if (unscaled % divisor === 0n && unscaled / divisor >= 1024n) {
      let digits = unscaled / divisor;
      let power = 0;
      while (digits >= 1024n && digits % 1024n === 0n && power < BINARY_SUFFIXES.length - 1) {
        digits /= 1024n;
        power++;
      }
      return `${minus}${digits}${BINARY_SUFFIXES[power]}`;
    }
  }
  const e = engineering(unscaled, scale);
  if (exponentForm) return `${minus}${e.digits}${e.exp === 0 ? '' : `e${e.exp}`}`;
  const decimalSuffix = DECIMAL_SUFFIX[e.exp];
  return decimalSuffix === undefined ? text : `${minus}${e.digits}${decimalSuffix}`;
}
