/**
 * Connection URLs (DATABASE_URL, REDIS_URL, AMQP_URL): checked strictly at start, and redacted wherever they or
 * a client's error are printed.
 *
 * pg, ioredis and amqplib each parse URLs with a different parser; a password that is not %-encoded (an '@',
 * '#', '/' or '?' in it) makes them disagree about where the host starts, and the password ends up as a host
 * name in `getaddrinfo ENOTFOUND <password>`. So a URL is accepted only when every parser must read it the
 * same way, and the error for one that is not never quotes any part of it.
 */

export class UrlError extends Error {}

export interface UrlRule {
  variable: string;
  schemes: readonly string[];
  /** What the URL looks like, for the fix in an error. */
  shape: string;
}

export const URL_RULES = {
  databaseUrl: {
    variable: 'DATABASE_URL',
    schemes: ['postgres', 'postgresql'],
    shape: 'postgres://USER:PASSWORD@HOST:5432/DATABASE',
  },
  redisUrl: { variable: 'REDIS_URL', schemes: ['redis', 'rediss'], shape: 'redis://:PASSWORD@HOST:6379/0' },
  amqpUrl: {
    variable: 'AMQP_URL',
    schemes: ['amqp', 'amqps'],
    shape: 'amqp://USER:PASSWORD@HOST:5672/VHOST',
  },
} as const satisfies Record<string, UrlRule>;

// RFC 3986 userinfo: unreserved, pct-encoded, sub-delims and ':'.
const USERINFO_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const HOST_RE = /^(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])$/;

/** Throws UrlError naming the variable and the fix; the message never contains the URL or any part of it. */
export function checkConnectionUrl(text: string, rule: UrlRule): void {
  const fix = `write it as ${rule.shape}, with '@' ':' '/' '?' '#' '%' and spaces in USER and PASSWORD %-encoded (e.g. '@' as %40, '#' as %23)`;
  const fail = (why: string): never => {
    throw new UrlError(`${rule.variable} is not a valid URL: ${why}; ${fix}`);
  };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(text);
  if (!m) return fail(`it does not start with ${rule.schemes.map((s) => `${s}://`).join(' or ')}`);
  const scheme = m[1]!.toLowerCase();
  if (!rule.schemes.includes(scheme)) {
    return fail(`the scheme is not ${rule.schemes.map((s) => `${s}://`).join(' or ')}`);
  }
  const rest = m[2]!;
  if ([...rest].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) {
    return fail('it contains a space or a control character');
  }
  if (rest.includes('#')) return fail("it contains '#' (a fragment, or a password that is not %-encoded)");
  const end = rest.search(/[/?]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? '' : rest.slice(end);
  if (tail.includes('@'))
    return fail("an '@' follows the host (a password with '/' or '?' that is not %-encoded)");
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const hostPort = at === -1 ? authority : authority.slice(at + 1);
  if (userinfo.includes('@')) return fail("the user name or password contains an '@' that is not %-encoded");
  if (!USERINFO_RE.test(userinfo)) {
    return fail("the user name or password contains a character that must be %-encoded (or a stray '%')");
  }
  try {
    for (const part of userinfo.split(':')) decodeURIComponent(part);
  } catch {
    return fail('the %-encoding of the user name or password is not UTF-8');
  }
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (!hp || hp[1] === '' || !HOST_RE.test(hp[1]!)) return fail('the host is missing or malformed');
  if (hp[2] !== undefined && (hp[2] === '' || Number(hp[2]) > 65535)) {
    return fail('the port is not a number from 1 to 65535');
  }
  try {
    new URL(text);
  } catch {
    return fail('it does not parse as a URL');
  }
}

/** The fragments of `urls` that must never be printed: each password (as written and %-decoded) and user. */
export function urlSecrets(urls: readonly string[]): string[] {
  const out = new Set<string>();
  for (const u of urls) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/]*)@/.exec(u);
    if (!m) continue;
    const [, pass] = splitOnce(m[1]!, ':');
    for (const s of [pass]) {
      if (s === undefined) continue;
      out.add(s);
      try {
        out.add(decodeURIComponent(s));
      } catch {
        // not %-decodable: the raw form is enough
      }
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...out].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i === -1 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `text` with the password of every URL in it replaced by `***` (`amqp://u:***@host/vh`), and every one of
 * `secrets` (see urlSecrets) replaced wherever it appears, in any letter case: a resolver lower-cases a
 * password it took for a host name.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(
    /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/]*)@/g,
    (_all, scheme: string, userinfo: string) => {
      const [user, pass] = splitOnce(userinfo, ':');
      return `${scheme}${user}${pass === undefined ? '' : ':***'}@`;
    },
  );
  for (const s of secrets) out = out.replace(new RegExp(escapeRe(s), 'gi'), '***');
  return out;
}
