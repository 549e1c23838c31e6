/**
 * When telemetry leaves: the rules of LAMBDA_TELEMETRY_OTEL_FLUSH, the timer
 * and SHUTDOWN, as one module with its clock injected so the rules can be
 * tested with fake timers. It knows nothing of encodings: it asks the
 * pipeline whether the DISPATCH_MIN_BATCH_SIZE rule is met (`due()`) and
 * tells it to flush by a deadline.
 *
 * - `next-invoke` (default): at each INVOKE, what has arrived is flushed
 *   while the handler runs; `/next` waits for it at most
 *   LAMBDA_TELEMETRY_OTEL_INVOKE_EXPORT_WAIT_MS.
 * - `end`: wait for this invocation's `platform.runtimeDone` (bounded by the
 *   function's deadline), flush, and wait for it at most that long too.
 * - the timer: on Managed Instances always (there is no INVOKE); elsewhere
 *   only while the extension holds an invocation.
 * - SHUTDOWN: wait for the report of every invocation that started and has
 *   none, until the deadline less a reserve for the final export (measured:
 *   twice the slowest export seen, at least SHUTDOWN_EXPORT_RESERVE_MS),
 *   then flush everything, again while anything is left and time allows.
 * Every wait is bounded by the deadline that applies (epoch ms).
 */
import type { FlushPolicy as FlushPolicyName } from './config/config.js';
import { SHUTDOWN_EXPORT_RESERVE_MS } from './constants.js';
import type { TelemetryPipeline } from './pipeline/pipeline.js';
import { untilDeadline } from './util/deadline.js';

/** At SHUTDOWN, the pause before another pass after a failed one (ms). */
const SHUTDOWN_RETRY_PAUSE_MS = 100;

/**
 * At SHUTDOWN, the time kept for the final export (ms): twice the slowest
 * export seen in this environment (`slowestExportMs`, ms), at least
 * SHUTDOWN_EXPORT_RESERVE_MS. With no export answered yet (0) nothing says
 * how long the first one takes (a cold TLS connection to a distant
 * collector can take more than 200 ms), so half of what is left
 * (`leftMs`: from SHUTDOWN's receipt to the deadline) is kept for it.
 */
export function shutdownReserveMs(
  slowestExportMs: number,
  leftMs: number
): number {
  if (slowestExportMs <= 0) {
    return Math.max(SHUTDOWN_EXPORT_RESERVE_MS, Math.floor(leftMs / 2));
  }
  return Math.max(SHUTDOWN_EXPORT_RESERVE_MS, 2 * slowestExportMs);
}

/** Resolves at `untilMs` (epoch ms). */
function sleepUntil(untilMs: number, now: () => number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, untilMs - now()))
  );
}

/**
 * The settings the rules read (README, LAMBDA_TELEMETRY_OTEL_FLUSH,
 * INVOKE_EXPORT_WAIT_MS, SHUTDOWN_WAIT_MS, EXPORT_TIMEOUT_MS).
 */
export interface FlushPolicyOptions {
  flush: FlushPolicyName;
  managedInstances: boolean;
  /** One export's budget (ms): a flush's deadline is at most now + this. */
  exportTimeoutMs: number;
  /** At INVOKE, the longest `/next` waits for the flush (ms). */
  invokeWaitMs: number;
  /**
   * At SHUTDOWN, an optional cap on the wait for late reports (ms from
   * SHUTDOWN's receipt); undefined: until the deadline less the reserve.
   */
  shutdownWaitMs: number | undefined;
  /**
   * The subscription's buffering timeout (ms). On Managed Instances only
   * the stream says an invocation started, and its `platform.start` may
   * still sit in Lambda's buffer when SHUTDOWN comes: SHUTDOWN waits at
   * least this (plus a little for the delivery) before taking "no
   * invocation without a report" for an answer. Default 0.
   */
  bufferTimeoutMs?: number;
  /**
   * Whether the subscription includes `platform` (default true): without
   * it no `platform.report` ever comes, and SHUTDOWN waits for none.
   */
  reportsSubscribed?: boolean;
}

