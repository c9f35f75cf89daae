/**
 * Runs the purchase Lua script for many concurrent orders at once. Purchases for the same sale that arrive in
 * the same event-loop turn (every request whose body was read in one I/O poll) go to Redis as one EVALSHA,
 * at most PURCHASE_BATCH_MAX per call (TurnBatcher, the same rule the publisher uses for broker messages).
 * One script call per batch instead of one per order cuts Redis' per-command work and the client's.
 *
 * The script sells only in the epoch the inventory guard trusts. NOSCRIPT (a Redis process that never ran
 * the guard check) loads the script through the guard; a batch refused for a stale epoch (the inventory was
 * recovered meanwhile) is sent once more after the guard re-read the epoch.
 */
import type { Redis } from 'ioredis';
import type { InventoryGuard } from './inventory-guard.js';
import type { Keys } from './keys.js';
import { isNoScript, PurchaseCode, purchaseScript } from './lua.js';
import { TurnBatcher } from './turn-batcher.js';

export interface PurchaseReply {
  /** Remaining stock (>= 0) after this purchase, or a PurchaseCode. */
  code: number;
  /** The purchase's attempt number (carried by its order message); 0 when nothing was taken. */
  attempt: number;
  /** The guard epoch the script ran in (a compensation applies only in the same epoch). */
  epoch: string;
}

interface Pending {
  userId: string;
  orderId: string;
  resolve: (r: PurchaseReply) => void;
  reject: (e: unknown) => void;
}

export class PurchaseBatcher {
  private readonly batches: TurnBatcher<Pending>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly guard: InventoryGuard,
    private readonly pendingOrderTtlSec: number,
    batchMax: number,
  ) {
    this.batches = new TurnBatcher(batchMax, (saleId, batch) => void this.send(saleId, batch));
  }

  /**
   * Resolves to the script's answer for this purchase. Rejects when Redis failed; then nothing of this batch
   * was taken (a script either runs whole or not at all).
   */
  purchase(saleId: string, userId: string, orderId: string): Promise<PurchaseReply> {
    return new Promise<PurchaseReply>((resolve, reject) => {
      this.batches.add(saleId, { userId, orderId, resolve, reject });
    });
  }

  private async call(saleId: string, batch: Pending[]): Promise<{ codes: number[]; epoch: string }> {
    const keys = [this.keys.guard(), this.keys.inventory(saleId), this.keys.buyers(saleId)];
    const args: (string | number)[] = [this.pendingOrderTtlSec, saleId, this.guard.epoch];
    for (const p of batch) {
      keys.push(this.keys.orderIndex(p.orderId));
      args.push(p.userId, p.orderId);
    }
    const run = async (): Promise<{ codes: number[]; epoch: string }> => {
      const codes = (await this.redis.evalsha(purchaseScript.sha, keys.length, ...keys, ...args)) as number[];
      return { codes, epoch: String(args[2]) };
    };
    try {
      return await run();
    } catch (e) {
      if (!isNoScript(e)) throw e;
      await this.guard.loadPurchaseScript();
      args[2] = this.guard.epoch;
      return await run();
    }
  }

  private async send(saleId: string, batch: Pending[]): Promise<void> {
    try {
      let { codes, epoch } = await this.call(saleId, batch);
      if (Number(codes[0]) === PurchaseCode.staleEpoch) {
        await this.guard.check();
        ({ codes, epoch } = await this.call(saleId, batch));
      }
      if (Number(codes[0]) === PurchaseCode.recovering || Number(codes[0]) === PurchaseCode.staleEpoch) {
        this.guard.check().catch(() => undefined);
      }
      const attempt = Number(codes[batch.length] ?? 0);
      for (let i = 0; i < batch.length; i++) {
        const code = Number(codes[i]);
        batch[i]!.resolve({ code, attempt: code >= 0 ? attempt : 0, epoch });
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
