/**
 * Syntax checks for the string formats in a FlashSaleStack: cron schedules, CIDRs, image references,
 * durations, DNS names. Each `check*` returns undefined when valid, else what is wrong and how to fix it.
 */
import { isIPv4, isIPv6 } from 'node:net';

// ---------------------------------------------------------------- cron

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

/** Descriptors Kubernetes CronJobs accept in place of the five fields. */
export const CRON_DESCRIPTORS = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
];

function cronValue(text: string, field: (typeof CRON_FIELDS)[number]): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if ('names' in field) {
    const i = (field.names as readonly string[]).indexOf(text.toLowerCase());
    if (i >= 0) return i + (field.name === 'month' ? 1 : 0);
  }
  return undefined;
}

function checkCronField(text: string, field: (typeof CRON_FIELDS)[number]): string | undefined {
  const bounds = `${field.min}-${field.max}`;
  for (const item of text.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '')
      return `${field.name} "${text}" is malformed`;
    if (step !== undefined && !(/^[0-9]+$/.test(step) && Number(step) > 0)) {
      return `${field.name} step "/${step}" must be a positive number`;
    }
    if (range === '*' || range === '?') continue;
    const [lo, hi, more] = range.split('-');
    if (more !== undefined || lo === undefined) return `${field.name} "${item}" is malformed`;
    const a = cronValue(lo, field);
    if (a === undefined || a < field.min || a > field.max) {
      return `${field.name} value "${lo}" is out of range ${bounds}${'names' in field ? ' (or a name such as ' + field.names[0] + ')' : ''}`;
    }
    if (hi !== undefined) {
      const b = cronValue(hi, field);
      if (b === undefined || b < field.min || b > field.max) {
        return `${field.name} value "${hi}" is out of range ${bounds}`;
      }
      if (b < a) return `${field.name} range "${range}" goes backwards`;
    }
  }
  return undefined;
}

/** A Kubernetes CronJob schedule: five fields (minute hour day-of-month month day-of-week) or @daily etc. */
export function checkCron(schedule: string): string | undefined {
  const s = schedule.trim();
  const help =
    'use five fields "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *" for 02:00 daily) or @daily/@hourly/@weekly/@monthly/@yearly';
  if (s.startsWith('@')) {
    return CRON_DESCRIPTORS.includes(s) ? undefined : `unknown descriptor "${s}"; ${help}`;
  }
  if (/^(CRON_)?TZ=/.test(s)) return 'time zones in the schedule are not supported; schedules run in UTC';
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return `"${schedule}" has ${fields.length} field(s), expected 5; ${help}`;
  for (let i = 0; i < 5; i++) {
    const err = checkCronField(fields[i] as string, CRON_FIELDS[i] as (typeof CRON_FIELDS)[number]);
    if (err) return `${err}; ${help}`;
  }
  return undefined;
}

// ---------------------------------------------------------------- CIDR

