/**
 * Intake: every Telemetry API delivery passes here once, each event parsed
 * as it is read (lambda/batch.ts). It counts, applies the receipt filters,
 * notes what the flush policy waits for (runtimeDone and report ids) and
 * Lambda's own drops, and hands each event to the format's pipeline. Events
 * that come before the format has loaded wait here, within the queue's
 * event bound.
 *
 * SnapStart (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start): Lambda snapshots
 * this process after init and restores many environments from the copy, so
 * whatever is held at the snapshot would be sent by every one of them.
 * Events received before the restore (`platform.restoreStart`, the first
 * event a restored environment delivers) are therefore held here, unmapped
 * and unsent; at the restore they are dropped and counted
 * (`snapshotDropped`), and the pipeline's `afterRestore()` runs before the
 * restore's own events are mapped. An environment that ends (SHUTDOWN)
 * without a restore is the snapshot's own: it sends what it held
 * (`releaseHeld()`).
 */
import type { Filters } from './config/config.js';
import {
  eventType,
  requestIdOf,
  type TelemetryEvent,
} from './lambda/events.js';
import { createFilter } from './lambda/filter.js';
import type { TelemetryPipeline } from './pipeline/pipeline.js';
import type { Logger } from './util/log.js';

/** Remembers the last few ids: enough to know the last one came. */
const IDS_REMEMBERED = 16;
/**
 * Invocations remembered as started and not yet reported: the most a
 * Managed Instances environment runs at once is far below this (its
 * per-vCPU concurrency); past it the oldest are forgotten.
 */
const UNREPORTED_REMEMBERED = 1_024;

/** How the intake filters and holds; `now` (epoch ms) defaults to `Date.now`. */
export interface IntakeOptions {
  filters: Filters;
  /**
   * Invocations run one at a time (not Managed Instances): an invocation's
   * `platform.report` then comes before the next one starts, so a report
   * also settles every invocation noted before it (one whose report Lambda
   * dropped is not waited for at SHUTDOWN).
   */
  sequential?: boolean;
  /** Events held before the format loads (the queue's event bound). */
  maxEarlyEvents: number;
  /** AWS_LAMBDA_INITIALIZATION_TYPE=snap-start: hold events until the restore. */
  snapStart?: boolean;
  log: Logger;
  now?: () => number;
}

/**
 * The intake (see above). Its public counters are events, summed over the
 * process's life; the lifecycle's drop report and shutdown line read them.
 */
export class Intake {
  /** Events received from the Telemetry API (before filtering). */
  received = 0;
  /** Events dropped by the receipt filters. */
  filtered = 0;
  /** Events discarded: nowhere to send, or an event the mapper could not map. */
  discarded = 0;
  /** Events dropped while the format was still loading (past the bound). */
  earlyDropped = 0;
  /** Lambda's own platform.logsDropped, summed (records). */
  lambdaDropped = 0;
  /** Events received before a SnapStart restore, dropped at it. */
  snapshotDropped = 0;
  /** A platform.restoreStart has been seen. */
  private _restored = false;
  /** The restore came before the format loaded: attach() runs the hook. */
  private _restorePending = false;
  /** SHUTDOWN came with no restore: nothing is held any more. */
  private _released = false;
  private _pipeline: TelemetryPipeline | undefined;
  private _discard = false;
  private _early: TelemetryEvent[] = [];
  private readonly _reports: string[] = [];
  private readonly _done: string[] = [];
  /** Started (INVOKE or platform.start) and not yet reported, oldest first. */
  private readonly _unreported = new Set<string>();
  private readonly _keep: ReturnType<typeof createFilter>;
  private readonly _waiters = new Set<() => void>();
  private readonly _now: () => number;
  /** Called after each delivery (the policy's check on Managed Instances). */
  onDelivery: (() => void) | undefined;

  constructor(private readonly _o: IntakeOptions) {
    this._keep = createFilter(_o.filters);
    this._now = _o.now ?? Date.now;
  }

  /** No pipeline will come: every event from now on is discarded. */
  get discarding(): boolean {
    return this._discard;
  }

  /** Events waiting here for the format to load (or for a restore). */
  get earlyEvents(): number {
    return this._early.length;
  }

  /** SnapStart, before the restore: events are held, not mapped. */
  private get _holding(): boolean {
    return this._o.snapStart === true && !this._restored && !this._released;
  }

  /**
   * The format has loaded: early events go to its pipeline. `undefined`:
   * nowhere to send; every event from now on is counted as discarded.
   */
  attach(pipeline: TelemetryPipeline | undefined): void {
    const early = this._early;
    this._early = [];
    if (pipeline === undefined) {
      this._discard = true;
      this.discarded += early.length;
      return;
    }
    this._pipeline = pipeline;
    if (this._restorePending) {
      this._restorePending = false;
      this._afterRestore(pipeline);
    }
    if (this._holding) {
      this._early = early;
      return;
    }
    for (const event of early) this._mapOne(pipeline, event);
    pipeline.seal();
  }

