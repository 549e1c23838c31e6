/**
 * MinBatchProcessor, our LogRecordProcessor and SpanProcessor, fed by the
 * real SDK LoggerProvider, exporting to an exporter whose answers the test
 * controls (the exporter contract: export(batch, resultCallback)). Batches
 * are serialized by a readable stand-in (JSON of the bodies) in the rule
 * tests, and by the official OTLP serializer, decoded independently, in
 * the last one.
 */
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  LoggerProvider,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import {
  EVENT_COUNT_KEY,
  setSpanEventCount,
} from '../../src/pipeline/event-count.js';
import { decodeOtlp } from '../../src/emulator/otlp-decode.js';
import { otlpSerializers } from '../../src/export/otlp.js';
import {
  MinBatchProcessor,
  type MinBatchProcessorOptions,
  type SerializedBatch,
} from '../../src/pipeline/min-batch-processor.js';
import { createLogger } from '../../src/util/log.js';

interface Call {
  batch: SerializedBatch;
  answer: (r: ExportResult) => void;
}

/** Bodies (logs) or names (spans) as JSON: readable in assertions. */
const readable = {
  logs: (records: ReadableLogRecord[]) =>
    Buffer.from(JSON.stringify(records.map((r) => r.body))),
  traces: (spans: ReadableSpan[]) =>
    Buffer.from(JSON.stringify(spans.map((s) => s.name))),
};

/** An exporter that holds each export until the test answers it. */
function heldExporter() {
  const calls: Call[] = [];
  return {
    calls,
    exporter: {
      export(batch: SerializedBatch, answer: (r: ExportResult) => void) {
        calls.push({ batch, answer });
      },
      shutdown: async () => undefined,
      forceFlush: async () => undefined,
    },
  };
}

const ok: ExportResult = { code: ExportResultCode.SUCCESS };
const transient: ExportResult = {
  code: ExportResultCode.FAILED,
  error: Object.assign(new Error('connect ECONNREFUSED'), {
    code: 'ECONNREFUSED',
  }),
};
const refused = (status: number): ExportResult => ({
  code: ExportResultCode.FAILED,
  // The shape of the exporters' OTLPExporterError: the HTTP status as `code`,
  // the response body as `data`.
  error: Object.assign(new Error('Bad Request'), {
    code: status,
    data: 'nope',
  }),
});

function setup(over: Partial<MinBatchProcessorOptions> = {}) {
  const logs = heldExporter();
  const traces = heldExporter();
  const lines: string[] = [];
  const processor = new MinBatchProcessor({
    exporters: { logs: logs.exporter, traces: traces.exporter },
    serializers: readable,
    minBatchSize: 1,
    maxQueueEvents: 1_000,
    maxQueueBytes: 1_048_576,
    maxExportBatchSize: 100,
    maxExportsInFlight: 2,
    log: createLogger('debug', (l) => lines.push(l)),
    ...over,
  });
  const logger = new LoggerProvider({ processors: [processor] }).getLogger('t');
  const emit = (body: string, events = 1) =>
    logger.emit({
      body,
      context: ROOT_CONTEXT.setValue(EVENT_COUNT_KEY, events),
    });
  const span = (name: string, events: number): ReadableSpan => {
    const s = { name, attributes: {} } as unknown as ReadableSpan;
    setSpanEventCount(s, events);
    processor.onEnd(s);
    return s;
  };
  const bodies = (c: Call | undefined): unknown[] =>
    c === undefined ? [] : JSON.parse(Buffer.from(c.batch.body).toString());
  return { processor, logs, traces, emit, span, bodies, lines };
}

const settle = () => new Promise((r) => setImmediate(r));

/** One record, one flush, the export answered with `result`. */
async function afterOneAnswer(result: ExportResult) {
  const { processor, logs, emit } = setup({ minBatchSize: 100 });
  emit('a');
  const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
  await settle();
  logs.calls[0]?.answer(result);
  await flushed;
  return processor;
}

