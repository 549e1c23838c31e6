import { describe, expect, it } from 'vitest';
import type { BatchExporter, ExportResult } from '../../src/export/result.js';
import { Dispatcher } from '../../src/pipeline/dispatcher.js';
import { BoundedQueue } from '../../src/pipeline/queue.js';
import { createLogger } from '../../src/util/log.js';

/** A real exporter that records batches and answers from a script. */
class ScriptedExporter implements BatchExporter<string> {
  readonly batches: string[][] = [];
  constructor(private readonly _answers: ExportResult[] = []) {}
  async export(items: readonly string[]): Promise<ExportResult> {
    this.batches.push([...items]);
    return this._answers.shift() ?? { status: 'success' };
  }
  async shutdown(): Promise<void> {}
}

function setup(
  minBatchSize: number,
  exporter: BatchExporter<string>,
  maxRequestBytes = 1e9
) {
  const lines: string[] = [];
  const d = new Dispatcher<string>({
    queue: new BoundedQueue<string>({ maxEvents: 100, maxBytes: 1e9 }),
    minBatchSize,
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

describe('the dispatch rule', () => {
  it('holds events back while fewer than DISPATCH_MIN_BATCH_SIZE are queued', async () => {
    const exporter = new ScriptedExporter();
    const { d, push } = setup(3, exporter);
    push('a', 'b');
    await d.flush({ force: false, deadlineMs: soon() });
    expect(exporter.batches).toEqual([]);
    push('c');
    await d.flush({ force: false, deadlineMs: soon() });
    expect(exporter.batches).toEqual([['a', 'b', 'c']]);
  });

  it('sends everything at SHUTDOWN whatever the minimum', async () => {
    const exporter = new ScriptedExporter();
    const { d, push } = setup(1_000, exporter);
    push('a');
    await d.flush({ force: true, deadlineMs: soon() });
    expect(exporter.batches).toEqual([['a']]);
    expect(d.stats.sentEvents).toBe(1);
  });

  it('counts re-queued events towards the minimum', async () => {
    const exporter = new ScriptedExporter([
      { status: 'retryable', reason: 'HTTP 503' },
    ]);
    const { d, push } = setup(3, exporter);
    push('a', 'b', 'c');
    await d.flush({ force: false, deadlineMs: soon() });
    expect(d.queuedEvents).toBe(3);
    expect(d.ready).toBe(true);
    await d.flush({ force: false, deadlineMs: soon() });
    expect(exporter.batches).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ]);
  });

  it('keeps order when a retried batch goes out with newer events', async () => {
    const exporter = new ScriptedExporter([
      { status: 'retryable', reason: 'ECONNREFUSED' },
    ]);
    const { d, push } = setup(1, exporter);
    push('a', 'b');
    await d.flush({ force: false, deadlineMs: soon() });
    push('c');
    await d.flush({ force: false, deadlineMs: soon() });
    expect(exporter.batches.at(-1)).toEqual(['a', 'b', 'c']);
    expect(d.stats.retryableFailures).toBe(1);
  });

  it('drops a refused batch, counts it, logs the status, and moves on', async () => {
    const exporter = new ScriptedExporter([
      { status: 'failure', reason: 'HTTP 400', httpStatus: 400 },
    ]);
    const { d, push, lines } = setup(1, exporter, 1);
    push('a', 'b');
    await d.flush({ force: false, deadlineMs: soon() });
    expect(exporter.batches).toEqual([['a'], ['b']]);
    expect(d.stats.rejectedEvents).toBe(1);
    expect(d.stats.sentEvents).toBe(1);
    expect(lines.join('')).toContain('HTTP 400');
  });

  it('splits the queue into requests under the byte bound', async () => {
    const exporter = new ScriptedExporter();
    const { d, push } = setup(1, exporter, 5);
    push('aa', 'bb', 'cc', 'dddddd');
    await d.flush({ force: true, deadlineMs: soon() });
    expect(exporter.batches).toEqual([['aa', 'bb'], ['cc'], ['dddddd']]);
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
    const { d, push } = setup(1, slow);
    push('a');
    const first = d.flush({ force: false, deadlineMs: soon() });
    while (batches.length === 0) await new Promise((r) => setTimeout(r, 1));
    push('b');
    const second = d.flush({ force: true, deadlineMs: soon() });
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
      minBatchSize: 1,
      maxRequestBytes: 1e9,
      log: createLogger('silent'),
    });
    d.setExporter(new Promise(() => undefined));
    d.enqueue({ value: 'a', events: 1, bytes: 1 });
    const started = Date.now();
    await d.flush({ force: true, deadlineMs: started + 100 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(d.queuedEvents).toBe(1);
  });
});
