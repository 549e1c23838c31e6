/**
 * The standard scenario: everything a Lambda environment's life can send an
 * extension, in three environments.
 *
 * 1. on-demand cold start, Node TEXT-format logs, successful invocations, a
 *    failed one, then a timed-out one (SHUTDOWN `timeout`, a reset);
 * 2. the relaunch after the reset: a suppressed init (`phase: invoke`),
 *    JSON-format logs, a `platform.logsDropped`, then SHUTDOWN `spindown`;
 * 3. SnapStart: an init (the snapshot's), the snapshot, a restore, one
 *    invocation, SHUTDOWN `spindown`.
 */
import {
  type EmulatorOptions,
  type InvocationSpec,
  LambdaEmulator,
  type LogLine,
} from './emulator.js';

/** runScenario's options: the emulator's, plus the script's sizes. */
export interface ScenarioOptions extends EmulatorOptions {
  /** Successful invocations in the first environment (default 5). */
  invocations?: number;
  /** Each scripted handler's run time (ms; default 20). */
  handlerMs?: number;
  /** Function timeout of the timed-out invocation (ms; default 300). */
  timeoutMs?: number;
}

const TEXT_LINES: LogLine[] = [
  { atMs: 1, level: 'INFO', message: 'handler started' },
  { atMs: 3, level: 'DEBUG', message: 'cache miss for key user:42' },
  {
    atMs: 5,
    format: 'plain',
    message: 'a bare line from a library, no prefix',
  },
  { atMs: 8, level: 'WARN', message: 'slow downstream: 180 ms' },
  { atMs: 12, level: 'INFO', message: 'result computed\n  with a second line' },
];

const JSON_LINES: LogLine[] = [
  {
    atMs: 1,
    format: 'json',
    level: 'INFO',
    message: 'order received',
    fields: { orderId: 'o-17', items: 3 },
  },
  {
    atMs: 4,
    format: 'json',
    level: 'WARN',
    message: 'retrying payment',
    fields: { attempt: 2 },
  },
  {
    atMs: 7,
    format: 'json',
    level: 'ERROR',
    message: 'card declined',
    fields: { errorType: 'PaymentError' },
  },
];

/**
 * A `platform.logsDropped` as Lambda sends it when a subscriber falls
 * behind (lambda-apis.md §2.2): 12 records, 4,096 bytes.
 */
export function emitLogsDropped(emu: LambdaEmulator): void {
  emu.emit('platform.logsDropped', {
    droppedBytes: 4_096,
    droppedRecords: 12,
    reason:
      'Some logs were dropped because the downstream consumer is slower than the logs production rate',
  });
}

/**
 * Runs the standard scenario above on a new emulator and resolves with it
 * (closed), for the checks to read its records; a failed step closes it
 * and rejects.
 */
export async function runScenario(
  opts: ScenarioOptions
): Promise<LambdaEmulator> {
  const emu = new LambdaEmulator(opts);
  await emu.start();
  const handlerMs = opts.handlerMs ?? 20;
  const base: InvocationSpec = { handlerMs, lines: TEXT_LINES };
  try {
    // Environment 1: cold start.
    await emu.launch();
    for (let i = 0; i < (opts.invocations ?? 5); i++) await emu.invoke(base);
    await emu.invoke({
      handlerMs,
      status: 'error',
      errorType: 'TypeError',
      lines: [
        { atMs: 2, level: 'INFO', message: 'about to fail' },
        {
          atMs: 4,
          level: 'ERROR',
          message:
            'Invoke Error \t{"errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading \'id\')","stack":["TypeError: Cannot read properties of undefined","    at handler (/var/task/index.js:3:20)"]}',
        },
      ],
    });
    await emu.invoke({
      status: 'timeout',
      timeoutMs: opts.timeoutMs ?? 300,
      lines: [
        { atMs: 5, level: 'INFO', message: 'waiting on a slow dependency' },
      ],
    });

    // Environment 2: the reset's relaunch, init suppressed into the invoke.
    if (emu.running) await emu.shutdown('timeout');
    await emu.launch({ phase: 'invoke' });
    await emu.invoke({ handlerMs, lines: JSON_LINES });
    emu.thaw();
    emitLogsDropped(emu);
    await emu.invoke({
      handlerMs,
      lines: [
        {
          atMs: 1,
          format: 'json',
          level: 'INFO',
          message: { nested: { ok: true } },
        },
        {
          atMs: 2,
          format: 'object',
          message: '',
          fields: {
            note: 'an object without a message key',
            level: 'info',
            durationMs: 12.5,
          },
        },
      ],
    });
    await emu.shutdown('spindown');

    // Environment 3: SnapStart (init, snapshot, restore).
    await emu.launch({ initializationType: 'snap-start', restore: true });
    await emu.invoke(base);
    await emu.shutdown('spindown');
  } catch (err) {
    await emu.close();
    throw err;
  }
  await emu.close();
  return emu;
}

