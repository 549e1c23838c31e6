/**
 * The flush policy's rules with fake timers (pure timing rules): when a
 * flush starts, with which deadline, and how long `/next` and SHUTDOWN wait.
 * The intake is the real one; the pipeline records what it is asked.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FlushPolicy,
  type FlushPolicyOptions,
} from '../../src/flush-policy.js';
import { Intake } from '../../src/intake.js';
import type { TelemetryPipeline } from '../../src/pipeline/pipeline.js';
import { createLogger } from '../../src/util/log.js';

const T0 = Date.parse('2026-11-29T10:00:00.000Z');
const RID = 'aaaaaaaa-1111-4222-8333-944445555666';

interface FlushCall {
  atMs: number;
  deadlineMs: number;
  final: boolean;
  finish: () => void;
}

function setup(
  over: Partial<FlushPolicyOptions> = {},
  waiting = 1,
  exclude: string[] = []
) {
  const flushes: FlushCall[] = [];
  const settles: number[] = [];
  let waitingEvents = waiting;
  let slowestExportMs = 0;
  const pipeline: TelemetryPipeline = {
    map: () => undefined,
    seal: () => undefined,
    noteInvoke: () => undefined,
    get waitingEvents() {
      return waitingEvents;
    },
    inFlightEvents: 0,
    due: () => waitingEvents > 0,
    flush: (deadlineMs, final) =>
      new Promise<void>((finish) => {
        flushes.push({ atMs: Date.now(), deadlineMs, final, finish });
      }),
    settle: async (deadlineMs) => {
      settles.push(deadlineMs);
    },
    reportDrops: () => undefined,
    stats: {
      sentEvents: 0,
      rejectedEvents: 0,
      overflowEvents: 0,
      discardedEvents: 0,
      failedExports: 0,
    },
    get slowestExportMs() {
      return slowestExportMs;
    },
    shutdown: async () => undefined,
  };
  const intake = new Intake({
    filters: {
      functionMinSeverity: undefined,
      extensionMinSeverity: undefined,
      include: [],
      exclude,
    },
    sequential: !over.managedInstances,
    maxEarlyEvents: 100,
    log: createLogger('silent'),
  });
  intake.attach(pipeline);
  const errors: unknown[] = [];
  const policy = new FlushPolicy({
    options: {
      flush: 'next-invoke',
      managedInstances: false,
      exportTimeoutMs: 5_000,
      invokeWaitMs: 300,
      shutdownWaitMs: undefined,
      ...over,
    },
    pipeline: () => pipeline,
    loading: () => undefined,
    intake,
    beforeFlush: () => undefined,
    onError: (e) => errors.push(e),
  });
  const deliver = (type: string, requestId = RID) =>
    intake.receive([
      { time: new Date().toISOString(), type, record: { requestId } },
    ]);
  return {
    policy,
    stats: pipeline.stats as { sentEvents: number; failedExports: number },
    flushes,
    settles,
    deliver,
    errors,
    setWaiting: (n: number) => {
      waitingEvents = n;
    },
    setSlowestExport: (ms: number) => {
      slowestExportMs = ms;
    },
  };
}

/** Resolves when `p` has settled, or says it has not after the timers ran. */
async function settledWithin(p: Promise<unknown>, ms: number) {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await vi.advanceTimersByTimeAsync(ms);
  return done;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('flush policy', () => {
  it('next-invoke: flushes at INVOKE, bounded by the export timeout and the function deadline', async () => {
    const { policy, flushes } = setup();
    void policy.onInvoke(RID, T0 + 3_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    expect(flushes[0]?.atMs).toBe(T0);
    expect(flushes[0]?.deadlineMs).toBe(T0 + 3_000);
    expect(flushes[0]?.final).toBe(false);
  });

  it('next-invoke: /next waits for a slow export at most INVOKE_EXPORT_WAIT_MS', async () => {
    const { policy, flushes, settles } = setup({ invokeWaitMs: 300 });
    const invoked = policy.onInvoke(RID, T0 + 60_000);
    expect(await settledWithin(invoked, 299)).toBe(false);
    expect(await settledWithin(invoked, 1)).toBe(true);
    expect(flushes).toHaveLength(1);
    expect(settles).toEqual([T0 + 60_000]);
  });

  it('next-invoke: /next follows at once when the export is quick', async () => {
    const { policy, flushes } = setup();
    const invoked = policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    expect(await settledWithin(invoked, 1)).toBe(true);
  });

  it('sends nothing at INVOKE when the min-batch rule is not met', async () => {
    const { policy, flushes } = setup({}, 0);
    const invoked = policy.onInvoke(RID, T0 + 60_000);
    expect(await settledWithin(invoked, 0)).toBe(true);
    expect(flushes).toHaveLength(0);
  });

  it('end: waits for this invocation runtimeDone, then flushes', async () => {
    const { policy, flushes, deliver } = setup({ flush: 'end' });
    const invoked = policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(1_000);
    deliver('platform.runtimeDone', 'another-request');
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(0);
    deliver('platform.runtimeDone');
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    expect(flushes[0]?.atMs).toBe(T0 + 1_000);
    flushes[0]?.finish();
    expect(await settledWithin(invoked, 0)).toBe(true);
  });

  it('end: a runtimeDone that never comes holds /next only until the function deadline', async () => {
    const { policy, flushes } = setup({ flush: 'end' });
    const invoked = policy.onInvoke(RID, T0 + 2_000);
    expect(await settledWithin(invoked, 1_999)).toBe(false);
    expect(await settledWithin(invoked, 1)).toBe(true);
    // At the deadline there is no time left to send: it waits for later.
    expect(flushes).toHaveLength(0);
  });

  it('the timer starts nothing outside an invocation (a freeze may follow)', async () => {
    const { policy, flushes } = setup();
    policy.tick();
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(0);
  });

  it('the timer flushes inside an invocation, with its deadline', async () => {
    const { policy, flushes } = setup({ flush: 'end' });
    void policy.onInvoke(RID, T0 + 2_000);
    await vi.advanceTimersByTimeAsync(500);
    policy.tick();
    expect(flushes).toHaveLength(1);
    expect(flushes[0]?.deadlineMs).toBe(T0 + 2_000);
  });

  it('on Managed Instances the rule is checked on each delivery and by the timer', async () => {
    const { policy, flushes, setWaiting } = setup(
      { managedInstances: true },
      0
    );
    policy.onDelivery();
    expect(flushes).toHaveLength(0);
    setWaiting(3);
    policy.onDelivery();
    policy.tick();
    expect(flushes).toHaveLength(2);
    expect(flushes[0]?.deadlineMs).toBe(T0 + 5_000);
  });

  it('SHUTDOWN waits for a missing report until the deadline less the 200 ms reserve, then flushes everything (final)', async () => {
    const { policy, flushes, setSlowestExport } = setup();
    // A fast receiver, measured: the reserve is its floor.
    setSlowestExport(40);
    const invoked = policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    await invoked;
    const down = policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(1_699);
    expect(flushes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]?.atMs).toBe(T0 + 1_700);
    expect(flushes[1]?.final).toBe(true);
    expect(flushes[1]?.deadlineMs).toBe(T0 + 1_900);
    for (const f of flushes) f.finish();
    await vi.advanceTimersByTimeAsync(0);
    for (const f of flushes) f.finish();
    expect(await settledWithin(down, 0)).toBe(true);
  });

  it('SHUTDOWN waits for no report when the subscription has no platform events (none can come)', async () => {
    const { policy, flushes } = setup({ reportsSubscribed: false });
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    await vi.advanceTimersByTimeAsync(0);
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]?.atMs).toBe(T0);
  });

  it('SHUTDOWN with no export answered yet keeps half of what is left for the final export (its speed is unknown)', async () => {
    const { policy, flushes } = setup();
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    // The INVOKE flush never answers: nothing measured.
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(949);
    expect(flushes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]?.atMs).toBe(T0 + 950);
  });

  it('SHUTDOWN: a report 600 ms after SHUTDOWN is waited for, and the flush starts as it arrives', async () => {
    const { policy, flushes, deliver } = setup();
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    await vi.advanceTimersByTimeAsync(0);
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(600);
    expect(flushes).toHaveLength(1);
    deliver('platform.report');
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]?.atMs).toBe(T0 + 600);
  });

  it('SHUTDOWN keeps twice the slowest export seen for the final flush, when that is more than 200 ms', async () => {
    for (const [slowest, flushAt] of [
      [50, 1_700],
      [100, 1_700],
      [450, 1_000],
      [1_000, 0],
    ] as const) {
      const { policy, flushes, setSlowestExport } = setup();
      void policy.onInvoke(RID, T0 + 60_000);
      await vi.advanceTimersByTimeAsync(0);
      flushes[0]?.finish();
      await vi.advanceTimersByTimeAsync(0);
      setSlowestExport(slowest);
      const start = Date.now();
      void policy.onShutdown(start + 1_900, start);
      if (flushAt > 0) {
        await vi.advanceTimersByTimeAsync(flushAt - 1);
        expect(flushes, `slowest ${slowest} ms`).toHaveLength(1);
      }
      await vi.advanceTimersByTimeAsync(1);
      expect(flushes, `slowest ${slowest} ms`).toHaveLength(2);
      expect(flushes[1]?.atMs).toBe(start + Math.max(flushAt, 0));
      for (const f of flushes) f.finish();
      await vi.advanceTimersByTimeAsync(0);
      for (const f of flushes) f.finish();
      await vi.advanceTimersByTimeAsync(2_000);
    }
  });

  it('SHUTDOWN_WAIT_MS, when set, caps the wait for late reports', async () => {
    const { policy, flushes } = setup({ shutdownWaitMs: 300 });
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    await vi.advanceTimersByTimeAsync(0);
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(299);
    expect(flushes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(2);
  });

  it('SHUTDOWN does not wait when every invocation that started has its report', async () => {
    const { policy, flushes, deliver } = setup();
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    deliver('platform.start');
    deliver('platform.report');
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]?.atMs).toBe(T0);
  });

  it('SHUTDOWN: a report the receipt filters drop has still come, and is not waited for', async () => {
    const { policy, flushes, deliver } = setup({}, 1, ['platform.report']);
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(30);
    deliver('platform.report');
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(2);
    expect(flushes[1]?.atMs).toBe(T0 + 30);
  });

  it('SHUTDOWN, one invocation at a time: a report also settles the invocations before it (one whose report Lambda dropped is not waited for)', async () => {
    const OTHER = 'bbbbbbbb-1111-4222-8333-944445555666';
    const { policy, flushes, deliver } = setup();
    void policy.onInvoke(OTHER, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[0]?.finish();
    await vi.advanceTimersByTimeAsync(0);
    void policy.onInvoke(RID, T0 + 60_000);
    await vi.advanceTimersByTimeAsync(0);
    flushes[1]?.finish();
    await vi.advanceTimersByTimeAsync(0);
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(40);
    expect(flushes).toHaveLength(2);
    // OTHER's report never came; RID's, the later one, does.
    deliver('platform.report', RID);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(3);
    expect(flushes[2]?.atMs).toBe(T0 + 40);
  });

  it('SHUTDOWN on Managed Instances (no INVOKE): waits for the report of every invocation started in the stream', async () => {
    const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
    const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
    const { policy, flushes, deliver } = setup({ managedInstances: true }, 0);
    deliver('platform.start', A);
    deliver('platform.start', B);
    deliver('platform.start', RID);
    deliver('platform.report', RID);
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(100);
    // Concurrent invocations: B's report settles B only, not A.
    deliver('platform.report', B);
    await vi.advanceTimersByTimeAsync(500);
    expect(flushes).toHaveLength(0);
    deliver('platform.report', A);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    expect(flushes[0]?.atMs).toBe(T0 + 600);
    expect(flushes[0]?.final).toBe(true);
  });

  it("SHUTDOWN on Managed Instances: a platform.start still in Lambda's buffer at SHUTDOWN is waited for, and so is its report", async () => {
    const { policy, flushes, deliver } = setup(
      { managedInstances: true, bufferTimeoutMs: 25 },
      0
    );
    void policy.onShutdown(T0 + 1_900, T0);
    // The buffered start lands with the next delivery, 25 ms later.
    await vi.advanceTimersByTimeAsync(25);
    deliver('platform.start');
    await vi.advanceTimersByTimeAsync(275);
    expect(flushes).toHaveLength(0);
    deliver('platform.report');
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    expect(flushes[0]?.atMs).toBe(T0 + 300);
  });

  it('SHUTDOWN on Managed Instances with nothing unreported flushes once the buffering timeout (plus 50 ms) has passed', async () => {
    const { policy, flushes } = setup(
      { managedInstances: true, bufferTimeoutMs: 25 },
      0
    );
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(74);
    expect(flushes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(1);
  });

  it('SHUTDOWN on Managed Instances: a report that never comes is waited for until the deadline less the reserve', async () => {
    const { policy, flushes, deliver, setSlowestExport } = setup(
      { managedInstances: true },
      0
    );
    setSlowestExport(40);
    deliver('platform.start');
    void policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(1_699);
    expect(flushes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(1);
  });

  it('next-invoke: an INVOKE that comes while the export stack still loads does not wait for it; end does, bounded', async () => {
    let load: () => void = () => undefined;
    const loading = new Promise<void>((r) => {
      load = r;
    });
    const make = (flush: 'next-invoke' | 'end') =>
      new FlushPolicy({
        options: {
          flush,
          managedInstances: false,
          exportTimeoutMs: 5_000,
          invokeWaitMs: 300,
          shutdownWaitMs: undefined,
        },
        pipeline: () => undefined,
        loading: () => loading,
        intake: {
          noteInvoke: () => undefined,
          hasRuntimeDone: () => true,
          unreported: 0,
          waitFor: async () => undefined,
        },
        beforeFlush: () => undefined,
        onError: () => undefined,
      });
    expect(
      await settledWithin(make('next-invoke').onInvoke(RID, T0 + 60_000), 0)
    ).toBe(true);
    const end = make('end').onInvoke(RID, T0 + 60_000);
    expect(await settledWithin(end, 1_000)).toBe(false);
    load();
    expect(await settledWithin(end, 0)).toBe(true);
  });

  it('SHUTDOWN makes another pass after one that failed transiently, until the deadline, and stops once nothing happens', async () => {
    const { policy, flushes, stats } = setup();
    const down = policy.onShutdown(T0 + 1_900, T0);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    // The receiver was still down: the batch went back to the queue.
    stats.failedExports++;
    flushes[0]?.finish();
    await vi.advanceTimersByTimeAsync(99);
    expect(flushes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toHaveLength(2);
    // It is back: the pass sends, and the next one finds nothing to do.
    stats.sentEvents++;
    flushes[1]?.finish();
    await vi.advanceTimersByTimeAsync(0);
    for (const f of flushes) f.finish();
    await vi.advanceTimersByTimeAsync(0);
    for (const f of flushes) f.finish();
    expect(await settledWithin(down, 0)).toBe(true);
    expect(flushes.every((f) => f.deadlineMs === T0 + 1_900)).toBe(true);
  });
});
