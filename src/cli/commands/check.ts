import { parseOptions, UsageError, type Command, type CommandIO } from '../command.js';
import { parseDurationMs } from '../../health/duration.js';
import { StackProbeSession } from '../../health/session.js';
import { healthStatus } from '../../health/status.js';
import {
  amqpTargetFromUrl,
  httpBaseFromUrl,
  pgTargetFromUrl,
  redisTargetFromUrl,
  TargetUrlError,
} from '../../health/targets.js';
import type { HealthComponent, HealthReport, ProbeResultBase, ProbeTargets } from '../../health/types.js';
import { DEFAULT_THRESHOLDS, HEALTH_COMPONENTS } from '../../health/types.js';

const usage = `Usage: flash-sale-operator check --postgres URL --redis URL --amqp URL [options]

Runs the health probes once (the original deployment's daily check, §8/§10) and prints a report.

Required:
  --postgres URL    postgres://user[:password]@host:port/database
  --redis URL       redis://[[user]:password@]host:port[/db]
  --amqp URL        amqp://user:password@host:port[/vhost]
Optional:
  --pgbouncer URL   PgBouncer admin console, postgres://user[:password]@host:6432/pgbouncer
  --api URL         API base URL (checks /readyz and /metrics)
  --nginx URL       Nginx base URL (checks /health)
  --queues a,b      RabbitMQ queues that must exist (depth and consumers are reported). Without this flag no
                    queue is checked, only the broker; a stack's queues are order_queue,payment_queue.
  --timeout 5s      per-probe timeout (default 5s)
  --json            print JSON: {"healthy", "checkedAt", "health": {<component>: status.health fields}}

Exit codes: 0 every checked component is healthy, 1 any is not, 2 usage error.
Passwords in URLs are used to connect and never printed.`;

interface Parsed {
  urls: Partial<Record<HealthComponent, string>>;
  queues?: string[];
  timeoutMs: number;
  json: boolean;
}

const URL_FLAGS = {
  postgres: 'postgres',
  pgbouncer: 'pgbouncer',
  redis: 'redis',
  amqp: 'rabbitmq',
  api: 'api',
  nginx: 'nginx',
} as const satisfies Record<string, HealthComponent>;

export function parseCheckArgs(argv: string[]): Parsed {
  const v = parseOptions(argv, {
    postgres: { type: 'string' },
    pgbouncer: { type: 'string' },
    redis: { type: 'string' },
    amqp: { type: 'string' },
    api: { type: 'string' },
    nginx: { type: 'string' },
    queues: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  const out: Parsed = { urls: {}, timeoutMs: 5000, json: v.json ?? false };
  for (const [flag, component] of Object.entries(URL_FLAGS)) {
    const url = v[flag as keyof typeof URL_FLAGS];
    if (url !== undefined) out.urls[component] = url;
  }
  if (v.queues !== undefined) {
    const queues = v.queues
      .split(',')
      .map((q) => q.trim())
      .filter(Boolean);
    if (queues.length === 0) throw new UsageError('--queues needs at least one queue name, e.g. order_queue');
    out.queues = queues;
  }
  if (v.timeout !== undefined) {
    const ms = parseDurationMs(v.timeout);
    if (ms === undefined)
      throw new UsageError(`--timeout: '${v.timeout}' is not a duration; use e.g. 5s or 500ms`);
    out.timeoutMs = ms;
  }
  const missing = ['postgres', 'redis', 'amqp'].filter((f) => v[f as keyof typeof URL_FLAGS] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((f) => `--${f}`).join(', ')}`);
  return out;
}

function buildTargets(
  p: Parsed,
  checkedAt: string,
): { targets: ProbeTargets; invalid: HealthReport['components'] } {
  const targets: ProbeTargets = {};
  const invalid: HealthReport['components'] = {};
  const attempt = (component: HealthComponent, fn: (url: string) => void) => {
    const url = p.urls[component];
    if (url === undefined) return;
    try {
      fn(url);
    } catch (err) {
      if (!(err instanceof TargetUrlError)) throw err;
      const r: ProbeResultBase = {
        healthy: false,
        reason: 'InvalidTarget',
        message: err.message,
        checkedAt,
        endpoint: 'invalid URL',
      };
      (invalid as Record<string, ProbeResultBase>)[component] = r;
    }
  };
  attempt('postgres', (u) => (targets.postgres = pgTargetFromUrl(u)));
  attempt('pgbouncer', (u) => (targets.pgbouncer = pgTargetFromUrl(u, '--pgbouncer', 'pgbouncer')));
  attempt('redis', (u) => (targets.redis = redisTargetFromUrl(u)));
  attempt('rabbitmq', (u) => (targets.rabbitmq = amqpTargetFromUrl(u)));
  attempt('api', (u) => (targets.apiUrl = httpBaseFromUrl(u, '--api')));
  attempt('nginx', (u) => (targets.nginxUrl = httpBaseFromUrl(u, '--nginx')));
  if (p.queues) targets.queues = p.queues;
  return { targets, invalid };
}

function readable(report: HealthReport): string {
  const lines = [`flash-sale check at ${report.checkedAt}`];
  for (const name of HEALTH_COMPONENTS) {
    const r = report.components[name];
    if (!r) continue;
    lines.push(`${r.healthy ? 'OK  ' : 'FAIL'} ${name.padEnd(9)} ${r.reason.padEnd(20)} ${r.message}`);
  }
  const bad = HEALTH_COMPONENTS.filter((n) => report.components[n] && !report.components[n].healthy);
  lines.push(bad.length ? `UNHEALTHY: ${bad.join(', ')}` : 'all checked components are healthy');
  return lines.join('\n') + '\n';
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const parsed = parseCheckArgs(argv);
  const checkedAt = new Date().toISOString();
  const { targets, invalid } = buildTargets(parsed, checkedAt);
  const session = new StackProbeSession(parsed.timeoutMs);
  let report: HealthReport;
  try {
    report = await session.probe(targets, DEFAULT_THRESHOLDS);
  } finally {
    await session.close();
  }
  const components: HealthReport['components'] = {};
  for (const name of HEALTH_COMPONENTS) {
    const r = invalid[name] ?? report.components[name];
    if (r) (components as Record<string, unknown>)[name] = r;
  }
  const full: HealthReport = { checkedAt: report.checkedAt, components };
  const healthy = Object.values(components).every((r) => r.healthy);
  if (parsed.json) {
    io.stdout(
      JSON.stringify({ healthy, checkedAt: full.checkedAt, health: healthStatus(full) }, null, 2) + '\n',
    );
  } else {
    io.stdout(readable(full));
  }
  return healthy ? 0 : 1;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Probe PostgreSQL, Redis, RabbitMQ (and PgBouncer, API, Nginx) once and report their health',
  usage,
  run,
};
