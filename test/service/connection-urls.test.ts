/**
 * Connection URLs: a password that is not %-encoded is refused at start with the variable named and no part
 * of the URL printed, for every command; a client error (pg, ioredis incl. its 'error' event, amqplib) is
 * printed as one line with the URL's password blanked, never as a stack trace.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';
import { loadConfig } from '../../src/service/config.js';
import { checkConnectionUrl, redact, URL_RULES, urlSecrets } from '../../src/service/urls.js';
import { AMQP_URL, PG_ADMIN, REDIS_URL } from './support.js';
import { freePort } from '../support/processes.js';

const MAIN = join(ROOT, 'dist/src/service/main.js');
const COMMANDS = ['migrate', 'serve', 'consume', 'rebuild-stock'] as const;
const SECRET = /tops3crettail/i;

/** Each variable with a password holding an unencoded '@' and '#': the form that leaked as a host name. */
const MALFORMED = {
  DATABASE_URL: 'postgres://app:ab@TopS3cretTail#x@127.0.0.1:5432/flash_sale',
  REDIS_URL: 'redis://:ab@TopS3cretTail#x@127.0.0.1:6379/0',
  AMQP_URL: 'amqp://u:ab@TopS3cretTail#x@host/vh',
};

const GOOD = {
  DATABASE_URL: PG_ADMIN,
  REDIS_URL,
  AMQP_URL,
  PORT: '0',
  HOST: '127.0.0.1',
  WORKERS: '1',
  CONSUMER_METRICS_PORT: '0',
};

function run(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('connection URLs are checked at start', () => {
  it('refuses each malformed URL with the variable named and nothing of the URL quoted', () => {
    for (const [variable, url] of Object.entries(MALFORMED)) {
      expect(() => loadConfig({ ...GOOD, [variable]: url })).toThrow(
        new RegExp(`^${variable} is not a valid URL: .*%-encoded`),
      );
      try {
        loadConfig({ ...GOOD, [variable]: url });
      } catch (e) {
        expect(String(e)).not.toMatch(SECRET);
        expect(String(e)).not.toContain('ab@');
      }
    }
  });

  it('names what is wrong: fragment, extra @, unencoded / or ?, stray %, spaces, wrong scheme, bad port', () => {
    const rule = URL_RULES.amqpUrl;
    const cases: [string, RegExp][] = [
      ['amqp://u:pa#ss@host/vh', /contains '#'/],
      ['amqp://u:p@ss@host/vh', /contains an '@' that is not %-encoded/],
      ['amqp://u:pa/ss@host/vh', /an '@' follows the host/],
      ['amqp://u:pa?ss@host/vh', /an '@' follows the host/],
      ['amqp://u:pa%zzss@host/vh', /must be %-encoded \(or a stray '%'\)/],
      ['amqp://u:pa ss@host/vh', /space or a control character/],
      ['http://u:pass@host/vh', /the scheme is not amqp:\/\/ or amqps:\/\//],
      ['amqp://u:pass@host:99999/vh', /the port is not a number/],
      ['amqp://u:pass@/vh', /the host is missing/],
      ['host:5672', /does not start with amqp:\/\//],
    ];
    for (const [url, why] of cases) {
      expect(() => checkConnectionUrl(url, rule), url).toThrow(why);
      expect(() => checkConnectionUrl(url, rule), url).toThrow(/^AMQP_URL is not a valid URL/);
    }
    // What the operator renders: every part %-encoded (encodeURIComponent), vhost "/" as %2F.
    for (const url of [
      `amqp://flashsale:${encodeURIComponent('a@b#c/d?e%f g')}@shop-rabbitmq:5672/%2F`,
      'amqps://u:p@[::1]:5671',
      'amqp://guest:guest@127.0.0.1:5672',
    ]) {
      expect(() => checkConnectionUrl(url, rule), url).not.toThrow();
    }
    expect(() => checkConnectionUrl('rediss://:pw@redis:6380/0', URL_RULES.redisUrl)).not.toThrow();
    expect(() =>
      checkConnectionUrl('postgresql://u@db/x?sslmode=require', URL_RULES.databaseUrl),
    ).not.toThrow();
  });

  it.each(COMMANDS)('%s exits 2 with the variable named and no part of the password', async (cmd) => {
    const runs = await Promise.all(
      Object.entries(MALFORMED).map(async ([variable, url]) => ({
        variable,
        ...(await run([cmd], { ...GOOD, [variable]: url })),
      })),
    );
    for (const r of runs) {
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(`${r.variable} is not a valid URL`);
      expect(r.out).not.toMatch(SECRET);
      expect(r.out).not.toMatch(/ENOTFOUND|\n\s+at /);
    }
  });
});

describe('client errors are printed once, on one line, with the password blanked', () => {
  it('redact blanks the password of every URL in a text, and each configured password in any case', () => {
    const secrets = urlSecrets([
      'postgres://app:Pg%2FSecret1@db:5432/x',
      'redis://:RedisSecret2@r:6379/0',
      'amqp://mq:MqSecret3@mq:5672/%2F',
    ]);
    expect(secrets).toEqual(
      expect.arrayContaining(['Pg%2FSecret1', 'Pg/Secret1', 'RedisSecret2', 'MqSecret3']),
    );
    const text =
      'connect to amqp://mq:MqSecret3@mq:5672/%2F failed; getaddrinfo ENOTFOUND redissecret2; auth pg/secret1';
    const out = redact(text, secrets);
    expect(out).toBe('connect to amqp://mq:***@mq:5672/%2F failed; getaddrinfo ENOTFOUND ***; auth ***');
  });

  it('rebuild-stock: an unreachable Redis (ioredis error event) is a one-line error and exit 1, not an unhandled event', async () => {
    const port = await freePort();
    const r = await run(['rebuild-stock'], {
      ...GOOD,
      REDIS_URL: `redis://:RedisPw%40Secret9@127.0.0.1:${port}/0`,
    });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`flash-sale-api: Redis (redis://:***@127.0.0.1:${port}/0): connect ECONNREFUSED`);
    expect(r.out).toMatch(/rebuild-stock failed: /);
    expect(r.out).not.toMatch(/Unhandled error event|\n\s+at |RedisPw|Secret9/);
  });

  it('serve: an unreachable Redis at start is one line and exit 1', async () => {
    const port = await freePort();
    const r = await run(['serve'], { ...GOOD, REDIS_URL: `redis://:RedisPw%40Secret9@127.0.0.1:${port}/0` });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/serve: could not start: .*ECONNREFUSED/);
    expect(r.out).not.toMatch(/Unhandled error event|\n\s+at |RedisPw|Secret9/);
  });

  it('migrate: an unreachable PostgreSQL (pg) is one line naming the blanked URL and exit 1', async () => {
    const port = await freePort();
    const r = await run(['migrate'], {
      ...GOOD,
      DATABASE_URL: `postgres://app:PgPw%23Secret8@127.0.0.1:${port}/db`,
    });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`migrate: the database (postgres://app:***@127.0.0.1:${port}/db) failed: `);
    expect(r.out).toMatch(/ECONNREFUSED/);
    expect(r.out).not.toMatch(/\n\s+at |PgPw|Secret8/);
  });

  it('consume: a broker refusing the login (amqplib) is one line and exit 1, the password blanked', async () => {
    const r = await run(['consume'], { ...GOOD, AMQP_URL: 'amqp://guest:MqPw%3FSecret7@127.0.0.1:5672' });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/consume: could not start: .*ACCESS.REFUSED/);
    expect(r.out).not.toMatch(/\n\s+at |MqPw|Secret7/);
  });
});
