import type { HealthReason, ProbeResultBase } from './types.js';

export class ProbeTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/**
 * Races `work` against a timer. On timeout, `onTimeout` runs (it must destroy whatever connection `work` uses,
 * so nothing stays half-open) and the returned promise rejects with ProbeTimeoutError. The timer never keeps
 * the process alive.
 */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        onTimeout?.();
      } catch {
        // best effort: the connection is being thrown away anyway
      }
      reject(new ProbeTimeoutError(what, ms));
    }, ms);
    timer.unref();
  });
  // A late rejection of `work` after the timeout must not become an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short message for an error, with any secret string removed. */
export function errorMessage(err: unknown, secrets: (string | undefined)[] = []): string {
  let text: string;
  if (err instanceof AggregateError && err.errors.length > 0) {
    text = err.errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  } else if (err instanceof Error) {
    text = err.message || err.name;
    const code = (err as { code?: unknown }).code;
    if (!text && typeof code === 'string') text = code;
  } else {
    text = String(err);
  }
  return scrub(text, secrets);
}

export function scrub(text: string, secrets: (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 1) out = out.split(s).join('***');
  }
  // Never echo credentials embedded in URLs.
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
}

export function elapsedMs(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;
}

export function unreachable<T extends ProbeResultBase>(
  endpoint: string,
  checkedAt: string,
  what: string,
  err: unknown,
  secrets: (string | undefined)[],
  reason: HealthReason = 'Unreachable',
): T {
  return {
    healthy: false,
    reason,
    message: `${what} at ${endpoint} is unreachable: ${errorMessage(err, secrets)}`,
    checkedAt,
    endpoint,
  } as T;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