/** On Managed Instances, the slack after the buffering timeout for the delivery to land (ms). */
const DELIVERY_SLACK_MS = 50;

/** What the policy reads and calls; `now` (epoch ms) defaults to `Date.now`. */
export interface FlushPolicyDeps {
  options: FlushPolicyOptions;
  /** The pipeline once the format has loaded. */
  pipeline: () => TelemetryPipeline | undefined;
  /** Settles when the format has loaded (or failed to); undefined before the first /next. */
  loading: () => Promise<unknown> | undefined;
  /** Telemetry seen so far, and a way to wait for more. */
  intake: {
    /** An invocation started (INVOKE): its report is waited for at SHUTDOWN. */
    noteInvoke(requestId: string | undefined): void;
    hasRuntimeDone(requestId: string): boolean;
    /** Invocations that started and whose `platform.report` has not come. */
    readonly unreported: number;
    waitFor(done: () => boolean, untilMs: number): Promise<void>;
  };
  /** Called before each flush (the drop report goes into the stream). */
  beforeFlush: () => void;
  onError: (err: unknown) => void;
  now?: () => number;
}

/**
 * The rules above. The lifecycle calls `onInvoke`, `tick` (its timer),
 * `onDelivery` and `onShutdown`; each resolves by the deadline it is given
 * and none rejects: a failed flush goes to `onError`.
 */
export class FlushPolicy {
  /** Between INVOKE and our next /next (not on Managed Instances). */
  private _invoke: { deadlineMs: number } | undefined;
  private readonly _now: () => number;

  constructor(private readonly _d: FlushPolicyDeps) {
    this._now = _d.now ?? Date.now;
  }

  /**
   * INVOKE: resolves when `/next` may be called, at the latest by
   * `fnDeadlineMs` (the function's deadline less the margin, epoch ms).
   */
  async onInvoke(
    requestId: string | undefined,
    fnDeadlineMs: number
  ): Promise<void> {
    const o = this._d.options;
    this._d.intake.noteInvoke(requestId);
    this._invoke = { deadlineMs: fnDeadlineMs };
    try {
      if (o.flush === 'end' && requestId !== undefined) {
        // This invocation's runtimeDone (and the lines before it) first,
        // so its data leaves before the freeze.
        await this._d.intake.waitFor(
          () => this._d.intake.hasRuntimeDone(requestId),
          fnDeadlineMs
        );
      }
      // The export stack loads after the first /next, while the runtime
      // initialises. With `next-invoke` an INVOKE that comes first does not
      // wait for it (that would be billed time): what arrived waits for the
      // next flush. With `end` the wait is part of the price asked for.
      if (o.flush === 'end') await this._awaitLoad(fnDeadlineMs);
      const pipeline = this._d.pipeline();
      // At the deadline (a runtimeDone that never came) there is no time
      // left to send anything: it waits for the next flush.
      if (pipeline?.due() && this._now() < fnDeadlineMs) {
        const flushing = this._flush(
          pipeline,
          Math.min(this._now() + o.exportTimeoutMs, fnDeadlineMs),
          false
        );
        await untilDeadline(
          flushing,
          Math.min(this._now() + o.invokeWaitMs, fnDeadlineMs),
          this._now
        );
      }
    } catch (err) {
      this._d.onError(err);
    } finally {
      this._invoke = undefined;
      await this._d.pipeline()?.settle(fnDeadlineMs);
    }
  }

  /** After each delivery: on Managed Instances the rule is checked on receipt. */
  onDelivery(): void {
    if (this._d.options.managedInstances) this.tick();
  }

