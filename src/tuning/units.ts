/**
 * PostgreSQL's value notation for memory and time quantities, as the server's GUC parser reads it:
 * a number (integer, decimal or fraction; hex/octal integers too) optionally followed by whitespace and a
 * case-sensitive unit. Memory units: B, kB, MB, GB, TB (1024-based). Time units: us, ms, s, min, h, d.
 */
import type { ParameterUnit } from './catalog-types.js';

export const MEMORY_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** Time units in microseconds. */
export const TIME_UNITS: Readonly<Record<string, number>> = {
  us: 1,
  ms: 1000,
  s: 1000_000,
  min: 60_000_000,
  h: 3_600_000_000,
  d: 86_400_000_000,
};

export type UnitKind = 'memory' | 'time';

/** Size in bytes (memory) or microseconds (time) of one unit of a pg_settings unit. */
export function unitScale(unit: ParameterUnit): { kind: UnitKind; scale: number } {
  switch (unit) {
    case 'B':
      return { kind: 'memory', scale: 1 };
    case 'kB':
      return { kind: 'memory', scale: 1024 };
    case '8kB':
      return { kind: 'memory', scale: 8192 };
    case 'MB':
      return { kind: 'memory', scale: 1024 ** 2 };
    case 'ms':
      return { kind: 'time', scale: 1000 };
    case 's':
      return { kind: 'time', scale: 1000_000 };
    case 'min':
      return { kind: 'time', scale: 60_000_000 };
  }
}

export interface ParsedQuantity {
  /** The number as written. */
  number: number;
  /** The unit as written, or undefined when the value has none. */
  unit?: string;
}

const NUMBER_RE = /^\s*([+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))\s*([A-Za-z]*)\s*$/;

/** Splits `"4GB"`, `"200 ms"`, `"0.5"` into number and unit; undefined when it is not a number at all. */
export function parseQuantityText(value: string): ParsedQuantity | undefined {
  const m = NUMBER_RE.exec(value);
  if (!m) return undefined;
  const text = m[1] ?? '';
  const unsigned = text.replace(/^[+-]/, '');
  let number = /^0[xX]/.test(unsigned) ? parseInt(unsigned, 16) : Number(unsigned);
  if (text.startsWith('-')) number = -number;
  if (!Number.isFinite(number)) return undefined;
  const unit = m[2] ? m[2] : undefined;
  return unit === undefined ? { number } : { number, unit };
}

/** Parses a PostgreSQL memory value (`"4GB"`, `"512kB"`, `"1024"` with a default unit) to bytes. */
export function parseMemory(value: string, defaultUnit: ParameterUnit = 'kB'): number {
  const q = parseQuantityText(value);
  if (!q) throw new Error(`"${value}" is not a memory quantity (expected e.g. 512MB, 4GB)`);
  if (q.unit === undefined) {
    const { kind, scale } = unitScale(defaultUnit);
    if (kind !== 'memory') throw new Error(`${defaultUnit} is not a memory unit`);
    return q.number * scale;
  }
  const scale = MEMORY_UNITS[q.unit];
  if (scale === undefined) {
    throw new Error(`"${q.unit}" is not a memory unit; valid units are B, kB, MB, GB, TB (case-sensitive)`);
  }
  return q.number * scale;
}

/** Parses a PostgreSQL time value (`"200ms"`, `"10min"`, `"1d"`, `"30"` with a default unit) to milliseconds. */
export function parseDuration(value: string, defaultUnit: ParameterUnit = 'ms'): number {
  const q = parseQuantityText(value);
  if (!q) throw new Error(`"${value}" is not a time quantity (expected e.g. 200ms, 10min)`);
  if (q.unit === undefined) {
    const { kind, scale } = unitScale(defaultUnit);
    if (kind !== 'time') throw new Error(`${defaultUnit} is not a time unit`);
    return (q.number * scale) / 1000;
  }
  const scale = TIME_UNITS[q.unit];
  if (scale === undefined) {
    throw new Error(`"${q.unit}" is not a time unit; valid units are us, ms, s, min, h, d (case-sensitive)`);
  }
  return (q.number * scale) / 1000;
}

/** Bytes in PostgreSQL notation, in the largest unit that divides it exactly (`4294967296` → `4GB`). */
export function formatMemory(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`cannot format ${bytes} bytes`);
  if (bytes === 0) return '0';
  for (const unit of ['TB', 'GB', 'MB', 'kB'] as const) {
    const scale = MEMORY_UNITS[unit] ?? 1;
    if (bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return `${bytes}B`;
}

/** Milliseconds in PostgreSQL notation, in the largest unit that divides it exactly (`600000` → `10min`). */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`cannot format ${ms} ms`);
  if (ms === 0) return '0';
  for (const [unit, scale] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % scale === 0) return `${ms / scale}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Converts a value as written for a parameter with pg_settings unit `unit` to a number in that unit, the way
 * PostgreSQL does (rounded to the nearest whole unit for integer parameters). Throws with a user-facing
 * message when the unit does not apply.
 */
export function toParameterUnit(
  value: string,
  unit: ParameterUnit | undefined,
  integer: boolean,
): number | undefined {
  const q = parseQuantityText(value);
  if (!q) return undefined;
  let result: number;
  if (q.unit === undefined) {
    result = q.number;
  } else {
    if (!unit) throw new Error(`takes no unit, but "${q.unit}" was given`);
    const { kind, scale } = unitScale(unit);
    const table = kind === 'memory' ? MEMORY_UNITS : TIME_UNITS;
    const given = table[q.unit];
    if (given === undefined) {
      const valid = kind === 'memory' ? 'B, kB, MB, GB, TB' : 'us, ms, s, min, h, d';
      throw new Error(
        `"${q.unit}" is not a valid ${kind} unit here; valid units are ${valid} (case-sensitive)`,
      );
    }
    result = (q.number * given) / scale;
  }
  return integer ? Math.round(result) : result;
}

/**
 * A value in a parameter's pg_settings unit, displayed the way `SHOW` displays it: memory and time in the
 * largest unit that divides it exactly (PostgreSQL's own notation); plain numbers as they are.
 */
export function showValue(valueInUnit: number, unit: ParameterUnit | undefined): string {
  if (!unit) return String(valueInUnit);
  // SHOW prints zero and negative ("disabled") values without a unit.
  if (valueInUnit <= 0) return String(valueInUnit);
  if (!Number.isInteger(valueInUnit)) return `${valueInUnit}${unit}`;
  const { kind, scale } = unitScale(unit);
  if (kind === 'memory') {
    const bytes = valueInUnit * scale;
    // SHOW never goes below kB for memory parameters.
    return bytes % 1024 === 0 ? formatMemory(bytes) : `${bytes}B`;
  }
  const us = valueInUnit * scale;
  return us % 1000 === 0 ? formatDuration(us / 1000) : `${us}us`;
}
