/**
 * 5-field cron schedules (UTC, as Kubernetes CronJobs with `timeZone` unset on a UTC control plane): parsing,
 * the next and previous run around an instant, and the interval between consecutive runs. Pure.
 *
 * Fields: minute hour day-of-month month day-of-week; `*`, lists `a,b`, ranges `a-b`, steps `* /n` and `a-b/n`,
 * month and weekday names (jan, mon…), 7 = Sunday, and the macros @yearly/@annually/@monthly/@weekly/@daily/
 * @midnight/@hourly. As in Vixie cron (and Kubernetes' robfig/cron), when both day fields are restricted a day
 * matches if either matches.
 */

export interface CronSchedule {
  minutes: number[];
  hours: number[];
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

export class CronError extends Error {}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function parseValue(text: string, min: number, names: string[] | undefined, what: string): number {
  const lower = text.toLowerCase();
  if (names) {
    const i = names.indexOf(lower);
    if (i >= 0) return i + min;
  }
  if (!/^\d+$/.test(text)) throw new CronError(`${what}: "${text}" is not a number`);
  return Number(text);
}

function parseField(field: string, min: number, max: number, what: string, names?: string[]): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(`${what}: bad step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      lo = parseValue(a, min, names, what);
      hi = parseValue(b, min, names, what);
    } else {
      lo = parseValue(range, min, names, what);
      hi = stepText === undefined ? lo : max;
    }
    if (lo < min || hi > max || lo > hi) throw new CronError(`${what}: "${part}" is outside ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a schedule; throws CronError naming the bad field. */
export function parseCron(schedule: string): CronSchedule {
  const text = schedule.trim();
  const expr = MACROS[text.toLowerCase()] ?? text;
  const fields = expr.split(/\s+/);
  if (fields.length !== 5) {
    throw new CronError(
      `"${schedule}" must have 5 fields (minute hour day-of-month month day-of-week) or be a macro`,
    );
  }
  const [mi, ho, dom, mon, dow] = fields as [string, string, string, string, string];
  const dows = parseField(dow, 0, 7, 'day-of-week', DAY_NAMES);
  return {
    minutes: [...parseField(mi, 0, 59, 'minute')].sort((a, b) => a - b),
    hours: [...parseField(ho, 0, 23, 'hour')].sort((a, b) => a - b),
    daysOfMonth: parseField(dom, 1, 31, 'day-of-month'),
    months: parseField(mon, 1, 12, 'month', MONTH_NAMES),
    daysOfWeek: new Set([...dows].map((d) => d % 7)),
    domRestricted: !dom.startsWith('*'),
    dowRestricted: !dow.startsWith('*'),
  };
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Search horizon: five years covers every month/weekday/leap-day combination. */
const HORIZON_DAYS = 5 * 366;

function dayMatches(s: CronSchedule, dayStart: number): boolean {
  const d = new Date(dayStart);
  if (!s.months.has(d.getUTCMonth() + 1)) return false;
  const domOk = s.daysOfMonth.has(d.getUTCDate());
  const dowOk = s.daysOfWeek.has(d.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

/** Times (ms since the day's start) of the runs within one matching day, ascending. */
function runsOfDay(s: CronSchedule): number[] {
  const out: number[] = [];
  for (const h of s.hours) for (const m of s.minutes) out.push((h * 60 + m) * MINUTE_MS);
  return out;
}

/** The first run strictly after `after`, or undefined when the schedule never fires (e.g. 30 Feb). */
export function nextRun(schedule: CronSchedule | string, after: Date): Date | undefined {
  const s = typeof schedule === 'string' ? parseCron(schedule) : schedule;
  const runs = runsOfDay(s);
  const t = after.getTime();
  const firstDay = Math.floor(t / DAY_MS) * DAY_MS;
  for (let i = 0; i <= HORIZON_DAYS; i++) {
    const day = firstDay + i * DAY_MS;
    if (!dayMatches(s, day)) continue;
    for (const r of runs) if (day + r > t) return new Date(day + r);
  }
  return undefined;
}

/** The last run at or before `atOrBefore`, or undefined. */
export function previousRun(schedule: CronSchedule | string, atOrBefore: Date): Date | undefined {
  const s = typeof schedule === 'string' ? parseCron(schedule) : schedule;
  const runs = runsOfDay(s).reverse();
  const t = atOrBefore.getTime();
  const firstDay = Math.floor(t / DAY_MS) * DAY_MS;
  for (let i = 0; i <= HORIZON_DAYS; i++) {
    const day = firstDay - i * DAY_MS;
    if (!dayMatches(s, day)) continue;
    for (const r of runs) if (day + r <= t) return new Date(day + r);
  }
  return undefined;
}

/**
 * Seconds between the scheduled runs around `now`: from the last run at or before `now` to the next one after
 * it (for "0 2 * * *" always 86400; for "0 2 * * 1-5" 86400 on a Tuesday and 259200 over a weekend).
 */
export function scheduleIntervalSeconds(schedule: CronSchedule | string, now: Date): number | undefined {
  const s = typeof schedule === 'string' ? parseCron(schedule) : schedule;
  const prev = previousRun(s, now);
  if (!prev) return undefined;
  const next = nextRun(s, prev);
  if (!next) return undefined;
  return (next.getTime() - prev.getTime()) / 1000;
}

/**
 * The longest gap between consecutive runs, over two full years from a leap year (every month/weekday
 * combination occurs), or undefined when the schedule never fires. "0 2 * * 1-5" → 259200 (the weekend).
 */
export function maxIntervalSeconds(schedule: CronSchedule | string): number | undefined {
  const s = typeof schedule === 'string' ? parseCron(schedule) : schedule;
  const runs = runsOfDay(s);
  const start = Date.UTC(2024, 0, 1);
  let prev: number | undefined;
  let maxGap = 0;
  for (let d = 0; d < 2 * 366 + 365; d++) {
    const day = start + d * DAY_MS;
    if (!dayMatches(s, day)) continue;
    for (const r of runs) {
      if (prev !== undefined) maxGap = Math.max(maxGap, day + r - prev);
      prev = day + r;
    }
  }
  return maxGap > 0 ? maxGap / 1000 : undefined;
}