  /**
   * The timer. Outside an invocation the environment may freeze at any
   * moment, so it starts nothing there (except on Managed Instances).
   */
  tick(): void {
    const o = this._d.options;
    if (!o.managedInstances && this._invoke === undefined) return;
    const pipeline = this._d.pipeline();
    if (!pipeline?.due()) return;
    const deadlineMs = Math.min(
      this._now() + o.exportTimeoutMs,
      this._invoke?.deadlineMs ?? Number.POSITIVE_INFINITY
    );
    this._flush(pipeline, deadlineMs, false).catch(this._d.onError);
  }

  /**
   * SHUTDOWN (`deadlineMs`: the shutdown deadline less the margin, epoch
   * ms; `receivedMs`: when SHUTDOWN came). Resolves by the deadline.
   */
  async onShutdown(deadlineMs: number, receivedMs: number): Promise<void> {
    await this._awaitReports(deadlineMs, receivedMs);
    await this._awaitLoad(deadlineMs);
    const pipeline = this._d.pipeline();
    if (pipeline === undefined) return;
    // Passes until nothing is left, while time allows: whatever arrives
    // while a flush runs gets another pass, and so does a batch that failed
    // transiently (the receiver may be back: SHUTDOWN is the last chance),
    // after a short pause. Only a pass in which nothing happened at all
    // ends it early.
    while (this._now() < deadlineMs) {
      const { sentEvents, failedExports } = pipeline.stats;
      await this._flush(pipeline, deadlineMs, true);
      if (pipeline.waitingEvents - pipeline.inFlightEvents <= 0) break;
      const s = pipeline.stats;
      if (s.sentEvents !== sentEvents) continue;
      if (s.failedExports === failedExports) break;
      await sleepUntil(
        Math.min(this._now() + SHUTDOWN_RETRY_PAUSE_MS, deadlineMs),
        this._now
      );
    }
    // Drops found by the last flush are told too, if time allows.
    if (this._now() < deadlineMs) {
      await this._flush(pipeline, deadlineMs, true);
    }
  }

  /**
   * The last invocation's platform.report is emitted only after our last
   * /next (on Managed Instances, those of the invocations still running at
   * SHUTDOWN come later still): wait for every invocation that started and
   * has none, as long as the final export keeps its reserve (lambda-apis.md
   * §2.2: report after every extension's next; §1.6: the 2 s shutdown).
   */
  private async _awaitReports(
    deadlineMs: number,
    receivedMs: number
  ): Promise<void> {
    const intake = this._d.intake;
    const o = this._d.options;
    if (o.reportsSubscribed === false) return;
    const cap = o.shutdownWaitMs;
    const reserveMs = shutdownReserveMs(
      this._d.pipeline()?.slowestExportMs ?? 0,
      deadlineMs - receivedMs
    );
    const untilMs = Math.min(
      deadlineMs - reserveMs,
      cap === undefined ? Number.POSITIVE_INFINITY : receivedMs + cap
    );
    if (o.managedInstances && (o.bufferTimeoutMs ?? 0) > 0) {
      // What Lambda still buffers lands first: a platform.start in it is
      // an invocation whose report is then waited for.
      await sleepUntil(
        Math.min(
          receivedMs + (o.bufferTimeoutMs ?? 0) + DELIVERY_SLACK_MS,
          untilMs
        ),
        this._now
      );
    }
    if (intake.unreported === 0) return;
    await intake.waitFor(() => intake.unreported === 0, untilMs);
  }

  private async _flush(
    pipeline: TelemetryPipeline,
    deadlineMs: number,
    final: boolean
  ): Promise<void> {
    this._d.beforeFlush();
    await pipeline.flush(deadlineMs, final);
  }

  /** Early events are mapped once the format loads: wait for it, bounded. */
  private async _awaitLoad(deadlineMs: number): Promise<void> {
    const loading = this._d.loading();
    if (loading !== undefined && this._d.pipeline() === undefined) {
      await untilDeadline(loading, deadlineMs, this._now);
    }
  }
}
