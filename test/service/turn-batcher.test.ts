/** TurnBatcher: what the hot path relies on to group purchases and order messages without delaying them. */
import { describe, expect, it } from 'vitest';
import { TurnBatcher } from '../../src/service/turn-batcher.js';

describe('TurnBatcher', () => {
  it('hands over a full batch at once, the rest at the end of the turn, one batch per key', async () => {
    const sent: [string, number[]][] = [];
    const b = new TurnBatcher<number>(3, (key, batch) => sent.push([key, batch]));
    for (const n of [1, 2, 3, 4]) b.add('a', n);
    b.add('b', 9);
    expect(sent).toEqual([['a', [1, 2, 3]]]);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([
      ['a', [1, 2, 3]],
      ['a', [4]],
      ['b', [9]],
    ]);
  });

  it('does not hold anything for a later turn', async () => {
    const sent: number[][] = [];
    const b = new TurnBatcher<number>(100, (_key, batch) => sent.push(batch));
    b.add('', 1);
    await new Promise((r) => setImmediate(r));
    b.add('', 2);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([[1], [2]]);
  });
});