/**
 * The raw format's drop report type, as the README documents it (written
 * here, not imported: the check reads the documented contract).
 */
export const RAW_DROP_REPORT_TYPE = 'lambda-telemetry-otel.drops';

/**
 * What checkRaw found, counted in events: each received event matches at
 * most one JSON-equal emitted event; further copies are `duplicates`.
 */
export interface RawCompleteness {
  /** Platform and function events the emulator emitted. */
  expected: number;
  /** Of those, how many reached the receiver. */
  arrived: number;
  /** The JSON of each expected event that did not arrive. */
  missing: string[];
  /** Extra copies at the receiver (at-least-once). */
  duplicates: number;
  /** Extension-stream lines the listener took, and how many of them arrived. */
  extensionDelivered: number;
  extensionArrived: number;
  /** Extension lines written after the extension could no longer send them. */
  extensionUndeliverable: number;
  /**
   * Events taken before a SnapStart snapshot (README, SnapStart: dropped
   * at the restore), not counted above; `snapshotArrived` of them reached
   * the receiver all the same (should be 0).
   */
  snapshot: number;
  snapshotArrived: number;
}

/**
 * Compares what the emulator emitted with what a raw-format receiver got:
 * every platform and function event must arrive, JSON-equal; every
 * extension line the listener accepted must arrive too; what the listener
 * took before a SnapStart snapshot is counted apart (it must not arrive).
 */
export function checkRaw(
  emu: LambdaEmulator,
  received: unknown[],
  /** Which events the settings let through (default: all). */
  keep: (type: string, record: unknown) => boolean = () => true
): RawCompleteness {
  const counts = new Map<string, number>();
  for (const e of received) {
    // The extension's own drop report (a documented event type of the raw
    // format) is not one of Lambda's events.
    if ((e as { type?: unknown }).type === RAW_DROP_REPORT_TYPE) continue;
    const k = JSON.stringify(e);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const take = (json: string): boolean => {
    const n = counts.get(json) ?? 0;
    if (n === 0) return false;
    counts.set(json, n - 1);
    return true;
  };
  const result: RawCompleteness = {
    expected: 0,
    arrived: 0,
    missing: [],
    duplicates: 0,
    extensionDelivered: 0,
    extensionArrived: 0,
    extensionUndeliverable: 0,
    snapshot: 0,
    snapshotArrived: 0,
  };
  for (const d of emu.deliveries) {
    for (const entry of d.log) {
      if (
        !keep(
          entry.type,
          (JSON.parse(entry.json) as { record?: unknown }).record
        )
      )
        continue;
      if (entry.snapshot) {
        if (entry.delivered) {
          result.snapshot++;
          if (take(entry.json)) result.snapshotArrived++;
        }
        continue;
      }
      if (entry.type === 'extension') {
        if (!entry.delivered) {
          result.extensionUndeliverable++;
          continue;
        }
        result.extensionDelivered++;
        if (take(entry.json)) result.extensionArrived++;
        continue;
      }
      result.expected++;
      if (take(entry.json)) result.arrived++;
      else result.missing.push(entry.json);
    }
  }
  for (const n of counts.values()) result.duplicates += n;
  return result;
}
