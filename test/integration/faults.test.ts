/**
 * The fault matrix: the built layer under the emulator, a receiver that
 * misbehaves in one way per row, and a comparison of what the emulator sent
 * with what arrived. Every event is either represented at the receiver or
 * counted in the reported drops; duplicates only where an answer was lost.
 */
import { describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import type { LambdaEmulator } from '../../src/emulator/emulator.js';
import { decodeOtlp } from '../../src/emulator/otlp-decode.js';
import { checkRaw } from '../../src/emulator/scenario.js';
import { Sink } from '../../src/emulator/sink.js';
import { freePort, harnesses, ownLogs } from '../helpers/layer.js';
import { IN_SPANS } from '../helpers/events.js';

const start = harnesses();

const OTLP = {
  DISPATCH_FORMAT: 'otlp',
  LAMBDA_TELEMETRY_OTEL_RETRY_BASE_MS: '20',
  LAMBDA_TELEMETRY_OTEL_RETRY_MAX_MS: '200',
};
const lines = [
  { atMs: 1, message: 'one' },
  { atMs: 2, level: 'WARN', message: 'two' },
  { atMs: 3, level: 'ERROR', message: 'three' },
];

async function run(emu: LambdaEmulator, invocations: number): Promise<void> {
  await emu.launch();
  for (let i = 0; i < invocations; i++)
    await emu.invoke({ handlerMs: 5, lines });
  const last = await emu.shutdown();
  expect(last?.exitCode).toBe(0);
  expect(last?.exitedBeforeDeadline).toBe(true);
  expect(emu.invocations.every((i) => !i.extensionTimedOut)).toBe(true);
}

interface Summary {
  received: number;
  sent: number;
  unsent: number;
  overflowDropped: number;
  rejected: number;
}

function summary(emu: LambdaEmulator): Summary {
  return ownLogs(emu).find((l) => l.msg === 'shutdown') as unknown as Summary;
}

describe('recoverable rows: zero lost', () => {
  it.each([
    ['503 with Retry-After', { status: 503, headers: { 'retry-after': '0' } }],
    ['429', { status: 429 }],
    ['502', { status: 502 }],
  ])('%s for the first requests', async (_name, failure) => {
    const { emu, sink } = await start(OTLP);
    sink.reply = ({ index }) => (index < 3 ? failure : { status: 200 });
    await run(emu, 4);
    expect(
      sink.requests.slice(0, 3).every((r) => r.status === failure.status)
    ).toBe(true);
    const check = checkOtlp(emu, sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.duplicateLines).toBe(0);
    expect(summary(emu).rejected).toBe(0);
  });

  it('receiver down (connection refused) for three invocations, then back', async () => {
    const port = await freePort();
    const { emu } = await start({
      ...OTLP,
      DISPATCH_POST_URI: `http://127.0.0.1:${port}`,
    });
    await emu.launch();
    for (let i = 0; i < 3; i++) await emu.invoke({ handlerMs: 5, lines });
    const sink = new Sink();
    await sink.start(port);
    try {
      for (let i = 0; i < 2; i++) await emu.invoke({ handlerMs: 5, lines });
      const last = await emu.shutdown();
      expect(last?.exitedBeforeDeadline).toBe(true);
      const check = checkOtlp(emu, sink.otlp());
      expect(check.problems).toEqual([]);
      expect(check.duplicateLines).toBe(0);
    } finally {
      await sink.close();
    }
  });

  it('a receiver that never answers: timed out, sent again, duplicates only from the lost answer', async () => {
    const { emu, sink } = await start({
      ...OTLP,
      LAMBDA_TELEMETRY_OTEL_EXPORT_TIMEOUT_MS: '300',
    });
    sink.reply = ({ index }) =>
      index === 0 ? { status: 200, hang: true } : { status: 200 };
    await run(emu, 3);
    expect(sink.requests[0]?.status).toBe(0);
    const accepted = checkOtlp(emu, sink.otlp());
    expect(accepted.problems).toEqual([]);
    // Counting the unanswered request too, the only duplicates are its lines.
    const everything = checkOtlp(emu, sink.otlp(true));
    const hungLines = sink.otlp(true).logs.length - sink.otlp().logs.length;
    expect(everything.duplicateLines).toBeLessThanOrEqual(hungLines);
  });

  it('frozen (SIGSTOP) while an export is in flight, thawed later', async () => {
    const { emu, sink } = await start(OTLP, { freezeProcess: false });
    let stopped = false;
    sink.reply = ({ index }) => {
      if (index === 0) {
        // The request has arrived: freeze the extension mid-export.
        const pid = emu.launches.at(-1)?.pid as number;
        process.kill(pid, 'SIGSTOP');
        stopped = true;
        setTimeout(() => process.kill(pid, 'SIGCONT'), 300);
        return { status: 200, delayMs: 100 };
      }
      return { status: 200 };
    };
    await run(emu, 3);
    expect(stopped).toBe(true);
    const check = checkOtlp(emu, sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.duplicateLines).toBe(0);
  });
});

describe('unrecoverable rows: exact drop counts', () => {
  it.each([500, 400])(
    '%i for the first requests: dropped, counted, reported in the stream',
    async (status) => {
      const { emu, sink } = await start(OTLP);
      sink.reply = ({ index }) => (index < 2 ? { status } : { status: 200 });
      await run(emu, 4);
      const s = summary(emu);
      expect(s.rejected).toBeGreaterThan(0);
      // The count is exact: the Telemetry API events inside the refused
      // requests (a span counts the three events it was built from, a log
      // record of one of those events counts none, any other record one).
      const refused = sink.requests
        .filter((r) => r.status === status)
        .map((r) =>
          decodeOtlp(r.path, String(r.headers['content-type']), r.body)
        );
      const weight =
        refused
          .flatMap((d) => d.logs)
          .filter(
            (l) => !IN_SPANS.has(String(l.attributes['aws.lambda.event.type']))
          ).length +
        refused
          .flatMap((d) => d.spans)
          .filter((sp) => sp.kind === 2 || sp.name === 'init').length *
          3;
      expect(s.rejected).toBe(weight);
      // And nothing else is missing: every event is represented at the
      // receiver (a line as its record, a platform event in its span or its
      // record) or inside that count.
      const got = sink.otlp();
      const spanOf = new Set(
        got.spans
          .filter((sp) => sp.kind === 2)
          .map((sp) => String(sp.attributes['faas.invocation.id']))
      );
      const initArrived = got.spans.some((sp) => sp.name === 'init');
      const arrived = new Map<string, number>();
      for (const l of got.logs) {
        const key = `${String(l.attributes['aws.lambda.event.type'])}|${String(l.attributes['faas.invocation.id'] ?? '')}`;
        arrived.set(key, (arrived.get(key) ?? 0) + 1);
      }
      let unrepresented = 0;
      for (const entry of emu.deliveries
        .flatMap((d) => d.log)
        .filter((l) => l.delivered)) {
        const e = JSON.parse(entry.json) as {
          type: string;
          record: { requestId?: string } | string;
        };
        const rid =
          typeof e.record === 'object' ? (e.record.requestId ?? '') : '';
        const fnRid =
          e.type === 'function' && typeof e.record === 'string'
            ? (e.record.split('\t')[1] ?? '')
            : rid;
        const key = `${e.type}|${fnRid}`;
        const n = arrived.get(key) ?? 0;
        if (n > 0) arrived.set(key, n - 1);
        else if (rid && spanOf.has(rid)) continue;
        else if (e.type.startsWith('platform.init') && initArrived) continue;
        else unrepresented++;
      }
      expect(unrepresented).toBeLessThanOrEqual(s.rejected);
      // The receiver itself was told.
      const reports = got.logs.filter(
        (l) =>
          l.attributes['aws.lambda.event.type'] ===
          'lambda-telemetry-otel.drops'
      );
      expect(reports.length).toBeGreaterThan(0);
      expect(reports.at(-1)?.severityText).toBe('WARN');
      expect(
        reports.at(-1)?.attributes['lambda_telemetry_otel.dropped.rejected']
      ).toBe(s.rejected);
      // Logged once per status, not per batch.
      expect(
        ownLogs(emu).filter((l) => l.reason === `HTTP ${status}`).length
      ).toBeLessThanOrEqual(5);
    }
  );

  it('flood: 1,000,000 events with the receiver down stay within the bounds, drops counted exactly', async () => {
    const port = await freePort();
    const { emu } = await start(
      {
        DISPATCH_POST_URI: `http://127.0.0.1:${port}`,
        LAMBDA_TELEMETRY_OTEL_BUFFER_MAX_BYTES: '1048576',
        LAMBDA_TELEMETRY_OTEL_RETRY_BASE_MS: '20',
      },
      { freezeProcess: false }
    );
    await emu.launch();
    emu.thaw();
    const target = emu.extension?.subscription?.target as URL;
    const line = (b: number, i: number) => ({
      time: '2026-11-25T10:00:00.000Z',
      type: 'function',
      record: `2026-11-25T10:00:00.000Z\taaaaaaaa-1111-4222-8333-944445555666\tINFO\tflood ${b}-${i}\n`,
    });
    for (let b = 0; b < 100; b++) {
      const body = JSON.stringify(
        Array.from({ length: 10_000 }, (_, i) => line(b, i))
      );
      const res = await fetch(target, { method: 'POST', body });
      await res.text();
      expect(res.status).toBe(200);
    }
    const last = await emu.shutdown();
    expect(last?.exitedBeforeDeadline).toBe(true);
    const s = summary(emu);
    const platform = emu.deliveries
      .flatMap((d) => d.log)
      .filter((l) => l.delivered).length;
    expect(s.received).toBe(1_000_000 + platform);
    expect(s.sent).toBe(0);
    expect(s.unsent).toBeLessThanOrEqual(20_000);
    expect(s.overflowDropped + s.unsent).toBe(s.received);
  }, 60_000);
});

describe('a record Lambda cut across deliveries (larger than maxBytes)', () => {
  interface CutSummary extends Summary {
    refusedBodies: number;
    cutRecordsJoined: number;
    cutRecordsDropped: number;
  }

  it('OTLP: every other event arrives, each invocation has its span and report figures, the huge line arrives whole', async () => {
    const { emu, sink } = await start({
      ...OTLP,
      // The line is compared whole: no cut of long bodies here.
      LAMBDA_TELEMETRY_OTEL_MAX_LOG_CHARS: '2000000',
    });
    // 600,000 characters: cut twice at the default maxBytes (262,144).
    const huge = { atMs: 2, message: `huge ${'h'.repeat(600_000)}` };
    await emu.launch();
    for (let i = 0; i < 3; i++)
      await emu.invoke({ handlerMs: 5, lines: [...lines, huge] });
    const last = await emu.shutdown();
    expect(last?.exitCode).toBe(0);
    expect(last?.exitedBeforeDeadline).toBe(true);
    const check = checkOtlp(emu, sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(3 * 4);
    expect(check.invocationSpans).toBe(3);
    expect(check.duplicateLines).toBe(0);
    const s = summary(emu) as unknown as CutSummary;
    expect(s.cutRecordsJoined).toBe(3);
    expect(s.cutRecordsDropped).toBe(0);
    expect(s.refusedBodies).toBe(0);
    // Lambda (the emulator) did cut them: the listener took every piece.
    expect(emu.deliveries.every((d) => d.stats.dropped === 0)).toBe(true);
  });

  it('raw: a line past the hold bound is dropped and counted once; every other event arrives JSON-equal', async () => {
    const { emu, sink } = await start();
    // 2 MiB: more than the listener holds (2 x maxBytes + 256 KiB).
    const huge = { atMs: 2, message: `huge ${'h'.repeat(2 * 1_048_576)}` };
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    await emu.invoke({ handlerMs: 5, lines: [...lines, huge] });
    await emu.invoke({ handlerMs: 5, lines });
    const last = await emu.shutdown();
    expect(last?.exitCode).toBe(0);
    expect(last?.exitedBeforeDeadline).toBe(true);
    const check = checkRaw(emu, sink.rawEvents());
    expect(check.missing).toHaveLength(1);
    expect(check.missing[0]?.startsWith('{"time"')).toBe(true);
    expect(check.missing[0]).toContain('huge hhhh');
    expect(check.arrived).toBe(check.expected - 1);
    expect(check.duplicates).toBe(0);
    const s = summary(emu) as unknown as CutSummary;
    expect(s.cutRecordsDropped).toBe(1);
    expect(s.cutRecordsJoined).toBe(0);
    expect(s.refusedBodies).toBe(0);
    expect(s.received).toBe(check.expected - 1 + check.extensionDelivered);
  });
});

describe('the raw format under the same faults', () => {
  it('keeps every event through 503s and an outage, JSON-equal and in order', async () => {
    const { emu, sink } = await start({
      LAMBDA_TELEMETRY_OTEL_RETRY_BASE_MS: '20',
    });
    sink.reply = ({ index }) => (index < 2 ? { status: 503 } : { status: 200 });
    await run(emu, 4);
    const check = checkRaw(emu, sink.rawEvents());
    expect(check.missing).toEqual([]);
    expect(check.duplicates).toBe(0);
  });
});
