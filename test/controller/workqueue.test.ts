import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/controller/workqueue.js';

describe('WorkQueue (client-go semantics)', () => {
  it('dedupes a key that is added several times while waiting', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands a key being processed to a second worker, and re-queues it once after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    expect(key).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0); // held back while processing
    q.done('a');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('backs off exponentially per key with a cap, and forget resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
    expect(q.addRateLimited('k')).toBe(10);
    expect(q.addRateLimited('k')).toBe(20);
    expect(q.addRateLimited('k')).toBe(40);
    expect(q.addRateLimited('k')).toBe(50);
    expect(q.addRateLimited('other')).toBe(10);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(10);
    q.shutDown();
  });

  it('honours a minimum delay such as Retry-After', () => {
    const q = new WorkQueue({ baseDelayMs: 10 });
    expect(q.addRateLimited('k', 2000)).toBe(2000);
    q.shutDown();
  });

  it('delivers a delayed key after its delay', async () => {
    const q = new WorkQueue();
    q.addAfter('late', 30);
    expect(q.length).toBe(0);
    expect(await q.get()).toBe('late');
  });

  it('wakes waiting workers with undefined on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('ignored');
    expect(q.length).toBe(0);
  });

  it('resyncs only keys nothing has looked at within the period (addIfNotRecent)', async () => {
    let now = 0;
    const q = new WorkQueue({ now: () => now });
    q.addIfNotRecent('never-seen', 1000);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('never-seen');
    q.done('never-seen');
    now = 500;
    q.addIfNotRecent('never-seen', 1000); // done 500 ms ago: still fresh
    expect(q.length).toBe(0);
    now = 1000;
    q.addIfNotRecent('never-seen', 1000);
    expect(q.length).toBe(1);
    q.addIfNotRecent('never-seen', 1000); // already waiting: not twice
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('never-seen');
    q.addIfNotRecent('never-seen', 0); // being processed: not handed out again
    expect(q.length).toBe(0);
    q.done('never-seen');
    q.addRateLimited('failing');
    q.addIfNotRecent('failing', 0); // waiting out its backoff: the retry comes on its own
    expect(q.length).toBe(0);
    q.shutDown();
  });
});
