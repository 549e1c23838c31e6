/**
 * Every remaining setting checked for its effect under the emulator, one
 * row each (the others have their own files: lifecycle, otlp, faults,
 * policies, config).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LambdaEmulator } from '../../src/emulator/emulator.js';
import type { Sink } from '../../src/emulator/sink.js';
import { freePort, harnesses, ownLogs } from '../helpers/layer.js';

const start = harnesses();
const P = 'LAMBDA_TELEMETRY_OTEL_';
const lines = [
  { atMs: 1, level: 'INFO', message: 'x'.repeat(300) },
  { atMs: 2, level: 'WARN', message: 'two' },
];

async function run(emu: LambdaEmulator, invocations = 2): Promise<void> {
  await emu.launch();
  for (let i = 0; i < invocations; i++)
    await emu.invoke({ handlerMs: 5, lines });
  await emu.shutdown();
}
const fnLogs = (sink: Sink) =>
  sink
    .otlp()
    .logs.filter((l) => l.attributes['aws.lambda.event.type'] === 'function');

describe('each setting, for its effect', () => {
  it('LISTENER_PORT: the subscription names that port', async () => {
    const port = await freePort();
    const { emu } = await start({ [`${P}LISTENER_PORT`]: String(port) });
    await run(emu, 1);
    expect(emu.deliveries[0]?.subscription.uri).toBe(
      `http://sandbox.localdomain:${port}/`
    );
  });

  it('TYPES and BUFFER_*: what is subscribed, with which buffering', async () => {
    const { emu } = await start({
      [`${P}TYPES`]: 'platform,function',
      [`${P}BUFFER_MAX_ITEMS`]: '5000',
      [`${P}BUFFER_MAX_BYTES`]: '524288',
      [`${P}BUFFER_TIMEOUT_MS`]: '60',
    });
    await run(emu, 1);
    const sub = emu.deliveries[0]?.subscription;
    expect(sub?.types).toEqual(['platform', 'function']);
    expect(sub?.buffering).toEqual({
      maxItems: 5_000,
      maxBytes: 524_288,
      timeoutMs: 60,
    });
    expect(sub?.schemaVersion).toBe('2025-01-29');
  });

  it('LOG_LEVEL=warn: no info lines of our own', async () => {
    const { emu } = await start({ [`${P}LOG_LEVEL`]: 'warn' });
    await run(emu, 1);
    expect(ownLogs(emu).filter((l) => l.level === 'info')).toEqual([]);
    const debug = await start({ [`${P}LOG_LEVEL`]: 'debug' });
    await run(debug.emu, 1);
    expect(ownLogs(debug.emu).some((l) => l.level === 'debug')).toBe(true);
  });

  it('MAX_LOG_CHARS: longer bodies arrive cut and marked', async () => {
    const { emu, sink } = await start({
      DISPATCH_FORMAT: 'otlp',
      [`${P}MAX_LOG_CHARS`]: '100',
    });
    await run(emu, 1);
    const long = fnLogs(sink).find((l) => String(l.body).startsWith('xxx'));
    expect(long?.body).toBe('x'.repeat(100));
    expect(long?.attributes['aws.lambda.log.truncated']).toBe(true);
    expect(long?.attributes['aws.lambda.log.original_length']).toBe(300);
  });

  it('MAX_EXPORT_BATCH_SIZE: records per request', async () => {
    const { emu, sink } = await start({
      DISPATCH_FORMAT: 'otlp',
      [`${P}MAX_EXPORT_BATCH_SIZE`]: '3',
    });
    await run(emu, 3);
    expect(sink.requests.length).toBeGreaterThan(2);
    const { decodeOtlp } = await import('../../src/emulator/otlp-decode.js');
    for (const r of sink.requests) {
      const d = decodeOtlp(r.path, String(r.headers['content-type']), r.body);
      expect(d.logs.length + d.spans.length).toBeLessThanOrEqual(3);
    }
  });

  it('MAX_REQUEST_BYTES: request bodies stay under it (raw)', async () => {
    const { emu, sink } = await start({ [`${P}MAX_REQUEST_BYTES`]: '2048' });
    await run(emu, 3);
    expect(sink.requests.length).toBeGreaterThan(3);
    for (const r of sink.requests)
      expect(r.body.length).toBeLessThanOrEqual(2048);
  });

  it('MAX_EXPORT_BATCH_SIZE: a delivery larger than a batch leaves in full batches, all of it (OTLP)', async () => {
    const { emu, sink } = await start({
      DISPATCH_FORMAT: 'otlp',
      [`${P}MAX_EXPORT_BATCH_SIZE`]: '7',
    });
    const many = Array.from({ length: 60 }, (_, i) => ({
      atMs: 1,
      level: 'INFO',
      message: `${i} ${'y'.repeat(300)}`,
    }));
    await emu.launch();
    for (let i = 0; i < 2; i++) await emu.invoke({ handlerMs: 5, lines: many });
    await emu.shutdown();
    const { decodeOtlp } = await import('../../src/emulator/otlp-decode.js');
    for (const r of sink.requests) {
      const d = decodeOtlp(r.path, String(r.headers['content-type']), r.body);
      expect(d.logs.length + d.spans.length).toBeLessThanOrEqual(7);
    }
    expect(sink.requests.length).toBeGreaterThan(120 / 7);
    expect(fnLogs(sink)).toHaveLength(120);
  });

  it('MAX_QUEUE_EVENTS: past it, the oldest are dropped and counted', async () => {
    const port = await freePort();
    const { emu } = await start({
      DISPATCH_POST_URI: `http://127.0.0.1:${port}`,
      [`${P}MAX_QUEUE_EVENTS`]: '5',
      [`${P}RETRY_BASE_MS`]: '5',
    });
    await run(emu, 2);
    const s = ownLogs(emu).find((l) => l.msg === 'shutdown') as {
      unsent: number;
      received: number;
      overflowDropped: number;
    };
    expect(s.unsent).toBe(5);
    expect(s.overflowDropped).toBe(s.received - 5);
  });

  it('MAX_QUEUE_EVENTS: a small bound holds (OTLP, records queued in chunks)', async () => {
    const port = await freePort();
    const { emu } = await start({
      DISPATCH_FORMAT: 'otlp',
      DISPATCH_POST_URI: `http://127.0.0.1:${port}`,
      [`${P}MAX_QUEUE_EVENTS`]: '8',
      [`${P}RETRY_BASE_MS`]: '5',
    });
    await run(emu, 3);
    const s = ownLogs(emu).find((l) => l.msg === 'shutdown') as {
      unsent: number;
      received: number;
      overflowDropped: number;
    };
    // Chunks of at most 8 / 4 = 2 records: what is kept is the newest 7 or 8.
    expect(s.unsent).toBeGreaterThanOrEqual(6);
    expect(s.unsent).toBeLessThanOrEqual(8);
    expect(s.overflowDropped + s.unsent).toBe(s.received);
  });

  it('SHUTDOWN_WAIT_MS: the last report, emitted after SHUTDOWN, is waited for', async () => {
    const { emu, sink } = await start({ [`${P}SHUTDOWN_WAIT_MS`]: '1000' });
    await emu.launch();
    // A timed-out invocation: its report is emitted only after SHUTDOWN.
    const inv = await emu.invoke({ status: 'timeout', timeoutMs: 100, lines });
    const reports = sink
      .rawEvents()
      .filter(
        (e) =>
          (e as { type: string; record: { requestId?: string } }).type ===
          'platform.report'
      )
      .map((e) => (e as { record: { requestId?: string } }).record.requestId);
    expect(reports).toContain(inv.requestId);
  });

  it('SHUTDOWN_WAIT_MS, when set, caps the wait: a report 600 ms late is not waited for', async () => {
    const { emu, sink } = await start({ [`${P}SHUTDOWN_WAIT_MS`]: '100' });
    await emu.launch();
    const inv = await emu.invoke({
      handlerMs: 5,
      lines,
      reportAfterShutdownMs: 600,
    });
    const launch = await emu.shutdown();
    expect(launch?.exitCode).toBe(0);
    // Gone before the report was emitted (SHUTDOWN comes 2,000 ms before
    // its deadline), with the invocation's lines sent.
    const shutdownAt = (launch?.shutdownDeadlineMs ?? 0) - 2_000;
    expect(launch?.exitedAt ?? 0).toBeLessThan(shutdownAt + 600);
    const events = sink.rawEvents() as {
      type: string;
      record: { requestId?: string };
    }[];
    expect(
      events.some(
        (e) =>
          e.type === 'platform.report' && e.record.requestId === inv.requestId
      )
    ).toBe(false);
    expect(events.filter((e) => e.type === 'function')).toHaveLength(2);
  });

  it('EXTENSION_MIN_SEVERITY and INCLUDE_EVENTS: filtered on receipt', async () => {
    const { emu, sink } = await start(
      {
        DISPATCH_FORMAT: 'otlp',
        [`${P}EXTENSION_MIN_SEVERITY`]: 'ERROR',
        [`${P}INCLUDE_EVENTS`]: 'extension,platform.report',
      },
      { captureExtensionOutput: true }
    );
    await run(emu, 2);
    const types = new Set(
      sink.otlp().logs.map((l) => l.attributes['aws.lambda.event.type'])
    );
    // Our own lines are info/warn: below ERROR, so none; only reports pass.
    expect(types).toEqual(new Set(['platform.report']));
  });

  it('MAX_HEAP_MB: the launcher passes the V8 heap cap', async () => {
    const { emu } = await start({ [`${P}MAX_HEAP_MB`]: '96' });
    const launch = await emu.launch();
    const cmdline = readFileSync(`/proc/${launch.pid}/cmdline`, 'utf8').split(
      '\0'
    );
    expect(cmdline).toContain('--max-old-space-size=96');
    await emu.shutdown();
  });

  it('RETRY_BASE_MS / RETRY_MAX_MS: the wait between tries', async () => {
    const { emu, sink } = await start({
      [`${P}RETRY_BASE_MS`]: '300',
      [`${P}RETRY_MAX_MS`]: '300',
    });
    sink.reply = ({ index }) =>
      index === 0 ? { status: 503 } : { status: 200 };
    await run(emu, 2);
    const [first, second] = sink.requests;
    // 300 ms with -20 % jitter at the least.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(230);
  });
});
