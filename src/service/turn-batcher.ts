/**
 * Groups work that arrives in the same event-loop turn: items are collected per key, and each key's batch is
 * handed to `send` at the end of the turn (setImmediate) or as soon as it holds `max` items. Nothing waits for
 * a later turn, so an idle service adds no delay and a busy one gets fuller batches. Used for the purchase
 * script calls (per sale) and for the order messages (one key).
 */
export class TurnBatcher<T> {
  private readonly pending = new Map<string, T[]>();
  private scheduled = false;

  constructor(
    private readonly max: number,
    private readonly send: (key: string, batch: T[]) => void,
  ) {}

  add(key: string, item: T): void {
    let batch = this.pending.get(key);
    if (!batch) {
      batch = [];
      this.pending.set(key, batch);
    }
    batch.push(item);
    if (batch.length >= this.max) {
      this.pending.delete(key);
      this.send(key, batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [key, batch] of batches) this.send(key, batch);
  };
}