describe('MinBatchProcessor', () => {
  it('counts Telemetry API events across both signals for DISPATCH_MIN_BATCH_SIZE', () => {
    const { processor, emit, span } = setup({ minBatchSize: 5 });
    emit('a');
    emit('platform line riding along', 0);
    expect(processor.due()).toBe(false);
    span('invocation', 3);
    expect(processor.waitingEvents).toBe(4);
    expect(processor.due()).toBe(false);
    emit('b');
    expect(processor.due()).toBe(true);
  });

  it('counts events held upstream (a span waiting for its report)', () => {
    let held = 0;
    const { processor, emit } = setup({
      minBatchSize: 3,
      heldEvents: () => held,
    });
    emit('a');
    held = 2;
    expect(processor.waitingEvents).toBe(3);
    expect(processor.due()).toBe(true);
  });

  it('exports nothing between flushes until a batch is full, then that batch at once', () => {
    const { logs, emit, bodies } = setup({ maxExportBatchSize: 3 });
    emit('1');
    emit('2');
    expect(logs.calls).toHaveLength(0);
    emit('3');
    expect(logs.calls).toHaveLength(1);
    expect(bodies(logs.calls[0])).toEqual(['1', '2', '3']);
  });

  it('sends no full batch early while the min-batch rule is not met, then as many as may be in flight', () => {
    const { logs, emit } = setup({ maxExportBatchSize: 2, minBatchSize: 10 });
    for (let i = 0; i < 9; i++) emit(String(i));
    expect(logs.calls).toHaveLength(0);
    emit('9');
    // Five full batches wait; two may be in flight.
    expect(logs.calls).toHaveLength(2);
  });

  it('between flushes, each answer lets the next full batch go, until less than a batch is left', async () => {
    const { processor, logs, emit, bodies } = setup({
      maxExportBatchSize: 2,
      maxExportsInFlight: 1,
    });
    for (const b of ['a', 'b', 'c', 'd', 'e']) emit(b);
    processor.seal();
    expect(logs.calls).toHaveLength(1);
    logs.calls[0]?.answer(ok);
    await settle();
    expect(logs.calls).toHaveLength(2);
    logs.calls[1]?.answer(ok);
    await settle();
    // One record left: it waits for the next flush.
    expect(logs.calls.map((c) => bodies(c))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(processor.waitingEvents).toBe(1);
  });

  it('flushes in batches, in order, at most maxExportsInFlight per signal at once', async () => {
    const { processor, logs, emit, bodies } = setup({
      maxExportBatchSize: 2,
      maxExportsInFlight: 2,
      minBatchSize: 100,
    });
    for (let i = 0; i < 7; i++) emit(String(i));
    const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    expect(logs.calls).toHaveLength(2);
    logs.calls[0]?.answer(ok);
    await settle();
    expect(logs.calls).toHaveLength(3);
    for (const c of logs.calls.slice(1)) c.answer(ok);
    await settle();
    logs.calls[3]?.answer(ok);
    await flushed;
    expect(logs.calls.flatMap((c) => bodies(c))).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
    expect(processor.stats.sentEvents).toBe(7);
    expect(processor.stats.sentRecords).toBe(7);
    expect(processor.waitingEvents).toBe(0);
  });

  it('a second forceFlush while one runs waits for it (the SDK batch processor returns at once)', async () => {
    const { processor, logs, emit } = setup({ minBatchSize: 100 });
    emit('a');
    let firstDone = false;
    let secondDone = false;
    const deadlineMs = Date.now() + 2_000;
    void processor.forceFlush({ deadlineMs }).then(() => {
      firstDone = true;
    });
    await settle();
    void processor.forceFlush({ deadlineMs }).then(() => {
      secondDone = true;
    });
    await settle();
    expect(secondDone).toBe(false);
    logs.calls[0]?.answer(ok);
    await settle();
    await settle();
    expect(firstDone).toBe(true);
    expect(secondDone).toBe(true);
  });

  it('returns by its deadline while an export hangs, and accounts for it when the answer comes', async () => {
    const { processor, logs, emit } = setup({ minBatchSize: 100 });
    emit('a', 2);
    const t0 = Date.now();
    await processor.forceFlush({ deadlineMs: t0 + 100 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(processor.inFlightEvents).toBe(2);
    expect(processor.stats.sentEvents).toBe(0);
    logs.calls[0]?.answer(ok);
    await settle();
    expect(processor.inFlightEvents).toBe(0);
    expect(processor.stats.sentEvents).toBe(2);
    expect(processor.waitingEvents).toBe(0);
  });

  it('puts a transiently failed batch back at the head, in order, and sends nothing more of that signal until the next flush', async () => {
    const { processor, logs, emit, bodies } = setup({
      maxExportBatchSize: 2,
      maxExportsInFlight: 1,
      minBatchSize: 100,
    });
    for (const b of ['1', '2', '3', '4']) emit(b);
    const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    logs.calls[0]?.answer(transient);
    await flushed;
    expect(logs.calls).toHaveLength(1);
    expect(processor.waitingEvents).toBe(4);
    expect(processor.stats.failedExports).toBe(1);
    emit('5');
    const again = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    expect(bodies(logs.calls[1])).toEqual(['1', '2']);
    logs.calls[1]?.answer(ok);
    await settle();
    logs.calls[2]?.answer(ok);
    await settle();
    logs.calls[3]?.answer(ok);
    await again;
    expect(logs.calls.slice(1).flatMap((c) => bodies(c))).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
    ]);
    expect(processor.stats.sentEvents).toBe(5);
  });

  it('drops a batch the receiver refused for good, counted in records and events, once', async () => {
    const { processor, logs, emit, lines } = setup({ minBatchSize: 100 });
    emit('a', 1);
    emit('b', 0);
    const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    logs.calls[0]?.answer(refused(400));
    await flushed;
    expect(processor.stats.rejectedEvents).toBe(1);
    expect(processor.stats.rejectedRecords).toBe(2);
    expect(processor.waitingEvents).toBe(0);
    await processor.forceFlush({ deadlineMs: Date.now() + 500 });
    expect(logs.calls).toHaveLength(1);
    expect(lines.join('\n')).toContain('"status":400');
    expect(lines.join('\n')).not.toContain('nope');
  });

  it('treats 429/502/503/504 after the exporter retried as transient', async () => {
    const processor = await afterOneAnswer(refused(503));
    expect(processor.stats.rejectedEvents).toBe(0);
    expect(processor.waitingEvents).toBe(1);
  });

  it('past its bounds drops the oldest queued first, across signals, counting records and events', () => {
    const { processor, span, emit } = setup({
      maxQueueEvents: 5,
      minBatchSize: 100,
    });
    span('oldest', 3);
    emit('a');
    emit('b');
    expect(processor.stats.overflowEvents).toBe(0);
    emit('c');
    expect(processor.stats.overflowEvents).toBe(3);
    expect(processor.stats.overflowRecords).toBe(1);
    expect(processor.waitingEvents).toBe(3);
  });

  it('counts records in flight against the bounds', async () => {
    const { processor, emit } = setup({
      maxQueueEvents: 3,
      minBatchSize: 100,
    });
    emit('a');
    emit('b');
    void processor.forceFlush({ deadlineMs: Date.now() + 100 });
    await settle();
    expect(processor.inFlightEvents).toBe(2);
    emit('c');
    emit('d');
    expect(processor.stats.overflowEvents).toBe(1);
    expect(processor.waitingEvents).toBe(3);
  });

  it('bounds bytes too', () => {
    const { processor, emit } = setup({
      maxQueueBytes: 1_000,
      minBatchSize: 100,
    });
    emit('x'.repeat(400));
    emit('y'.repeat(400));
    expect(processor.stats.overflowEvents).toBe(0);
    emit('z'.repeat(400));
    expect(processor.stats.overflowEvents).toBe(1);
  });

  it('shuts down once: flushes, then ignores every later record', async () => {
    const { processor, logs, emit } = setup({ minBatchSize: 100 });
    emit('before');
    const down = processor.shutdown({ deadlineMs: Date.now() + 2_000 });
    await settle();
    logs.calls[0]?.answer(ok);
    await down;
    await processor.shutdown({ deadlineMs: Date.now() + 2_000 });
    emit('after');
    expect(processor.waitingEvents).toBe(0);
    expect(logs.calls).toHaveLength(1);
    expect(processor.stats.sentEvents).toBe(1);
  });

  it('counts a signal without exporter as discarded', () => {
    const lines: string[] = [];
    const processor = new MinBatchProcessor({
      exporters: {},
      serializers: readable,
      minBatchSize: 1,
      maxQueueEvents: 10,
      maxQueueBytes: 10_000,
      maxExportBatchSize: 10,
      maxExportsInFlight: 1,
      log: createLogger('debug', (l) => lines.push(l)),
    });
    const s = { name: 's', attributes: {} } as unknown as ReadableSpan;
    setSpanEventCount(s, 4);
    processor.onEnd(s);
    expect(processor.stats.discardedEvents).toBe(4);
    expect(processor.waitingEvents).toBe(0);
  });

  it('seals the open batch at the end of a delivery, serialized by the official OTLP serializer', async () => {
    const logs = heldExporter();
    const processor = new MinBatchProcessor({
      exporters: { logs: logs.exporter },
      serializers: otlpSerializers('http/protobuf'),
      minBatchSize: 100,
      maxQueueEvents: 1_000,
      maxQueueBytes: 1_048_576,
      maxExportBatchSize: 512,
      maxExportsInFlight: 1,
      log: createLogger('silent'),
    });
    const logger = new LoggerProvider({ processors: [processor] }).getLogger(
      't'
    );
    logger.emit({ body: 'héllo', attributes: { 'faas.invocation.id': 'r1' } });
    logger.emit({ body: 'second' });
    const before = processor.waitingEvents;
    processor.seal();
    expect(processor.waitingEvents).toBe(before);
    const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    const call = logs.calls[0];
    expect(call?.batch.records).toBe(2);
    const decoded = decodeOtlp(
      '/v1/logs',
      'application/x-protobuf',
      Buffer.from(call?.batch.body ?? [])
    );
    expect(decoded.logs.map((l) => l.body)).toEqual(['héllo', 'second']);
    expect(decoded.logs[0]?.attributes['faas.invocation.id']).toBe('r1');
    call?.answer(ok);
    await flushed;
    expect(processor.stats.sentRecords).toBe(2);
  });

  it('a flush with a short deadline never waits behind one with a long deadline, and takes what arrived', async () => {
    const { processor, logs, emit, bodies } = setup({
      minBatchSize: 100,
      maxExportsInFlight: 1,
    });
    emit('a');
    void processor.forceFlush({ deadlineMs: Date.now() + 5_000 });
    await settle();
    emit('b');
    const t0 = Date.now();
    await processor.forceFlush({ deadlineMs: t0 + 150 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    // b was sealed by the short flush, and is queued: nothing is lost.
    expect(processor.waitingEvents).toBe(2);
    expect(logs.calls).toHaveLength(1);
    logs.calls[0]?.answer(ok);
    await settle();
    await settle();
    expect(bodies(logs.calls[1])).toEqual(['b']);
  });

  it('starts nothing once its deadline has passed', async () => {
    const { processor, logs, emit } = setup({ minBatchSize: 100 });
    emit('a');
    await processor.forceFlush({ deadlineMs: Date.now() - 1 });
    expect(logs.calls).toHaveLength(0);
    expect(processor.waitingEvents).toBe(1);
  });

  it('puts batches that failed in flight back in their order, whatever order they failed in', async () => {
    const { processor, logs, emit, bodies } = setup({
      maxExportBatchSize: 2,
      maxExportsInFlight: 3,
      minBatchSize: 100,
    });
    for (const b of ['a', 'b', 'c', 'd', 'e', 'f']) emit(b);
    const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    expect(logs.calls).toHaveLength(3);
    for (const c of logs.calls.slice(0, 3)) c.answer(transient);
    await flushed;
    const again = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    expect(logs.calls.slice(3).map((c) => bodies(c))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    for (const c of logs.calls.slice(3)) c.answer(ok);
    await again;
    expect(processor.stats.sentEvents).toBe(6);
  });

  it('shuts the exporters down once when asked twice at once, and counts later records as discarded', async () => {
    const { processor, logs, emit } = setup({ minBatchSize: 100 });
    let shutdowns = 0;
    logs.exporter.shutdown = async () => {
      shutdowns++;
    };
    await Promise.all([
      processor.shutdown({ deadlineMs: Date.now() + 500 }),
      processor.shutdown({ deadlineMs: Date.now() + 500 }),
    ]);
    expect(shutdowns).toBe(1);
    emit('late', 2);
    expect(processor.stats.discardedEvents).toBe(2);
    expect(processor.waitingEvents).toBe(0);
  });

  it.each([
    [
      'an answer larger than the transport reads (a 2xx sent again would duplicate)',
      new Error(
        'OTLP export response body exceeded size limit of 4194304 bytes'
      ),
    ],
    [
      'a TLS failure',
      Object.assign(new Error('unable to verify the first certificate'), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      }),
    ],
  ])('treats %s as final, not as a retry', async (_name, error) => {
    const processor = await afterOneAnswer({
      code: ExportResultCode.FAILED,
      error,
    });
    expect(processor.stats.rejectedEvents).toBe(1);
    expect(processor.waitingEvents).toBe(0);
  });

  it.each([
    ['the transport timeout', new Error('Request timed out')],
    [
      'the last retry of a retryable status',
      new Error('Export failed with retryable status'),
    ],
  ])('treats %s as transient', async (_name, error) => {
    const processor = await afterOneAnswer({
      code: ExportResultCode.FAILED,
      error,
    });
    expect(processor.stats.rejectedEvents).toBe(0);
    expect(processor.waitingEvents).toBe(1);
  });

  it('after a transient failure, full batches leave again between flushes once retryAfterMs has passed', async () => {
    let now = 1_000_000;
    const { processor, logs, emit } = setup({
      maxExportBatchSize: 2,
      maxExportsInFlight: 1,
      retryAfterMs: 1_000,
      now: () => now,
    });
    emit('a');
    emit('b');
    expect(logs.calls).toHaveLength(1);
    logs.calls[0]?.answer(transient);
    await settle();
    // Stalled: a new full batch waits (no flush has come).
    emit('c');
    emit('d');
    expect(logs.calls).toHaveLength(1);
    now += 1_000;
    emit('e');
    emit('f');
    expect(logs.calls).toHaveLength(2);
    expect(processor.waitingEvents).toBe(6);
  });

  it('keeps and sends a batch larger than the whole byte bound (a tiny MAX_QUEUE_BYTES)', async () => {
    const { processor, logs, emit } = setup({
      maxQueueBytes: 100,
      minBatchSize: 100,
    });
    emit('x'.repeat(300));
    expect(processor.stats.overflowEvents).toBe(0);
    emit('y'.repeat(300));
    // The older one goes, the newest stays.
    expect(processor.stats.overflowEvents).toBe(1);
    const flushed = processor.forceFlush({ deadlineMs: Date.now() + 2_000 });
    await settle();
    logs.calls[0]?.answer(ok);
    await flushed;
    expect(processor.stats.sentEvents).toBe(1);
  });

  it('measures the slowest answered export (what SHUTDOWN keeps for its final one); one that fails without an answer is not counted', async () => {
    let now = 1_000_000;
    const { processor, logs, emit } = setup({
      maxExportBatchSize: 1,
      maxExportsInFlight: 1,
      now: () => now,
    });
    expect(processor.slowestExportMs).toBe(0);
    emit('a');
    now += 120;
    logs.calls[0]?.answer(ok);
    await settle();
    expect(processor.slowestExportMs).toBe(120);
    emit('b');
    now += 40;
    logs.calls[1]?.answer(refused(400));
    await settle();
    expect(processor.slowestExportMs).toBe(120);
    emit('c');
    now += 900;
    logs.calls[2]?.answer(transient);
    await settle();
    expect(processor.slowestExportMs).toBe(120);
    const flushed = processor.forceFlush({ deadlineMs: now + 2_000 });
    await settle();
    now += 300;
    logs.calls[3]?.answer(refused(400));
    await flushed;
    expect(processor.slowestExportMs).toBe(300);
  });
});
