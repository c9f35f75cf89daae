/**
 * The hot path's Redis scripts. Keys and user input travel as KEYS/ARGV, never spliced into code.
 *
 * The purchase script is run with EVALSHA only, and loaded (SCRIPT LOAD) only after the guard check (GUARD_LUA)
 * ran in the same Redis process: Redis keeps loaded scripts in memory only (never in RDB/AOF, and Redis 7
 * does not replicate them), so a Redis that restarted, was restored from a snapshot or failed over to a replica
 * answers NOSCRIPT, and the purchase cannot run until the guard has compared Redis' run id with the one the
 * inventory was verified in (src/service/inventory-guard.ts).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * One call buys for one or more users of the same sale, in order, atomically (the whole batch is one script
 * run, so no other command sees a half-applied batch).
 * KEYS: guard hash, inventory hash, buyers hash, then one order index key per purchase.
 * ARGV: pendingTtlSeconds, saleId, epoch the caller trusts, then userId, orderId for each purchase.
 * Returns one integer per purchase — the remaining stock after it (>= 0) on success, or a negative code (see
 * PurchaseCode) — then the batch's attempt number (the sale's purchase sequence, 0 when nothing was taken),
 * which the order messages carry so a later purchase by the same user supersedes a cancelled one.
 * Nothing is taken unless the guard says `ok` with exactly the caller's epoch: a guard that is missing
 * (Redis lost its data), recovering, or of another epoch (Redis was rolled back, or recovered since) refuses
 * the whole batch. Then the sale's gate (`suspended`, `closed`; absent counts as open) refuses it, and the
 * sale window is checked against the Redis server's clock.
 */
export const PURCHASE_LUA = `
local n = #KEYS - 3
local out = {}
local refused = nil
local g = redis.call('HMGET', KEYS[1], 'state', 'epoch')
if g[1] ~= 'ok' then
  refused = -6
elseif g[2] ~= ARGV[3] then
  refused = -7
end
local inv = nil
if not refused then
  inv = redis.call('HMGET', KEYS[2], 'stock', 'startsAt', 'endsAt', 'gate')
  if not inv[1] then
    refused = -1
  elseif inv[4] == 'suspended' then
    refused = -8
  elseif inv[4] == 'closed' then
    refused = -9
  else
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if now < tonumber(inv[2]) then refused = -2 elseif now >= tonumber(inv[3]) then refused = -3 end
  end
end
if refused then
  for i = 1, n do out[i] = refused end
  out[n + 1] = 0
  return out
end
local stock = tonumber(inv[1])
local ttl = tonumber(ARGV[1])
local taken = 0
for i = 1, n do
  local user = ARGV[2 + 2 * i]
  if redis.call('HEXISTS', KEYS[3], user) == 1 then
    out[i] = -4
  elseif stock <= 0 then
    out[i] = -5
  else
    stock = stock - 1
    taken = taken + 1
    redis.call('HSET', KEYS[3], user, ARGV[3 + 2 * i])
    redis.call('SET', KEYS[3 + i], ARGV[2] .. '\\n' .. user, 'EX', ttl)
    out[i] = stock
  end
end
local attempt = 0
if taken > 0 then
  redis.call('HINCRBY', KEYS[2], 'stock', -taken)
  attempt = redis.call('HINCRBY', KEYS[2], 'seq', 1)
end
out[n + 1] = attempt
return out
`;

/**
 * Gives back what PURCHASE_LUA took, only if the marker still holds this order id and the guard is still in
 * the epoch the purchase ran in (after a recovery the inventory was recomputed from PostgreSQL, which is the
 * truth; giving back on top of it would inflate stock). A double compensation never inflates stock either.
 * KEYS: guard hash, inventory hash, buyers hash, order index key.  ARGV: userId, orderId, epoch.
 * Returns 1 if given back.
 */
export const COMPENSATE_LUA = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[3] then return 0 end
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('DEL', KEYS[4])
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'stock', 1) end
  return 1
end
return 0
`;

/**
 * The guard check. Compares the guard with the live Redis process and raises the fence (state `recovering`)
 * when Redis may hold less than it acknowledged:
 *   - no guard at all                                   → `redis_lost_data` (restart without data, FLUSHALL)
 *   - the guard was verified in another Redis process   → `redis_restarted` (restart, snapshot restore, failover)
 *   - the guard says ok with an epoch older than the durable one in PostgreSQL (ARGV[1], '' when unknown)
 *                                                       → `redis_rolled_back` (keys restored into a live Redis)
 *   - ARGV[2] is not ''                                 → that reason (the caller found Redis and PostgreSQL
 *                                                         disagreeing, e.g. an order refused by the database)
 * Raising the fence clears the running recovery's token, so a recovery that began before cannot lift it.
 * KEYS: guard hash.  ARGV: durable epoch or '', reason to force or ''.
 * Returns {state, epoch, reason, since (ms), runId}.
 */
export const GUARD_LUA = `
local info = redis.call('INFO', 'server')
local run = string.match(info, 'run_id:(%w+)')
local g = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'runId', 'reason', 'since')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reason = nil
if not g[1] then
  reason = 'redis_lost_data'
