/**
 * Late telemetry at SHUTDOWN, end to end: the built layer under the
 * emulator, in both formats (raw JSON compared event for event, OTLP
 * decoded independently) and both modes (INVOKE-driven and Managed
 * Instances, where no INVOKE tells the extension an invocation started).
 * Lambda emits the last invocation's platform.report only after the
 * extension's last /next (lambda-apis.md §2.2), so it may come well after
 * SHUTDOWN: the extension waits for it until the deadline less the final
 * export's reserve.
 */
import { describe, expect, it } from 'vitest';
import { harnesses, ownLogs } from '../helpers/layer.js';

const start = harnesses();

const lines = [
  { atMs: 1, message: 'one' },
  { atMs: 2, level: 'WARN', message: 'two' },
];

type Rec = { type: string; record: Record<string, unknown> };

describe.each([
  ['raw', false],
  ['raw', true],
  ['otlp', false],
  ['otlp', true],
] as const)(
  'DISPATCH_FORMAT=%s, Managed Instances: %s',
  (format, managedInstances) => {
    it('a platform.report 600 ms after SHUTDOWN arrives with its figures, and the extension exits in time', async () => {
      const { emu, sink } = await start(
        {
          DISPATCH_FORMAT: format,
          LAMBDA_TELEMETRY_OTEL_FLUSH_INTERVAL_MS: '50',
        },
        { managedInstances }
      );
      await emu.launch();
      await emu.invoke({ handlerMs: 5, lines });
      const late = await emu.invoke({
        handlerMs: 5,
        lines,
        reportAfterShutdownMs: 600,
      });
      // On Managed Instances only the stream says an invocation started: its
      // lines (shipped by the 50 ms timer) show platform.start has come.
      const fnCount = (): number =>
        format === 'raw'
          ? (sink.rawEvents() as Rec[]).filter((e) => e.type === 'function')
              .length
          : sink
              .otlp()
              .logs.filter(
                (l) => l.attributes['aws.lambda.event.type'] === 'function'
              ).length;
      if (managedInstances)
        expect(await sink.waitFor(() => fnCount() === 4, 3_000)).toBe(true);
      const launch = await emu.shutdown();
      expect(launch?.exitCode).toBe(0);
      expect(launch?.exitedBeforeDeadline).toBe(true);
      // SHUTDOWN was sent at least 2,000 ms (the budget) before its deadline:
      // the extension stayed for the report instead of leaving at once.
      const shutdownAt = (launch?.shutdownDeadlineMs ?? 0) - 2_000;
      expect(launch?.exitedAt ?? 0).toBeGreaterThanOrEqual(shutdownAt + 600);
      const durationMs = late.reportMetrics?.durationMs;
      expect(durationMs).toBeTypeOf('number');

      if (format === 'raw') {
        const report = (sink.rawEvents() as Rec[]).find(
          (e) =>
            e.type === 'platform.report' &&
            e.record.requestId === late.requestId
        );
        expect(report?.record.metrics).toMatchObject({ durationMs });
      } else {
        const spans = sink
          .otlp()
          .spans.filter(
            (s) => s.attributes['faas.invocation.id'] === late.requestId
          );
        expect(spans.length).toBeGreaterThan(0);
        expect(
          spans.some((s) => s.attributes['aws.lambda.report.missing'] === true)
        ).toBe(false);
        expect(
          spans.some(
            (s) => s.attributes['aws.lambda.report.duration_ms'] === durationMs
          )
        ).toBe(true);
      }
      const summary = ownLogs(emu).find((l) => l.msg === 'shutdown');
      expect(summary).toMatchObject({ unsent: 0, lostInFlight: 0 });
    });
  }
);

describe.each(['raw', 'otlp'] as const)('DISPATCH_FORMAT=%s', (format) => {
  it('an export still running at the SHUTDOWN deadline less the margin is abandoned, its events counted as lost in flight', async () => {
    const { emu, sink } = await start({
      DISPATCH_FORMAT: format,
      DISPATCH_MIN_BATCH_SIZE: '100000',
      LAMBDA_TELEMETRY_OTEL_EXPORT_TIMEOUT_MS: '5000',
    });
    // Every request is taken, and answered only after the sandbox is gone.
    sink.reply = () => ({ status: 200, delayMs: 4_000 });
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    const launch = await emu.shutdown();
    expect(launch?.exitCode).toBe(0);
    expect(launch?.exitedBeforeDeadline).toBe(true);
    expect(sink.requests.length).toBeGreaterThan(0);
    const summary = ownLogs(emu).find((l) => l.msg === 'shutdown') as {
      sent: number;
      unsent: number;
      lostInFlight: number;
    };
    expect(summary.sent).toBe(0);
    expect(summary.lostInFlight).toBeGreaterThan(0);
    expect(summary.lostInFlight).toBe(summary.unsent);
  });
});
