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

  it('hands out added keys before resync re-checks that waited longer, so new stacks never queue behind a resync', async () => {
    const q = new WorkQueue({ now: () => 0 });
    for (const k of ['old-1', 'old-2', 'old-3']) q.addIfNotRecent(k, 1000);
    q.add('new-stack');
    q.add('old-2'); // an event for a key waiting as a re-check: real work now, handed out once
    expect(q.length).toBe(4);
    expect(await q.get()).toBe('new-stack');
    expect(await q.get()).toBe('old-2');
    expect(await q.get()).toBe('old-1');
    q.add('another-new');
    expect(await q.get()).toBe('another-new');
    expect(await q.get()).toBe('old-3');
    expect(q.length).toBe(0);
    for (const k of ['new-stack', 'old-2', 'old-1', 'another-new', 'old-3']) q.done(k);
    expect(q.length).toBe(0);
    q.shutDown();
  });

  it('loses no key under concurrent workers mixing adds, delayed adds, re-checks and retries', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 10 });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    let clock = 0;
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    const workers = Array.from({ length: 8 }, async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        lastStart.set(k, ++clock);
        await sleep(Math.random() * 3);
        if (Math.random() < 0.1) q.addRateLimited(k);
        else q.forget(k);
        q.done(k);
      }
    });
    for (let i = 0; i < 1500; i++) {
      const k = keys[i % keys.length]!;
      const r = Math.random();
      if (r < 0.5) {
        lastAdd.set(k, ++clock);
        q.add(k);
      } else if (r < 0.8) {
        if (!lastStart.has(k)) lastAdd.set(k, lastAdd.get(k) ?? ++clock);
        q.addIfNotRecent(k, 2);
      } else {
        lastAdd.set(k, ++clock);
        q.addAfter(k, Math.random() * 5);
      }
      if (i % 20 === 0) await sleep(1);
    }
    const deadline = Date.now() + 10_000;
    const pending = () => [...lastAdd].filter(([k, t]) => (lastStart.get(k) ?? -1) < t).map(([k]) => k);
    while (pending().length > 0 && Date.now() < deadline) await sleep(20);
    expect(pending()).toEqual([]);
    q.shutDown();
    await Promise.all(workers);
  });
});