elseif g[3] ~= run then
  reason = 'redis_restarted'
elseif g[1] == 'ok' and ARGV[1] ~= '' and tonumber(g[2]) < tonumber(ARGV[1]) then
  reason = 'redis_rolled_back'
elseif ARGV[2] ~= '' then
  reason = ARGV[2]
end
if not reason then return {g[1], g[2], g[4] or '', g[5] or '', run} end
local epoch = g[2]
if not epoch then
  if ARGV[1] ~= '' then epoch = ARGV[1] else epoch = '0' end
end
local since = g[5]
if g[1] ~= 'recovering' or not since then since = tostring(now) end
redis.call('HSET', KEYS[1], 'state', 'recovering', 'epoch', epoch, 'runId', run, 'reason', reason,
  'since', since, 'recovery', '')
return {'recovering', epoch, reason, since, run}
`;

/**
 * A recovery claims the fence: records its token, only while the fence is up in the Redis process it expects.
 * KEYS: guard hash.  ARGV: token, runId.  Returns the guard's epoch, or false when there is nothing to claim.
 */
export const CLAIM_LUA = `
local g = redis.call('HMGET', KEYS[1], 'state', 'runId', 'epoch')
if g[1] ~= 'recovering' or g[2] ~= ARGV[2] then return false end
redis.call('HSET', KEYS[1], 'recovery', ARGV[1])
return g[3]
`;

/**
 * Lifts the fence after a recovery: only if the fence is still the one the recovery claimed (same token, same
 * Redis process). KEYS: guard hash.  ARGV: token, runId, new epoch.  Returns 1 when lifted.
 */
export const LIFT_LUA = `
local info = redis.call('INFO', 'server')
local run = string.match(info, 'run_id:(%w+)')
local g = redis.call('HMGET', KEYS[1], 'state', 'runId', 'recovery')
if run ~= ARGV[2] or g[1] ~= 'recovering' or g[2] ~= ARGV[2] or g[3] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'ok', 'epoch', ARGV[3], 'reason', '', 'recovery', '')
return 1
`;

/**
 * An order the database refused: its purchase marker and pending key go (only if they still belong to this
 * order), so the buyer is not told "already purchased" for an order that does not exist.
 * KEYS: buyers hash, order index key.  ARGV: userId, orderId.  Returns 1 when the marker was removed.
 */
export const FORGET_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`;

export const PurchaseCode = {
  notFound: -1,
  notStarted: -2,
  ended: -3,
  alreadyPurchased: -4,
  soldOut: -5,
  /** The fence is up: Redis may hold less than it acknowledged; nothing was taken. */
  recovering: -6,
  /** The guard is in another epoch than the caller trusts (it recovered meanwhile, or was rolled back). */
  staleEpoch: -7,
  /** The sale's gate is suspended (until resumed). */
  suspended: -8,
  /** The sale's gate is closed for good. */
  closed: -9,
} as const;

export interface Script {
  source: string;
  sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA, falling back to EVAL (which also loads the script) on NOSCRIPT. Not for the purchase script. */
export async function runScript(
  redis: Redis,
  s: Script,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (isNoScript(err)) {
      return await redis.eval(s.source, keys.length, ...keys, ...args);
    }
    throw err;
  }
}

export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Writes fields of a sale's inventory hash (its gate, its end) only if the hash exists: a missing inventory is
 * loaded whole from PostgreSQL by the recovery, never started by a partial write.
 * KEYS: inventory hash.  ARGV: field, value, ...  Returns 1 when written.
 */
export const SET_IF_LOADED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

export const purchaseScript = script(PURCHASE_LUA);
export const setIfLoadedScript = script(SET_IF_LOADED_LUA);
export const compensateScript = script(COMPENSATE_LUA);
export const guardScript = script(GUARD_LUA);
export const claimScript = script(CLAIM_LUA);
export const liftScript = script(LIFT_LUA);
export const forgetScript = script(FORGET_LUA);

/** Extends the recovery lock while it still holds our token. KEYS: lock.  ARGV: token, ttlMs. */
export const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** Releases the recovery lock if it still holds our token. KEYS: lock.  ARGV: token. */
export const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export const renewScript = script(RENEW_LUA);
export const releaseScript = script(RELEASE_LUA);