  /**
   * SHUTDOWN: an environment that was never restored is the snapshot's
   * own, the one copy of what it held; it goes to the pipeline now.
   */
  releaseHeld(): void {
    if (!this._holding) return;
    this._released = true;
    // Not loaded yet: attach() maps them when it is.
    const pipeline = this._pipeline;
    if (pipeline === undefined) return;
    const early = this._early;
    this._early = [];
    for (const event of early) this._mapOne(pipeline, event);
    pipeline.seal();
  }

  /** One delivery, in one pass. */
  receive(batch: Iterable<TelemetryEvent>): void {
    const keep = this._keep;
    const pipeline = this._pipeline;
    for (const event of batch) {
      this.received++;
      // What Lambda has sent, whatever the filters keep: a report that is
      // filtered out has still come, and is not waited for.
      const type = eventType(event);
      this._noteInvocation(event, type);
      // Seen whatever the receipt filters keep.
      if (type === 'platform.restoreStart') this._restore();
      if (keep && !keep(event)) {
        this.filtered++;
        continue;
      }
      this._note(event, type);
      if (this._discard) this.discarded++;
      else if (pipeline === undefined || this._holding) this._early.push(event);
      else this._mapOne(pipeline, event);
    }
    pipeline?.seal();
    const over = this._early.length - this._o.maxEarlyEvents;
    if (over > 0) {
      this._early.splice(0, over);
      this.earlyDropped += over;
    }
    for (const wake of [...this._waiters]) wake();
    this.onDelivery?.();
  }

  hasReport(requestId: string): boolean {
    return this._reports.includes(requestId);
  }

  /**
   * An invocation has started (INVOKE; `platform.start` is noted from the
   * stream): it is waited for at SHUTDOWN until its report comes.
   */
  noteInvoke(requestId: string | undefined): void {
    // A snapshot is never invoked: an invocation means this environment was
    // restored, even while its platform.restoreStart still sits in Lambda's
    // buffer (a SHUTDOWN right after a short invocation can come first,
    // and what the snapshot held would then go out from every copy).
    if (this._o.snapStart === true && !this._restored) this._restore();
    if (requestId === undefined || this._unreported.has(requestId)) return;
    if (this._reports.includes(requestId)) return;
    this._unreported.add(requestId);
    if (this._unreported.size > UNREPORTED_REMEMBERED) {
      const oldest = this._unreported.values().next().value;
      if (oldest !== undefined) this._unreported.delete(oldest);
    }
  }

  /** Invocations that started and whose `platform.report` has not come. */
  get unreported(): number {
    return this._unreported.size;
  }

  hasRuntimeDone(requestId: string): boolean {
    return this._done.includes(requestId);
  }

  /** Resolves when `done()` holds after a delivery, or at `untilMs` (epoch ms). */
  waitFor(done: () => boolean, untilMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this._waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, Math.max(0, untilMs - this._now()));
      this._waiters.add(check);
    });
  }

  private _noteInvocation(event: TelemetryEvent, type: string): void {
    if (type === 'platform.start') {
      this.noteInvoke(requestIdOf(event));
    } else if (type === 'platform.report') {
      const id = requestIdOf(event);
      if (id === undefined) return;
      this._reports.push(id);
      if (this._reports.length > IDS_REMEMBERED) this._reports.shift();
      if (!this._unreported.has(id)) return;
      if (this._o.sequential) {
        // Insertion order is start order: everything before it is settled.
        for (const older of this._unreported) {
          this._unreported.delete(older);
          if (older === id) break;
        }
      } else {
        this._unreported.delete(id);
      }
    }
  }

  /** The restore: what came before it is the snapshot's (see the top). */
  private _restore(): void {
    // Only a SnapStart environment is restored, and only once: a stray or
    // replayed restoreStart must not drop events as the snapshot's.
    if (this._o.snapStart !== true || this._restored) return;
    this._restored = true;
    const dropped = this._early.length;
    this._early = [];
    this.snapshotDropped += dropped;
    this._o.log.info('restored from a SnapStart snapshot', {
      droppedFromSnapshot: dropped,
    });
    if (this._pipeline === undefined) this._restorePending = !this._discard;
    else this._afterRestore(this._pipeline);
  }

  private _afterRestore(pipeline: TelemetryPipeline): void {
    try {
      pipeline.afterRestore?.();
    } catch (err) {
      this._o.log.limited('error', 'restore', 'after-restore step failed', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private _note(event: TelemetryEvent, type: string): void {
    if (type === 'platform.runtimeDone') {
      const id = requestIdOf(event);
      if (id !== undefined) {
        this._done.push(id);
        if (this._done.length > IDS_REMEMBERED) this._done.shift();
      }
    } else if (type === 'platform.logsDropped') {
      const n = (event.record as { droppedRecords?: unknown } | null)
        ?.droppedRecords;
      if (typeof n === 'number' && Number.isFinite(n)) this.lambdaDropped += n;
    }
  }

  private _mapOne(pipeline: TelemetryPipeline, event: TelemetryEvent): void {
    try {
      pipeline.map(event);
    } catch (err) {
      this.discarded++;
      this._o.log.limited(
        'error',
        'map',
        'an event could not be mapped; skipped',
        {
          type: eventType(event),
          error: err instanceof Error ? err.message : String(err),
        }
      );
    }
  }
}
