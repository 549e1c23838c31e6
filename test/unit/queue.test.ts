import { describe, expect, it } from 'vitest';
import { BoundedQueue, type QueueItem } from '../../src/pipeline/queue.js';

const item = (value: string, events = 1, bytes = 10): QueueItem<string> => ({
  value,
  events,
  bytes,
});

describe('BoundedQueue', () => {
  it('drops the oldest events when the event bound is passed, and counts them', () => {
    const q = new BoundedQueue<string>({ maxEvents: 3, maxBytes: 1_000 });
    for (const v of ['a', 'b', 'c', 'd', 'e']) q.push(item(v));
    expect(q.take().map((i) => i.value)).toEqual(['c', 'd', 'e']);
    expect(q.dropped).toEqual({ events: 2, bytes: 20 });
  });

  it('drops the oldest when the byte bound is passed', () => {
    const q = new BoundedQueue<string>({ maxEvents: 100, maxBytes: 25 });
    q.push(item('a'));
    q.push(item('b'));
    expect(q.push(item('c'))).toBe(1);
    expect(q.take().map((i) => i.value)).toEqual(['b', 'c']);
  });

  it('counts an item in the events it stands for', () => {
    const q = new BoundedQueue<string>({ maxEvents: 5, maxBytes: 1_000 });
    q.push(item('span', 3));
    q.push(item('log', 1));
    expect(q.events).toBe(4);
    expect(q.push(item('span2', 3))).toBe(3);
    expect(q.events).toBe(4);
  });

  it('puts a failed batch back at the head, before newer items', () => {
    const q = new BoundedQueue<string>({ maxEvents: 100, maxBytes: 1_000 });
    for (const v of ['a', 'b', 'c']) q.push(item(v));
    const batch = q.take(2);
    q.push(item('d'));
    q.requeue(batch);
    expect(q.take().map((i) => i.value)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('takes within a byte budget but always at least one item', () => {
    const q = new BoundedQueue<string>({ maxEvents: 100, maxBytes: 10_000 });
    q.push(item('big', 1, 500));
    q.push(item('x', 1, 10));
    q.push(item('y', 1, 10));
    expect(q.take(Number.POSITIVE_INFINITY, 100).map((i) => i.value)).toEqual([
      'big',
    ]);
    expect(q.take(Number.POSITIVE_INFINITY, 15).map((i) => i.value)).toEqual([
      'x',
    ]);
    expect(q.length).toBe(1);
  });

  it('stays exact over a long run of pushes and takes', () => {
    const q = new BoundedQueue<string>({ maxEvents: 1_000, maxBytes: 1e9 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 700; i++) q.push(item(String(next++)));
      const got = q.take(500);
      for (const g of got) {
        // Order survives compaction; values skipped were dropped as oldest.
        expect(Number(g.value)).toBeGreaterThanOrEqual(expected);
        expected = Number(g.value) + 1;
      }
    }
    expect(q.dropped.events + q.events + 50 * 500).toBe(next);
  });

  it('bounds a take by the records items hold (a chunk holds many)', () => {
    const q = new BoundedQueue<string>({ maxEvents: 10_000, maxBytes: 1e9 });
    q.push({ value: 'c1', events: 300, bytes: 10, records: 300 });
    q.push({ value: 'c2', events: 300, bytes: 10, records: 300 });
    q.push({ value: 'one', events: 1, bytes: 10 });
    q.push({ value: 'c3', events: 500, bytes: 10, records: 500 });
    expect(q.take(601).map((i) => i.value)).toEqual(['c1', 'c2', 'one']);
    // Always at least one, even past the bound.
    expect(q.take(100).map((i) => i.value)).toEqual(['c3']);
  });

  it('tells onDrop of each item dropped on overflow', () => {
    const q = new BoundedQueue<string>({ maxEvents: 2, maxBytes: 1e9 });
    const dropped: string[] = [];
    q.onDrop = (it) => dropped.push(it.value);
    for (const v of ['a', 'b', 'c', 'd']) q.push(item(v));
    // Re-queued items are the oldest: they go first.
    q.requeue([item('e')]);
    expect(dropped).toEqual(['a', 'b', 'e']);
  });
});
