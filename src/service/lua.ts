/**
 * The hot path's Redis scripts. Run with EVALSHA; on NOSCRIPT (Redis restarted, SCRIPT FLUSH) fall back to
 * EVAL, which also loads the script again. Keys and user input travel as KEYS/ARGV, never spliced into code.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * KEYS: inventory hash, buyers hash, order index key.  ARGV: userId, orderId, pendingTtlSeconds, saleId.
 * Returns remaining stock (>= 0) on success, or a negative code (see PurchaseCode).
 * The sale window is checked against the Redis server's clock, so API replicas with skewed clocks agree.
 */
export const PURCHASE_LUA = `
local inv = redis.call('HMGET', KEYS[1], 'stock', 'startsAt', 'endsAt')
if not inv[1] then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < tonumber(inv[2]) then return -2 end
if now >= tonumber(inv[3]) then return -3 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return -4 end
local stock = tonumber(inv[1])
if stock <= 0 then return -5 end
redis.call('HINCRBY', KEYS[1], 'stock', -1)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[4] .. '\\n' .. ARGV[1], 'EX', tonumber(ARGV[3]))
return stock - 1
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
