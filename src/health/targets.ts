import type { AmqpTarget, PgTarget, RedisTarget } from './types.js';

/** A URL the user gave that we cannot use; `message` names the flag and the expected form. */
export class TargetUrlError extends Error {}

function parse(flag: string, text: string, protocols: string[], example: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new TargetUrlError(`${flag}: not a URL; expected e.g. ${example}`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new TargetUrlError(
      `${flag}: scheme must be ${protocols.map((p) => p + '//').join(' or ')}; e.g. ${example}`,
    );
  }
  if (!u.hostname) throw new TargetUrlError(`${flag}: the URL has no host; e.g. ${example}`);
  return u;
}

function port(flag: string, u: URL, dflt: number): number {
  if (!u.port) return dflt;
  const n = Number(u.port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new TargetUrlError(`${flag}: bad port ${u.port}`);
  return n;
}

const host = (u: URL) => u.hostname.replace(/^\[(.*)\]$/, '$1');

/** postgres://user[:password]@host[:port]/database (database defaults to the user name, as libpq does). */
export function pgTargetFromUrl(text: string, flag = '--postgres', defaultDatabase?: string): PgTarget {
  const u = parse(flag, text, ['postgres:', 'postgresql:'], 'postgres://postgres@127.0.0.1:5432/postgres');
  const user = decodeURIComponent(u.username) || 'postgres';
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: host(u),
    port: port(flag, u, 5432),
    user,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: db || defaultDatabase || user,
  };
}

/** redis://[[user]:password@]host[:port][/db] */
export function redisTargetFromUrl(text: string, flag = '--redis'): RedisTarget {
  const u = parse(flag, text, ['redis:'], 'redis://127.0.0.1:6379');
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new TargetUrlError(`${flag}: database "${dbText}" is not a number`);
  return {
    host: host(u),
    port: port(flag, u, 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
  };
}

/** amqp://user:password@host[:port][/vhost] (no path means vhost "/"). */
export function amqpTargetFromUrl(text: string, flag = '--amqp'): AmqpTarget {
  const u = parse(flag, text, ['amqp:'], 'amqp://guest:guest@127.0.0.1:5672');
  const path = u.pathname.replace(/^\//, '');
  return {
    host: host(u),
    port: port(flag, u, 5672),
    username: decodeURIComponent(u.username) || 'guest',
    password: decodeURIComponent(u.password) || 'guest',
    vhost: path ? decodeURIComponent(path) : '/',
  };
}

/** http(s)://host[:port][/base] */
export function httpBaseFromUrl(text: string, flag: string): string {
  const u = parse(flag, text, ['http:', 'https:'], 'http://127.0.0.1:8001');
  return u.toString().replace(/\/+$/, '');
}
