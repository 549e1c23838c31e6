import { describe, expect, it } from 'vitest';
import type { BatchExporter, ExportResult } from '../../src/export/result.js';
import { Dispatcher, dispatchDue } from '../../src/pipeline/dispatcher.js';
import { BoundedQueue } from '../../src/pipeline/queue.js';
import { createLogger } from '../../src/util/log.js';

/** A real exporter that records requests and answers from a script. */
class ScriptedExporter implements BatchExporter<string> {
  readonly batches: string[][] = [];
  channel?: (item: string) => string;
  constructor(private readonly _answers: ExportResult[] = []) {}
  async export(items: readonly string[]): Promise<ExportResult> {
    this.batches.push([...items]);
    return this._answers.shift() ?? { status: 'success' };
  }
  async shutdown(): Promise<void> {}
}

function setup(exporter: BatchExporter<string>, maxRequestBytes = 1e9) {
  const lines: string[] = [];
  const d = new Dispatcher<string>({
    queue: new BoundedQueue<string>({ maxEvents: 100, maxBytes: 1e9 }),
    maxRequestBytes,
    log: createLogger('debug', (l) => lines.push(l)),
  });
  d.setExporter(Promise.resolve(exporter));
  const push = (...values: string[]) => {
    for (const v of values) d.enqueue({ value: v, events: 1, bytes: v.length });
  };
  return { d, push, lines };
}

const soon = () => Date.now() + 1_000;

describe('dispatchDue (the DISPATCH_MIN_BATCH_SIZE rule)', () => {
  it.each([
    [0, 1, false],
    [1, 1, true],
    [19, 20, false],
    [20, 20, true],
    [21, 20, true],
    [0, 0, false],
  ])('%i waiting with a minimum of %i: %s', (waiting, min, due) => {
    expect(dispatchDue(waiting, min)).toBe(due);
  });
});

