/**
 * The hot path's Redis scripts. Run with EVALSHA; on NOSCRIPT (Redis restarted, SCRIPT FLUSH) fall back to
 * EVAL, which also loads the script again. Keys and user input travel as KEYS/ARGV, never spliced into code.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * One call buys for one or more users of the same sale, in order, atomically (the whole batch is one script
 * run, so no other command sees a half-applied batch).
 * KEYS: inventory hash, buyers hash, then one order index key per purchase.
 * ARGV: pendingTtlSeconds, saleId, then userId, orderId for each purchase.
 * Returns one integer per purchase: the remaining stock after it (>= 0) on success, or a negative code (see
 * PurchaseCode). A user listed twice in one batch gets alreadyPurchased the second time.
 * The sale window is checked against the Redis server's clock, so API replicas with skewed clocks agree.
 */
export const PURCHASE_LUA = `
local n = #KEYS - 2
local out = {}
local inv = redis.call('HMGET', KEYS[1], 'stock', 'startsAt', 'endsAt')
local refused = nil
if not inv[1] then
  refused = -1
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now < tonumber(inv[2]) then refused = -2 elseif now >= tonumber(inv[3]) then refused = -3 end
end
if refused then
  for i = 1, n do out[i] = refused end
  return out
end
local stock = tonumber(inv[1])
local ttl = tonumber(ARGV[1])
local taken = 0
for i = 1, n do
  local user = ARGV[1 + 2 * i]
  if redis.call('HEXISTS', KEYS[2], user) == 1 then
    out[i] = -4
  elseif stock <= 0 then
    out[i] = -5
  else
    stock = stock - 1
    taken = taken + 1
    redis.call('HSET', KEYS[2], user, ARGV[2 + 2 * i])
    redis.call('SET', KEYS[2 + i], ARGV[2] .. '\\n' .. user, 'EX', ttl)
    out[i] = stock
  end
end
if taken > 0 then redis.call('HINCRBY', KEYS[1], 'stock', -taken) end
return out
`;

/**
 * Gives back what PURCHASE_LUA took, only if the marker still holds this order id (so a double compensation
 * or a compensation racing a rebuild never inflates stock).
 * KEYS: inventory hash, buyers hash, order index key.  ARGV: userId, orderId.  Returns 1 if given back.
 */
export const COMPENSATE_LUA = `
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[3])
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'stock', 1) end
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
} as const;

export interface Script {
  source: string;
  sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export async function runScript(
  redis: Redis,
  s: Script,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      return await redis.eval(s.source, keys.length, ...keys, ...args);
    }
    throw err;
  }
}

export const purchaseScript = script(PURCHASE_LUA);
export const compensateScript = script(COMPENSATE_LUA);
