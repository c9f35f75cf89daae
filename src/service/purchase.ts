/**
 * Runs the purchase Lua script for many concurrent orders at once. Purchases for the same sale that arrive in
 * the same event-loop turn (every request whose body was read in one I/O poll) go to Redis as one EVALSHA,
 * at most PURCHASE_BATCH_MAX per call (TurnBatcher, the same rule the publisher uses for broker messages).
 * One script call per batch instead of one per order cuts Redis' per-command work and the client's.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { purchaseScript, runScript } from './lua.js';
import { TurnBatcher } from './turn-batcher.js';

interface Pending {
  userId: string;
  orderId: string;
  resolve: (code: number) => void;
  reject: (e: unknown) => void;
}

export class PurchaseBatcher {
  private readonly batches: TurnBatcher<Pending>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly pendingOrderTtlSec: number,
    batchMax: number,
  ) {
    this.batches = new TurnBatcher(batchMax, (saleId, batch) => this.send(saleId, batch));
  }

  /**
   * Resolves to the script's answer for this purchase: remaining stock (>= 0) or a PurchaseCode.
   * Rejects when Redis failed; then nothing of this batch was taken (a script either runs whole or not at all).
   */
  purchase(saleId: string, userId: string, orderId: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.batches.add(saleId, { userId, orderId, resolve, reject });
    });
  }

  private send(saleId: string, batch: Pending[]): void {
    const keys = [this.keys.inventory(saleId), this.keys.buyers(saleId)];
    const args: (string | number)[] = [this.pendingOrderTtlSec, saleId];
    for (const p of batch) {
      keys.push(this.keys.orderIndex(p.orderId));
      args.push(p.userId, p.orderId);
    }
    runScript(this.redis, purchaseScript, keys, args).then(
      (reply) => {
        const codes = reply as number[];
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(Number(codes[i]));
      },
      (e: unknown) => {
        for (const p of batch) p.reject(e);
      },
    );
  }
}