describe('retries', () => {
  it('retries a transient failure within the flush, after the backoff', async () => {
    const exporter = new ScriptedExporter([
      { status: 'retryable', reason: 'HTTP 503' },
      { status: 'retryable', reason: 'HTTP 503' },
    ]);
    const { d, push } = setup(exporter);
    push('a');
    const started = Date.now();
    await d.flush({ deadlineMs: started + 2_000, attempts: 3 });
    expect(exporter.batches).toEqual([['a'], ['a'], ['a']]);
    expect(d.stats.sentEvents).toBe(1);
    // 100 ms then 200 ms, each +-20 %.
    expect(Date.now() - started).toBeGreaterThanOrEqual(230);
  });

  it('honours Retry-After', async () => {
    const exporter = new ScriptedExporter([
      { status: 'retryable', reason: 'HTTP 429', retryAfterMs: 300 },
    ]);
    const { d, push } = setup(exporter);
    push('a');
    const started = Date.now();
    await d.flush({ deadlineMs: started + 2_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(d.stats.sentEvents).toBe(1);
  });

  it('does not start a retry that would end past the deadline', async () => {
    const exporter = new ScriptedExporter([
      { status: 'retryable', reason: 'HTTP 503', retryAfterMs: 5_000 },
    ]);
    const { d, push } = setup(exporter);
    push('a');
    const started = Date.now();
    await d.flush({
      deadlineMs: started + 500,
      attempts: Number.POSITIVE_INFINITY,
    });
    expect(Date.now() - started).toBeLessThan(400);
    expect(exporter.batches).toHaveLength(1);
    expect(d.queuedEvents).toBe(1);
  });

  it('halves a batch the exporter finds too large', async () => {
    const batches: string[][] = [];
    const exporter: BatchExporter<string> = {
      async export(items) {
        batches.push([...items]);
        return items.length > 2
          ? { status: 'too-large' }
          : { status: 'success' };
      },
      async shutdown() {},
    };
    const { d, push } = setup(exporter);
    push('a', 'b', 'c', 'd', 'e');
    await d.flush({ deadlineMs: soon() });
    expect(batches.filter((b) => b.length <= 2)).toEqual([
      ['a', 'b'],
      ['c'],
      ['d', 'e'],
    ]);
    expect(d.stats.sentEvents).toBe(5);
  });

  it('settle() aborts what is still in flight at its deadline and keeps the items', async () => {
    const exporter: BatchExporter<string> = {
      export: (_items, _deadline, signal) =>
        new Promise((resolve) => {
          signal?.addEventListener('abort', () =>
            resolve({ status: 'retryable', reason: 'aborted' })
          );
        }),
      async shutdown() {},
    };
    const { d, push } = setup(exporter);
    push('a', 'b');
    const flushing = d.flush({ deadlineMs: Date.now() + 10_000 });
    const started = Date.now();
    await d.settle(started + 100);
    await flushing;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(d.queuedEvents).toBe(2);
    expect(d.stats.aborted).toBe(1);
    expect(d.busy).toBe(false);
  });
});

describe('Dispatcher', () => {
  it('sends everything queued', async () => {
    const exporter = new ScriptedExporter();
    const { d, push } = setup(exporter);
    push('a', 'b', 'c');
    await d.flush({ deadlineMs: soon() });
    expect(exporter.batches).toEqual([['a', 'b', 'c']]);
    expect(d.stats.sentEvents).toBe(3);
    expect(d.queuedEvents).toBe(0);
  });

  it('keeps a transiently failed batch, in order, ahead of newer events', async () => {
    const exporter = new ScriptedExporter([
      { status: 'retryable', reason: 'ECONNREFUSED' },
    ]);
    const { d, push } = setup(exporter);
    push('a', 'b');
    await d.flush({ deadlineMs: soon(), attempts: 1 });
    expect(d.queuedEvents).toBe(2);
    push('c');
    await d.flush({ deadlineMs: soon(), attempts: 1 });
    expect(exporter.batches.at(-1)).toEqual(['a', 'b', 'c']);
    expect(d.stats.retryableFailures).toBe(1);
    expect(d.stats.sentEvents).toBe(3);
  });

  it('drops a refused batch, counts it, logs the status, and moves on', async () => {
    const exporter = new ScriptedExporter([
      { status: 'failure', reason: 'HTTP 400', httpStatus: 400 },
    ]);
    const { d, push, lines } = setup(exporter, 1);
    push('a', 'b');
    await d.flush({ deadlineMs: soon() });
    expect(exporter.batches).toEqual([['a'], ['b']]);
    expect(d.stats.rejectedEvents).toBe(1);
    expect(d.stats.sentEvents).toBe(1);
    expect(lines.join('')).toContain('HTTP 400');
  });

  it('splits the queue into requests under the byte bound', async () => {
    const exporter = new ScriptedExporter();
    const { d, push } = setup(exporter, 5);
    push('aa', 'bb', 'cc', 'dddddd');
    await d.flush({ deadlineMs: soon() });
    expect(exporter.batches).toEqual([['aa', 'bb'], ['cc'], ['dddddd']]);
  });

  it('sends each channel in its own request, and re-queues only the failed one', async () => {
    const exporter = new ScriptedExporter([
      { status: 'success' },
      { status: 'retryable', reason: 'HTTP 503' },
    ]);
    exporter.channel = (item) => item[0] as string;
    const { d, push } = setup(exporter);
    push('l1', 't1', 'l2', 't2');
    await d.flush({ deadlineMs: soon(), attempts: 1 });
    expect(exporter.batches).toEqual([
      ['l1', 'l2'],
      ['t1', 't2'],
    ]);
    expect(d.queuedEvents).toBe(2);
    await d.flush({ deadlineMs: soon() });
    expect(exporter.batches.at(-1)).toEqual(['t1', 't2']);
    expect(d.stats.sentEvents).toBe(4);
  });

  it('serializes concurrent flushes: the second sees what the first left', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const batches: string[][] = [];
    const slow: BatchExporter<string> = {
      async export(items) {
        batches.push([...items]);
        await gate;
        return { status: 'success' };
      },
      async shutdown() {},
    };
    const { d, push } = setup(slow);
    push('a');
    const first = d.flush({ deadlineMs: soon() });
    while (batches.length === 0) await new Promise((r) => setTimeout(r, 1));
    push('b');
    const second = d.flush({ deadlineMs: soon() });
    let secondDone = false;
    void second.then(() => {
      secondDone = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(secondDone).toBe(false);
    release();
    await Promise.all([first, second]);
    expect(batches).toEqual([['a'], ['b']]);
  });

  it('does not wait past the deadline for an exporter still loading', async () => {
    const d = new Dispatcher<string>({
      queue: new BoundedQueue<string>({ maxEvents: 10, maxBytes: 1e9 }),
      maxRequestBytes: 1e9,
      log: createLogger('silent'),
    });
    d.setExporter(new Promise(() => undefined));
    d.enqueue({ value: 'a', events: 1, bytes: 1 });
    const started = Date.now();
    await d.flush({ deadlineMs: started + 100 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(d.queuedEvents).toBe(1);
  });

  it('hands back what left for good (sent, refused, dropped), never what waits for a retry', async () => {
    const exporter = new ScriptedExporter([
      { status: 'success' },
      { status: 'failure', reason: 'HTTP 400' },
      { status: 'retryable', reason: 'HTTP 503' },
    ]);
    const d = new Dispatcher<string>({
      queue: new BoundedQueue<string>({ maxEvents: 4, maxBytes: 1e9 }),
      maxRequestBytes: 1e9,
      maxBatchItems: 1,
      log: createLogger('silent'),
    });
    d.setExporter(Promise.resolve(exporter));
    const released: string[] = [];
    d.setRelease((items) => released.push(...items.map((i) => i.value)));
    for (const v of ['old', 'sent', 'refused', 'retried', 'later'])
      d.enqueue({ value: v, events: 1, bytes: 1 });
    expect(released).toEqual(['old']);
    await d.flush({ deadlineMs: Date.now() + 1_000, attempts: 1 });
    expect(released).toEqual(['old', 'sent', 'refused']);
    expect(d.queuedEvents).toBe(2);
  });
});

describe('export timing', () => {
  it('measures the slowest answered request on the injected clock; a transient failure is not counted', async () => {
    let now = 1_000_000;
    const answers: ExportResult[] = [
      { status: 'success' },
      { status: 'retryable', reason: 'timeout' },
      { status: 'failure', reason: 'HTTP 400' },
    ];
    const took = [80, 900, 150];
    const exporter: BatchExporter<string> = {
      async export() {
        now += took.shift() ?? 0;
        return answers.shift() ?? { status: 'success' };
      },
      async shutdown() {},
    };
    const d = new Dispatcher<string>({
      queue: new BoundedQueue<string>({ maxEvents: 100, maxBytes: 1e9 }),
      maxRequestBytes: 1e9,
      maxBatchItems: 1,
      log: createLogger('silent'),
      now: () => now,
    });
    d.setExporter(Promise.resolve(exporter));
    expect(d.stats.slowestRequestMs).toBe(0);
    for (const v of ['a', 'b', 'c'])
      d.enqueue({ value: v, events: 1, bytes: 1 });
    await d.flush({ deadlineMs: now + 10_000, attempts: 1 });
    expect(d.stats.slowestRequestMs).toBe(80);
    await d.flush({ deadlineMs: now + 10_000, attempts: 1 });
    expect(d.stats.slowestRequestMs).toBe(150);
  });
});