function expandIPv6(addr: string): number[] | undefined {
  if (addr.includes('.')) return undefined;
  const [head, tail, more] = addr.split('::');
  if (more !== undefined) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const missing = 8 - h.length - t.length;
  const groups = tail !== undefined ? [...h, ...Array<string>(missing).fill('0'), ...t] : h;
  if (groups.length !== 8) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/** An IPv4 or IPv6 network in CIDR notation with no host bits set (10.0.0.0/8, fd00::/8). */
export function checkCidr(text: string): string | undefined {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
  if (!m) {
    if (isIPv4(text) || isIPv6(text)) {
      return `"${text}" is an address, not a CIDR; write ${text}/${isIPv4(text) ? 32 : 128} for a single address`;
    }
    return `"${text}" is not a CIDR; write an IPv4 or IPv6 network such as 10.0.0.0/8 or fd00::/8`;
  }
  const addr = m[1] as string;
  const bits = Number(m[2]);
  if (isIPv4(addr)) {
    if (bits > 32) return `prefix /${bits} is too long for IPv4 (0-32)`;
    const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const hostBits = 32 - bits;
    if (hostBits > 0 && n % 2 ** hostBits !== 0) {
      const net = Math.floor(n / 2 ** hostBits) * 2 ** hostBits;
      const dotted = [24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.');
      return `"${text}" has host bits set; the network is ${dotted}/${bits}`;
    }
    return undefined;
  }
  if (isIPv6(addr)) {
    if (bits > 128) return `prefix /${bits} is too long for IPv6 (0-128)`;
    const groups = expandIPv6(addr);
    if (groups) {
      for (let i = 0; i < 8; i++) {
        const keep = Math.max(0, Math.min(16, bits - i * 16));
        const mask = keep === 16 ? 0 : 0xffff >> keep;
        if (((groups[i] as number) & mask) !== 0)
          return `"${text}" has host bits set after the /${bits} prefix`;
      }
    }
    return undefined;
  }
  return `"${addr}" is not an IPv4 or IPv6 address; write a network such as 10.0.0.0/8 or fd00::/8`;
}

// ---------------------------------------------------------------- image references

const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?';
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const IMAGE_RE = new RegExp(
  `^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);

/** A pinned OCI image reference: `[registry/]name:tag`, `name@sha256:…` or both; `:latest` is refused. */
export function checkImage(ref: string): string | undefined {
  const m = IMAGE_RE.exec(ref);
  if (!m || ref.length > 512) {
    return `"${ref}" is not a valid image reference; expected [registry/]name:tag, e.g. postgres:18.1-bookworm`;
  }
  const [, , , tag, digest] = m;
  if (tag === 'latest' && !digest) {
    return `"${ref}" uses :latest, which changes under you and breaks reproducible rollouts; pin a version tag (e.g. :1.24.1) or a @sha256 digest`;
  }
  if (tag === undefined && digest === undefined) {
    return `"${ref}" has no tag, which means :latest; pin a version tag (e.g. ${ref}:1.2.3) or a @sha256 digest`;
  }
  return undefined;
}

// ---------------------------------------------------------------- durations, names

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `5s`, `500ms`, `1m30s`, `2h` into milliseconds; undefined when not such a duration. */
export function parseDuration(text: string): number | undefined {
  if (!/^([0-9]+(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h)/g))
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
  return total;
}

export function checkDuration(text: string): string | undefined {
  const ms = parseDuration(text);
  if (ms === undefined)
    return `"${text}" is not a duration; write a number with a unit: 500ms, 5s, 1m, 1h (or 1m30s)`;
  if (ms === 0) return 'must be longer than zero';
  return undefined;
}

/** DNS-1123 label (Kubernetes object names such as Service, Secret): lowercase alphanumerics and '-'. */
export function isDnsLabel(text: string): boolean {
  return text.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(text);
}

/** DNS-1123 subdomain (names of Secrets, PVCs): labels joined by '.', at most 253 characters. */
export function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && text.split('.').every((l) => l.length > 0 && isDnsLabel(l));
}

// ---------------------------------------------------------------- date-times

const DATE_TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;
export const DATE_TIME_EXAMPLE = '2025-11-11T00:00:00Z';
export const DATE_TIME_YEARS = { min: 2000, max: 2999 } as const;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * An RFC 3339 date-time with a zone (`2025-11-11T00:00:00Z`, `2025-11-11T08:00:00.5+08:00`), checked
 * against the calendar (no 30 February, no hour 24, no leap second) and kept to the years 2000-2999, where
 * a sale or a recovery target can sensibly lie. Returns the instant, or what is wrong with the text.
 */
export function parseDateTime(text: string): { date: Date } | { error: string } {
  const help = `write an RFC 3339 date-time with a zone, e.g. ${DATE_TIME_EXAMPLE}`;
  const m = DATE_TIME_RE.exec(text);
  if (!m) return { error: `${JSON.stringify(text.slice(0, 64))} is not a date-time; ${help}` };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (y < DATE_TIME_YEARS.min || y > DATE_TIME_YEARS.max) {
    return {
      error: `year ${m[1]} is out of range; use a year from ${DATE_TIME_YEARS.min} to ${DATE_TIME_YEARS.max}`,
    };
  }
  if (mo < 1 || mo > 12) return { error: `month ${m[2]} does not exist; ${help}` };
  if (d < 1 || d > daysIn(y, mo)) return { error: `${m[1]}-${m[2]}-${m[3]} does not exist; ${help}` };
  if (h > 23 || mi > 59 || s > 59) return { error: `time ${m[4]}:${m[5]}:${m[6]} does not exist; ${help}` };
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) {
    return { error: `zone offset ${m[8]}${m[9]}:${m[10]} does not exist; ${help}` };
  }
  return { date: new Date(text) };
}

/** `parseDateTime` as a check: undefined when valid. */
export function checkDateTime(text: string): string | undefined {
  const r = parseDateTime(text);
  return 'error' in r ? r.error : undefined;
}
