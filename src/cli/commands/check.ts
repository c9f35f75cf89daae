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
import type { HealthReport, ProbeTargets } from '../../health/types.js';
import { DEFAULT_THRESHOLDS, HEALTH_COMPONENTS } from '../../health/types.js';

const usage = `Usage: flash-sale-operator check --postgres URL --redis URL --amqp URL [options]

Runs the health probes once (the original deployment's daily check, §8/§10) and prints a report.

Required:
  --postgres URL    postgres://user[:password]@host:port/database
  --redis URL       redis://[[user]:password@]host:port[/db]
  --amqp URL        amqp://user:password@host:port[/vhost]
Optional:
  --pgbouncer URL   PgBouncer admin console, postgres://user[:password]@host:6432/pgbouncer
  --api URL         API base URL (checks /readyz; /metrics too unless --api-metrics is given)
  --api-metrics URL the API's metrics port, e.g. http://host:9465 (reads http_requests_total from /metrics)
  --nginx URL       Nginx base URL (checks /health)
  --queues a,b      RabbitMQ queues that must exist (depth and consumers are reported). Without this flag no
                    queue is checked, only the broker; a stack's queues are order_queue,payment_queue.
  --timeout 5s      per-probe timeout (default 5s)
  --json            print JSON: {"healthy", "checkedAt", "health": {<component>: status.health fields}}

Exit codes: 0 every checked component is healthy, 1 any is not, 2 usage error (a required flag missing,
or a URL that is not one of the forms above).
Passwords in URLs are used to connect and never printed.`;

interface Parsed {
  targets: ProbeTargets;
  timeoutMs: number;
  json: boolean;
}

/** Flag → how its URL becomes a probe target; a URL that cannot be used is a usage error naming the flag. */
const URL_FLAGS = {
  postgres: (url: string, t: ProbeTargets) => (t.postgres = pgTargetFromUrl(url)),
  pgbouncer: (url: string, t: ProbeTargets) =>
    (t.pgbouncer = pgTargetFromUrl(url, '--pgbouncer', 'pgbouncer')),
  redis: (url: string, t: ProbeTargets) => (t.redis = redisTargetFromUrl(url)),
  amqp: (url: string, t: ProbeTargets) => (t.rabbitmq = amqpTargetFromUrl(url)),
  api: (url: string, t: ProbeTargets) => (t.apiUrl = httpBaseFromUrl(url, '--api')),
  'api-metrics': (url: string, t: ProbeTargets) => (t.apiMetricsUrl = httpBaseFromUrl(url, '--api-metrics')),
  nginx: (url: string, t: ProbeTargets) => (t.nginxUrl = httpBaseFromUrl(url, '--nginx')),
} as const;

export function parseCheckArgs(argv: string[]): Parsed {
  const v = parseOptions(argv, {
    postgres: { type: 'string' },
    pgbouncer: { type: 'string' },
    redis: { type: 'string' },
    amqp: { type: 'string' },
    api: { type: 'string' },
    'api-metrics': { type: 'string' },
    nginx: { type: 'string' },
    queues: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  const out: Parsed = { targets: {}, timeoutMs: 5000, json: v.json ?? false };
  const missing = ['postgres', 'redis', 'amqp'].filter((f) => v[f as keyof typeof URL_FLAGS] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((f) => `--${f}`).join(', ')}`);
  for (const [flag, toTarget] of Object.entries(URL_FLAGS)) {
    const url = v[flag as keyof typeof URL_FLAGS];
    if (url === undefined) continue;
    try {
      toTarget(url, out.targets);
    } catch (err) {
      if (err instanceof TargetUrlError) throw new UsageError(err.message);
      throw err;
    }
  }
  if (v.queues !== undefined) {
    const queues = v.queues
      .split(',')
      .map((q) => q.trim())
      .filter(Boolean);
    if (queues.length === 0) throw new UsageError('--queues needs at least one queue name, e.g. order_queue');
    out.targets.queues = queues;
  }
  if (v.timeout !== undefined) {
    const ms = parseDurationMs(v.timeout);
    if (ms === undefined)
      throw new UsageError(`--timeout: '${v.timeout}' is not a duration; use e.g. 5s or 500ms`);
    out.timeoutMs = ms;
  }
  return out;
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
  const session = new StackProbeSession(parsed.timeoutMs);
  let report: HealthReport;
  try {
    report = await session.probe(parsed.targets, DEFAULT_THRESHOLDS);
  } finally {
    await session.close();
  }
  const healthy = Object.values(report.components).every((r) => r.healthy);
  if (parsed.json) {
    io.stdout(
      JSON.stringify({ healthy, checkedAt: report.checkedAt, health: healthStatus(report) }, null, 2) + '\n',
    );
  } else {
    io.stdout(readable(report));
  }
  return healthy ? 0 : 1;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Probe PostgreSQL, Redis, RabbitMQ (and PgBouncer, API, Nginx) once and report their health',
  usage,
  run,
};
