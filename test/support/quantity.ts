/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `1e3`) as the API server stores them: parsed into an exact
 * value at nano precision (rounded up, as apimachinery does) and written back in canonical form — the
 * suffix family of the input is kept (binary SI, decimal SI, decimal exponent), no fractional digits, the
 * largest exponent that loses nothing. So `0.5` → `500m`, `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`, `1000m` → `1`,
 * `2000` → `2k`, `1e3` → `1e3`, and a binary value below 1024 or with a fraction falls back to decimal SI.
 * Written from the rules documented in apimachinery's pkg/api/resource (quantity.go, suffix.go, amount.go).
 */

type Format = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL).map(([s, e]) => [e, s]));
const NANO = 9;
const MAX_INT64 = (1n << 63n) - 1n;
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(.*)$/;

/** An exact quantity: `nanos` × 10^-9, and the suffix family it was written in. */
export interface Quantity {
  nanos: bigint;
  format: Format;
}

function suffixOf(s: string): { base: 2 | 10; exponent: number; format: Format } | undefined {
  if (s in BINARY) return { base: 2, exponent: BINARY[s]!, format: 'BinarySI' };
  if (s in DECIMAL) return { base: 10, exponent: DECIMAL[s]!, format: 'DecimalSI' };
  const m = /^[eE]([+-]?\d+)$/.exec(s);
  if (m) return { base: 10, exponent: Number(m[1]), format: 'DecimalExponent' };
  return undefined;
}

/** Divide rounding away from zero (inf.RoundUp, which apimachinery uses for sub-nano values). */
function divUp(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b === a ? q : a < 0n ? q - 1n : q + 1n;
}

/** Parses a quantity string (or a JSON number); undefined when it is not a well-formed quantity. */
export function parseQuantity(input: string | number): Quantity | undefined {
  const str = typeof input === 'number' ? numberText(input) : input;
  if (str === undefined || str === '') return undefined;
  const m = QUANTITY.exec(str);
  if (!m) return undefined;
  const [, sign, number, suf] = m as unknown as [string, string, string, string];
  const suffix = suffixOf(suf);
  if (!suffix) return undefined;
  const [whole = '', frac = ''] = number.split('.');
  const digits = BigInt((whole || '0') + frac);
  // value = digits × 10^-len(frac) × base^exponent, expressed in nanos
  let num = digits;
  let den = 1n;
  const decimalShift = NANO - frac.length + (suffix.base === 10 ? suffix.exponent : 0);
  if (decimalShift >= 0) num *= 10n ** BigInt(decimalShift);
  else den *= 10n ** BigInt(-decimalShift);
  if (suffix.base === 2) num *= 1n << BigInt(suffix.exponent);
  let nanos = divUp(num, den);
  let format = suffix.format;
  if (format === 'BinarySI' && nanos > MAX_INT64 * 10n ** 9n) nanos = MAX_INT64 * 10n ** 9n;
  if (format === 'BinarySI' && nanos > 0n && nanos < 10n ** 9n) format = 'DecimalSI';
  return { nanos: sign === '-' ? -nanos : nanos, format };
}

function numberText(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  // JSON numbers are decoded from their text; avoid exponent notation for the common range.
  return Math.abs(n) < 1e21 ? n.toFixed(Math.min(20, Math.max(0, decimals(n)))) : String(n);
}

function decimals(n: number): number {
  const s = String(n);
  const e = /e-(\d+)$/.exec(s);
  if (e) return Number(e[1]) + (s.split('e')[0]!.split('.')[1]?.length ?? 0);
  return s.split('.')[1]?.length ?? 0;
}

/** The canonical text of a quantity, as the API server writes it back. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  const negative = q.nanos < 0n;
  const abs = negative ? -q.nanos : q.nanos;
  const sign = negative ? '-' : '';
  let format = q.format;
  const giga = 10n ** 9n;
  if (format === 'BinarySI' && (abs < 1024n * giga || abs % giga !== 0n)) format = 'DecimalSI';
  if (format === 'BinarySI') {
    let value = abs / giga;
    let exponent = 0;
    while (exponent < 60 && value % 1024n === 0n) {
      value /= 1024n;
      exponent += 10;
    }
    const suffix = Object.entries(BINARY).find(([, e]) => e === exponent)?.[0] ?? '';
    return `${sign}${value}${suffix}`;
  }
  let mantissa = abs;
  let exponent = -NANO;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const rem = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(rem);
  exponent -= rem;
  if (format === 'DecimalExponent') return `${sign}${mantissa}${exponent === 0 ? '' : `e${exponent}`}`;
  while (exponent > 18) {
    mantissa *= 1000n;
    exponent -= 3;
  }
  return `${sign}${mantissa}${DECIMAL_BY_EXPONENT.get(exponent) ?? ''}`;
}

/** `value` in canonical form, or undefined when it is not a quantity. */
export function canonicalQuantity(value: string | number): string | undefined {
  const q = parseQuantity(value);
  return q ? formatQuantity(q) : undefined;
}

/** The apimachinery error text for a malformed quantity. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
