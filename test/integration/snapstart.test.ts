/**
 * SnapStart under the emulator, with the built layer: an init (the
 * snapshot's), the snapshot, a restore, invocations (README, SnapStart).
 * What the receiver got is decoded independently (otlp-decode.ts) or
 * compared JSON-for-JSON (raw).
 */
import { describe, expect, it } from 'vitest';
import { checkRaw } from '../../src/emulator/scenario.js';
import { harnesses, ownLogs } from '../helpers/layer.js';

const start = harnesses();
const lines = [{ atMs: 1, message: 'after the restore' }];

function shutdownLine(logs: Record<string, unknown>[]) {
  return logs.find((l) => l.msg === 'shutdown');
}

describe('SnapStart', () => {
  it('OTLP: the restore span and the first invocation after it are the cold start; nothing of the snapshot is sent', async () => {
    const { emu, sink } = await start(
      { DISPATCH_FORMAT: 'otlp' },
      {
        captureExtensionOutput: true,
      }
    );
    await emu.launch({ initializationType: 'snap-start', restore: true });
    const first = await emu.invoke({ handlerMs: 5, lines });
    const second = await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();

    const got = sink.otlp();
    const byName = (n: string) => got.spans.filter((s) => s.name === n);
    // The snapshot's init: neither its span nor its log records.
    expect(byName('init')).toEqual([]);
    expect(
      got.logs.filter((l) =>
        String(l.attributes['aws.lambda.event.type']).startsWith(
          'platform.init'
        )
      )
    ).toEqual([]);
    // The restore: one span, the cold start, in the first invocation's trace.
    const [restore] = byName('restore');
    expect(byName('restore')).toHaveLength(1);
    expect(restore?.attributes['faas.coldstart']).toBe(true);
    expect(restore?.attributes['aws.lambda.initialization_type']).toBe(
      'snap-start'
    );
    expect(restore?.traceId).toBe(first.traceId);
    expect(restore?.parentSpanId).toBe(first.spanId);
    const cold = Object.fromEntries(
      got.spans
        .filter((s) => s.name === 'demo-function')
        .map((s) => [
          s.attributes['faas.invocation.id'],
          s.attributes['faas.coldstart'],
        ])
    );
    expect(cold).toEqual({
      [first.requestId]: true,
      [second.requestId]: false,
    });
    // Every line after the restore arrived; the RESTORE_* records too.
    expect(got.logs.filter((l) => l.body === 'after the restore')).toHaveLength(
      2
    );
    expect(
      got.logs.filter((l) =>
        String(l.attributes['aws.lambda.event.type']).startsWith(
          'platform.restore'
        )
      )
    ).toHaveLength(3);
    // What was dropped is said: the snapshot's events (init and the
    // extension's own lines before the snapshot).
    const snapshotTaken = emu.deliveries
      .flatMap((d) => d.log)
      .filter((e) => e.snapshot && e.delivered).length;
    expect(snapshotTaken).toBeGreaterThanOrEqual(3);
    expect(shutdownLine(ownLogs(emu))?.snapshotDropped).toBe(snapshotTaken);
  });

  it('raw: every event after the restore arrives once, none from before the snapshot', async () => {
    const { emu, sink } = await start({}, { captureExtensionOutput: true });
    await emu.launch({ initializationType: 'snap-start', restore: true });
    await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    const check = checkRaw(emu, sink.rawEvents());
    expect(check.snapshot).toBeGreaterThanOrEqual(3);
    expect(check.snapshotArrived).toBe(0);
    expect(check.missing).toEqual([]);
    expect(check.arrived).toBe(check.expected);
    expect(check.duplicates).toBe(0);
    expect(check.extensionArrived).toBe(check.extensionDelivered);
  });

  it('an environment shut down without a restore (the snapshot itself) sends what it held, once', async () => {
    const { emu, sink } = await start();
    await emu.launch({ initializationType: 'snap-start' });
    await emu.shutdown();
    const types = sink
      .rawEvents()
      .map((e) => (e as { type: string }).type)
      .filter((t) => t.startsWith('platform.init'));
    expect(types).toEqual([
      'platform.initStart',
      'platform.initRuntimeDone',
      'platform.initReport',
    ]);
    expect(shutdownLine(ownLogs(emu))?.snapshotDropped).toBe(0);
  });
});
