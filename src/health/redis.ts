import { Redis } from 'ioredis';
import type { ProbeOptions, RedisHealth, RedisTarget } from './types.js';
import { HIT_RATIO_MIN_LOOKUPS } from './types.js';
import { elapsedMs, formatBytes, round, unreachable, withTimeout } from './util.js';

/** A Redis client for probing: no background reconnects, no offline queue, every wait bounded. */
export function createRedisClient(target: RedisTarget, timeoutMs: number): Redis {
  const client = new Redis({
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    db: target.db ?? 0,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: 'flash-sale-operator-probe',
  });
  client.on('error', () => undefined);
  return client;
}

export function redisEndpoint(t: RedisTarget): string {
  return `${t.host}:${t.port}`;
}

/** Parses the text of INFO into key → value. */
export function parseRedisInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Redis probe: seed §8/§10 (`redis-cli ping`, `INFO stats` keyspace hits) plus what keeps inventory safe:
 * evictions (must stay 0), memory against maxmemory, and persistence status.
 * `client` is connected here when needed; the caller owns it (and replaces it when it ended).
 */
export async function probeRedis(
  client: Redis,
  target: RedisTarget,
  opts: ProbeOptions,
  previous?: RedisHealth,
): Promise<RedisHealth> {
  const checkedAt = (opts.now?.() ?? new Date()).toISOString();
  const endpoint = redisEndpoint(target);
  const th = opts.thresholds;
  const work = async (): Promise<RedisHealth> => {
    if (client.status === 'wait') await client.connect();
    const t0 = process.hrtime.bigint();
    const pong = await client.ping();
    const latencyMs = elapsedMs(t0);
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
    const info = parseRedisInfo(await client.info());
    const n = (k: string): number => Number(info[k] ?? 0);
    const used = n('used_memory');
    const max = n('maxmemory');
    const hits = n('keyspace_hits');
    const misses = n('keyspace_misses');
    const r: RedisHealth = {
      healthy: true,
      reason: 'Healthy',
      message: '',
      latencyMs,
      checkedAt,
      endpoint,
      usedMemoryBytes: used,
      maxMemoryBytes: max,
      maxmemoryPolicy: info.maxmemory_policy,
      keyspaceHits: hits,
      keyspaceMisses: misses,
      evictedKeys: n('evicted_keys'),
      rdbLastBgsaveStatus: info.rdb_last_bgsave_status,
      aofEnabled: info.aof_enabled === '1',
      aofLastWriteStatus: info.aof_last_write_status,
      connectedClients: n('connected_clients'),
    };
    if (max > 0) r.memoryUsedPercent = round((100 * used) / max, 1);
    if (hits + misses > 0) r.hitRatio = round(hits / (hits + misses), 4);
    // Since the previous round (when the counters did not reset): a miss storm shows up at once instead of
    // being diluted by everything since the server started.
    const dh = hits - (previous?.keyspaceHits ?? Infinity);
    const dm = misses - (previous?.keyspaceMisses ?? Infinity);
    if (dh >= 0 && dm >= 0) {
      r.windowLookups = dh + dm;
      if (dh + dm > 0) r.windowHitRatio = round(dh / (dh + dm), 4);
    }
    const summary =
      `Redis: PING ${latencyMs} ms, memory ${formatBytes(used)}` +
      (max > 0 ? ` of ${formatBytes(max)} (${r.memoryUsedPercent}%)` : ' (no maxmemory)') +
      `, hit ratio ${r.hitRatio ?? 'n/a'} over ${hits + misses} lookups, ${r.evictedKeys} evicted keys, ` +
      `${r.connectedClients} clients`;
    const bad = (reason: RedisHealth['reason'], why: string): RedisHealth => ({
      ...r,
      healthy: false,
      reason,
      message: `${why} ${summary}`,
    });
    if ((r.evictedKeys ?? 0) > 0) {
      return bad(
        'RedisEvictingKeys',
        `${r.evictedKeys} keys were evicted (policy ${r.maxmemoryPolicy}): inventory and order keys may be lost; ` +
          'raise maxmemory or use noeviction (CONFIG RESETSTAT clears the counter after the fix).',
      );
    }
    const bgsaveFailed = r.rdbLastBgsaveStatus !== undefined && r.rdbLastBgsaveStatus !== 'ok';
    const aofFailed =
      r.aofEnabled === true && r.aofLastWriteStatus !== undefined && r.aofLastWriteStatus !== 'ok';
    if (bgsaveFailed || aofFailed) {
      return bad(
        'PersistenceFailing',
        `persistence is failing (rdb_last_bgsave_status=${r.rdbLastBgsaveStatus}, ` +
          `aof_last_write_status=${r.aofEnabled ? r.aofLastWriteStatus : 'aof disabled'}).`,
      );
    }
    if (r.memoryUsedPercent !== undefined && r.memoryUsedPercent > th.redisMemoryUsedPercentMax) {
      return bad(
        'RedisMemoryHigh',
        `memory at ${r.memoryUsedPercent}% of maxmemory (threshold ${th.redisMemoryUsedPercentMax}%).`,
      );
    }
    const windowed = r.windowHitRatio !== undefined && (r.windowLookups ?? 0) >= HIT_RATIO_MIN_LOOKUPS;
    const ratio = windowed
      ? r.windowHitRatio
      : hits + misses >= HIT_RATIO_MIN_LOOKUPS
        ? r.hitRatio
        : undefined;
    if (ratio !== undefined && ratio < th.redisHitRatioMin) {
      const over = windowed ? `${r.windowLookups} lookups since the last round` : `${hits + misses} lookups`;
      return bad('HitRatioLow', `cache hit ratio ${ratio} over ${over}, below ${th.redisHitRatioMin}.`);
    }
    return { ...r, message: summary };
  };
  try {
    return await withTimeout(work(), opts.timeoutMs, `Redis at ${endpoint}`, () => client.disconnect());
  } catch (err) {
    return unreachable<RedisHealth>(endpoint, checkedAt, 'Redis', err, [target.password]);
  }
}
