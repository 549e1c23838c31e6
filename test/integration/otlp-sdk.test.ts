/**
 * The OTLP path on the OpenTelemetry JS SDK (LoggerProvider, our
 * MinBatchProcessor, the official OTLP exporters), run as the built layer
 * under the emulator over loopback: what a user relies on when the function
 * has its own OTEL_* settings, when the receiver answers 503 / 400 or is
 * down, and DISPATCH_MIN_BATCH_SIZE across both signals.
 */
import { describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import type {
  LambdaEmulator,
  LaunchRecord,
  LogLine,
} from '../../src/emulator/emulator.js';
import { decodeOtlp } from '../../src/emulator/otlp-decode.js';
import type { Sink } from '../../src/emulator/sink.js';
import { freePort, harnesses, ownLogs } from '../helpers/layer.js';
import { IN_SPANS } from '../helpers/events.js';

const start = harnesses();

const OTLP = { DISPATCH_FORMAT: 'otlp' };

/** Five function lines: with start, runtimeDone and report, 8 events. */
const fiveLines: LogLine[] = [
  { atMs: 1, message: 'one' },
  { atMs: 2, level: 'WARN', message: 'two' },
  { atMs: 3, level: 'ERROR', message: 'three' },
  { atMs: 4, message: 'four' },
  { atMs: 5, message: 'five' },
];

/** The extension's `shutdown` line (src/lifecycle.ts `_shutdown`). */
interface ShutdownLine {
  reason: string;
  received: number;
  filtered: number;
  sent: number;
  unsent: number;
  lostInFlight: number;
  overflowDropped: number;
  rejected: number;
  discarded: number;
  overflowBeforeLoad: number;
  lambdaDropped: number;
  failedExports: number;
  msLeft: number;
}

function shutdownLine(emu: LambdaEmulator): ShutdownLine {
  const lines = ownLogs(emu).filter((l) => l.msg === 'shutdown');
  expect(lines).toHaveLength(1);
  return lines[0] as unknown as ShutdownLine;
}

/**
 * What the shutdown line promises: every event received and neither
 * filtered nor discarded is sent, still waiting (unsent, in flight
 * included), dropped on overflow (before or after the format loaded), or
 * refused by the receiver.
 */
function unaccounted(s: ShutdownLine): number {
  return (
    s.received -
    s.filtered -
    s.discarded -
    (s.sent + s.unsent + s.overflowDropped + s.overflowBeforeLoad + s.rejected)
  );
}

/** A clean end: SHUTDOWN answered, exit 0 before the deadline. */
function expectCleanExit(last: LaunchRecord | undefined): void {
  expect(last?.exitCode).toBe(0);
  expect(last?.killed).toBeUndefined();
  expect(last?.exitedBeforeDeadline).toBe(true);
}

const invocationSpans = (sink: Sink, requestId: string) =>
  sink
    .otlp()
    .spans.filter(
      (s) => s.kind === 2 && s.attributes['faas.invocation.id'] === requestId
    );

describe('the function’s own OTEL_* settings', () => {
  it('do not reach DISPATCH_POST_URI: only our headers, our compression and timeout win, and no secret in our output', async () => {
    const secret = 'function-secret-token';
    const { emu, sink } = await start({
      ...OTLP,
      LAMBDA_TELEMETRY_OTEL_HEADERS: 'x-ours=1',
      // Ours say otherwise than the function's gzip and 1 ms (the harness
      // sets EXPORT_TIMEOUT_MS=1000); without ours, README documents the
      // function's OTEL_EXPORTER_OTLP_COMPRESSION / _TIMEOUT as fallbacks.
      LAMBDA_TELEMETRY_OTEL_COMPRESSION: 'none',
      LAMBDA_TELEMETRY_OTEL_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${secret},x-vendor-key=abc`,
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs-key=def',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-traces-key=ghi',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1',
    });
    // The first request fails transiently: the error path logs too, and
    // must not print the secret either.
    sink.reply = ({ index }) => ({ status: index === 0 ? 503 : 200 });
    await emu.launch();
    for (let i = 0; i < 3; i++)
      await emu.invoke({ handlerMs: 10, lines: fiveLines });
    expectCleanExit(await emu.shutdown());

    const paths = new Set(sink.requests.map((r) => r.path));
    // Metrics too, under the same header rules.
    expect(paths).toEqual(new Set(['/v1/logs', '/v1/traces', '/v1/metrics']));
    for (const r of sink.requests) {
      expect(r.headers['x-ours']).toBe('1');
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['x-vendor-key']).toBeUndefined();
      expect(r.headers['x-logs-key']).toBeUndefined();
      expect(r.headers['x-traces-key']).toBeUndefined();
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.body.includes(Buffer.from(secret))).toBe(false);
    }
    // Every line arrived, once: the function's 1 ms timeout did not apply.
    const check = checkOtlp(emu, sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(15);
    expect(check.duplicateLines).toBe(0);
    // Nothing we wrote carries the secret (debug level: everything we say).
    expect(emu.output.length).toBeGreaterThan(0);
    const output = emu.output.join('\n');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('Bearer');
    expect(JSON.stringify(ownLogs(emu))).not.toContain(secret);
  });
});

describe('a receiver that answers 503, then 200', () => {
  it('every line arrives exactly once by SHUTDOWN, and sent = received - filtered', async () => {
    // Retry-After: 0 makes the exporter retry at once (parseRetryAfterToMills
    // gives -1, a timer of 0). An export that meets five 503s still succeeds
    // at its sixth try, and at most 8 run at once (4 per signal): while the
    // 503s last, no export can succeed, so the 41st 503 meets an export on
    // its sixth try, whose batch goes back to the queue for the next flush.
    // (Twelve, as before, could be spread over three exports running at once
    // and exhaust none.)
    const failures = 41;
    const { emu, sink } = await start(OTLP);
    sink.reply = ({ index }) =>
      index < failures
        ? { status: 503, headers: { 'retry-after': '0' } }
        : { status: 200 };
    await emu.launch();
    for (let i = 0; i < 4; i++)
      await emu.invoke({ handlerMs: 10, lines: fiveLines });
    expectCleanExit(await emu.shutdown());

    expect(sink.requests.filter((r) => r.status === 503)).toHaveLength(
      failures
    );
    const check = checkOtlp(emu, sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(20);
    // At-least-once, but no answer was lost: no duplicate at all.
    expect(check.duplicateLines).toBe(0);
    expect(check.invocationSpans).toBe(4);
    const s = shutdownLine(emu);
    // The batch-back-in-the-queue path was taken (not only the exporter's).
    expect(s.failedExports).toBeGreaterThan(0);
    expect(s.rejected).toBe(0);
    expect(s.unsent).toBe(0);
    expect(s.sent).toBe(s.received - s.filtered);
    expect(unaccounted(s)).toBe(0);
  });

  it('FLUSH=end with a receiver that always answers 503: /next is held at most INVOKE_EXPORT_WAIT_MS, and the extension leaves before the deadline', async () => {
    const waitMs = 150;
    const { emu, sink } = await start({
      ...OTLP,
      LAMBDA_TELEMETRY_OTEL_FLUSH: 'end',
      LAMBDA_TELEMETRY_OTEL_INVOKE_EXPORT_WAIT_MS: String(waitMs),
    });
    sink.reply = () => ({ status: 503 });
    await emu.launch();
    for (let i = 0; i < 4; i++)
      await emu.invoke({ handlerMs: 20, lines: fiveLines });
    const last = await emu.shutdown();
    expectCleanExit(last);

    expect(sink.requests.length).toBeGreaterThan(0);
    expect(sink.requests.every((r) => r.status === 503)).toBe(true);
    // The wait for runtimeDone (the 25 ms buffering) + the export wait +
    // slack: a 503 does not cost the exporter's retries (seconds).
    const bound = waitMs + 25 + 150;
    expect(emu.invocations).toHaveLength(4);
    expect(emu.invocations.every((i) => !i.extensionTimedOut)).toBe(true);
    // Measured from the extension's /next calls, one per event (the first
    // ends init): `extensionOverheadMs` takes the previous invocation's
    // /next when it falls in the millisecond this one starts, and reads 0.
    const nextCalls = emu.extension?.nextCalls ?? [];
    expect(nextCalls).toHaveLength(emu.invocations.length + 1);
    emu.invocations.forEach((inv, i) => {
      const overhead = (nextCalls[i + 1] as number) - inv.runtimeDoneAt;
      // FLUSH=end: /next only after this invocation's runtimeDone came.
      expect(overhead).toBeGreaterThan(0);
      expect(overhead).toBeLessThanOrEqual(bound);
      expect(inv.extensionOverheadMs ?? 0).toBeLessThanOrEqual(bound);
    });
    const s = shutdownLine(emu);
    expect(s.sent).toBe(0);
    expect(s.rejected).toBe(0);
    expect(unaccounted(s)).toBe(0);
  });
});

describe('a receiver that refuses logs with 400', () => {
  it('counts the refused events as rejected, and spans still arrive, one per invocation', async () => {
    const { emu, sink } = await start(OTLP);
    sink.reply = ({ path }) => ({ status: path === '/v1/logs' ? 400 : 200 });
    await emu.launch();
    const invocations = 3;
    for (let i = 0; i < invocations; i++)
      await emu.invoke({ handlerMs: 10, lines: fiveLines });
    expectCleanExit(await emu.shutdown());

    const logRequests = sink.requests.filter((r) => r.path === '/v1/logs');
    expect(logRequests.length).toBeGreaterThan(0);
    expect(logRequests.every((r) => r.status === 400)).toBe(true);
    // No log record was accepted, so no drop report can have arrived.
    expect(sink.otlp().logs).toEqual([]);
    // Spans: one invocation span each.
    for (const inv of emu.invocations)
      expect(invocationSpans(sink, inv.requestId)).toHaveLength(1);

    const s = shutdownLine(emu);
    expect(s.rejected).toBeGreaterThan(0);
    // Exactly the events inside the refused requests (a record of an event
    // already in a span, or a drop report, stands for none).
    const refused = logRequests
      .map((r) => decodeOtlp(r.path, String(r.headers['content-type']), r.body))
      .flatMap((d) => d.logs)
      .filter(
        (l) => !IN_SPANS.has(String(l.attributes['aws.lambda.event.type']))
      );
    expect(s.rejected).toBe(refused.length);
    // Every function line is among them.
    expect(
      refused.filter(
        (l) => l.attributes['aws.lambda.event.type'] === 'function'
      )
    ).toHaveLength(invocations * fiveLines.length);
    // What the spans stand for was sent: 3 events per invocation / init span.
    const spans = sink
      .otlp()
      .spans.filter((sp) => sp.kind === 2 || sp.name === 'init');
    expect(s.sent).toBe(spans.length * 3);
    expect(s.unsent).toBe(0);
    expect(unaccounted(s)).toBe(0);
  });
});

describe('a receiver that is down for the whole life', () => {
  it('exits 0 before the SHUTDOWN deadline, and the shutdown line accounts for every event', async () => {
    const port = await freePort();
    const { emu } = await start({
      ...OTLP,
      DISPATCH_POST_URI: `http://127.0.0.1:${port}`,
    });
    await emu.launch();
    for (let i = 0; i < 3; i++)
      await emu.invoke({ handlerMs: 10, lines: fiveLines });
    expectCleanExit(await emu.shutdown());
    expect(emu.invocations.every((i) => !i.extensionTimedOut)).toBe(true);

    const s = shutdownLine(emu);
    expect(s.received).toBeGreaterThan(0);
    expect(s.sent).toBe(0);
    expect(s.rejected).toBe(0);
    expect(s.unsent).toBeGreaterThan(0);
    expect(s.lostInFlight).toBeLessThanOrEqual(s.unsent);
    expect(unaccounted(s)).toBe(0);
  });
});

describe('DISPATCH_MIN_BATCH_SIZE across both signals', () => {
  it('20 with 8 events per invocation: nothing leaves at the 2nd and 3rd INVOKE, logs and spans leave together at the 4th', async () => {
    const { emu, sink } = await start({
      ...OTLP,
      DISPATCH_MIN_BATCH_SIZE: '20',
      // Only the invocations' own events: start, 5 lines, runtimeDone, report.
      LAMBDA_TELEMETRY_OTEL_EXCLUDE_EVENTS:
        'platform.init*,platform.extension,platform.telemetrySubscription',
    });
    await emu.launch();
    // Handlers well past the 25 ms buffering timeout: an invocation's lines
    // reach the extension while it runs; its runtimeDone and report come
    // with the next thaw (README "LAMBDA_TELEMETRY_OTEL_FLUSH").
    const handlerMs = 100;
    const before: number[] = [];
    const invs = [];
    for (let i = 0; i < 5; i++) {
      before.push(sink.requests.length);
      invs.push(await emu.invoke({ handlerMs, lines: fiveLines }));
      if (i === 3) {
        // The 4th INVOKE's export was waited for at most
        // INVOKE_EXPORT_WAIT_MS: give it a bounded moment more.
        const both = await sink.waitFor(
          () =>
            sink.requests.some((r) => r.path === '/v1/logs') &&
            sink.requests.some((r) => r.path === '/v1/traces'),
          3_000
        );
        expect(both).toBe(true);
      }
    }
    const beforeShutdown = sink.requests.length;
    expectCleanExit(await emu.shutdown());

    // INVOKE 1..4 found nothing sent before them (0, 6+, 14+, 22+ events
    // waiting at INVOKEs 1 to 4); the 5th found what the 4th sent.
    expect(before.slice(0, 4)).toEqual([0, 0, 0, 0]);
    const inv4 = invs[3] as (typeof invs)[number];
    const inv5 = invs[4] as (typeof invs)[number];
    expect(sink.requests.filter((r) => r.at < inv4.startedAt)).toEqual([]);
    const atFourth = sink.requests.filter(
      (r) => r.at >= inv4.startedAt && r.at < inv5.startedAt
    );
    // Both signals left at the 4th INVOKE, and the metrics with that
    // flush. (That flush also takes what arrives while it runs, in further
    // requests: the first export of a process loads the exporters' code
    // and takes tens of ms.)
    expect(new Set(atFourth.map((r) => r.path))).toEqual(
      new Set(['/v1/logs', '/v1/traces', '/v1/metrics'])
    );
    expect(before[4]).toBe(atFourth.length);
    // The 5th INVOKE found 8 or so: nothing more left before SHUTDOWN.
    expect(beforeShutdown).toBe(atFourth.length);
    // What left at the 4th: every line of invocations 1 to 3, and the
    // spans of invocations 1 and 2 (their reports had come).
    const decoded = atFourth.map((r) =>
      decodeOtlp(r.path, String(r.headers['content-type']), r.body)
    );
    const fnLines = decoded
      .flatMap((d) => d.logs)
      .filter((l) => l.attributes['aws.lambda.event.type'] === 'function');
    for (const inv of invs.slice(0, 3)) {
      expect(
        fnLines.filter(
          (l) => l.attributes['faas.invocation.id'] === inv.requestId
        )
      ).toHaveLength(fiveLines.length);
    }
    const spanIds = new Set(
      decoded
        .flatMap((d) => d.spans)
        .filter((sp) => sp.kind === 2)
        .map((sp) => String(sp.attributes['faas.invocation.id']))
    );
    for (const inv of invs.slice(0, 2))
      expect(spanIds.has(inv.requestId)).toBe(true);
    // And SHUTDOWN sent the rest: all of it, once. (The init events were
    // excluded, so there is no init span to find.)
    const check = checkOtlp(emu, sink.otlp());
    expect(
      check.problems.filter((p) => !p.startsWith('environment 1: no init'))
    ).toEqual([]);
    expect(check.duplicateLines).toBe(0);
    expect(check.invocationSpans).toBe(5);
    const s = shutdownLine(emu);
    expect(s.sent).toBe(s.received - s.filtered);
  });
});
