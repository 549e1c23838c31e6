/**
 * Decides what goes into each export request and keeps the accounts:
 * applies DISPATCH_MIN_BATCH_SIZE, splits the queue into requests, puts
 * back what could not be sent (in order) and counts what had to be dropped.
 * The lifecycle decides when to flush; the exporter only sends.
 */
import type { BatchExporter, ExportResult } from '../export/result.js';
import type { Logger } from '../util/log.js';
import type { BoundedQueue, QueueItem } from './queue.js';

export interface DispatcherOptions<T> {
  queue: BoundedQueue<T>;
  minBatchSize: number;
  maxRequestBytes: number;
  log: Logger;
  now?: () => number;
}

export interface FlushRequest {
  /** SHUTDOWN: send everything whatever DISPATCH_MIN_BATCH_SIZE says. */
  force: boolean;
  /** Absolute epoch ms by which every request has finished or been aborted. */
  deadlineMs: number;
}

export interface DispatchStats {
  /** Telemetry API events the endpoint accepted. */
  sentEvents: number;
  requests: number;
  /** Events in batches the endpoint refused for good (non-retryable status). */
  rejectedEvents: number;
  /** Events dropped because the queue overflowed. */
  overflowEvents: number;
  /** Requests that failed transiently; their events stayed queued. */
  retryableFailures: number;
}

export class Dispatcher<T> {
  readonly stats: DispatchStats = {
    sentEvents: 0,
    requests: 0,
    rejectedEvents: 0,
    overflowEvents: 0,
    retryableFailures: 0,
  };
  private _exporter: Promise<BatchExporter<T>> | undefined;
  private _tail: Promise<void> = Promise.resolve();
  private readonly _now: () => number;

  constructor(private readonly _opts: DispatcherOptions<T>) {
    this._now = _opts.now ?? Date.now;
  }

  /** The exporter loads lazily (after the first `/next`); flushes wait for it. */
  setExporter(exporter: Promise<BatchExporter<T>>): void {
    this._exporter = exporter;
  }

  get queuedEvents(): number {
    return this._opts.queue.events;
  }

  /** Whether a non-forced flush would send now. */
  get ready(): boolean {
    return (
      this._opts.queue.length > 0 &&
      this._opts.queue.events >= this._opts.minBatchSize
    );
  }

  enqueue(item: QueueItem<T>): void {
    const dropped = this._opts.queue.push(item);
    if (dropped > 0) this._countOverflow(dropped);
  }

  /**
   * Flushes are serialized: a caller that arrives while one runs waits for
   * it and then gets its own pass, so a SHUTDOWN flush never returns while a
   * timer-started export is still in flight (the SDK processors' gap,
   * ecosystem.md B.3).
   */
  flush(req: FlushRequest): Promise<void> {
    const run = this._tail.then(() => this._flushNow(req));
    this._tail = run.catch(() => undefined);
    return run;
  }

  private async _flushNow(req: FlushRequest): Promise<void> {
    const { queue, log } = this._opts;
    if (!req.force && !this.ready) return;
    if (queue.length === 0 || this._exporter === undefined) return;
    const exporter = await withDeadline(
      this._exporter,
      req.deadlineMs,
      this._now
    );
    if (exporter === undefined) return;
    while (queue.length > 0 && this._now() < req.deadlineMs) {
      const batch = queue.take(
        Number.POSITIVE_INFINITY,
        this._opts.maxRequestBytes
      );
      const events = batch.reduce((n, it) => n + it.events, 0);
      let result: ExportResult;
      try {
        result = await exporter.export(
          batch.map((it) => it.value),
          req.deadlineMs
        );
      } catch (err) {
        result = { status: 'retryable', reason: String(err) };
      }
      this.stats.requests++;
      if (result.status === 'success') {
        this.stats.sentEvents += events;
        continue;
      }
      if (result.status === 'retryable') {
        this.stats.retryableFailures++;
        const dropped = queue.requeue(batch);
        if (dropped > 0) this._countOverflow(dropped);
        log.limited(
          'warn',
          `export.retryable.${result.reason}`,
          'export failed; events stay queued for the next flush',
          {
            reason: result.reason,
            events,
          }
        );
        return;
      }
      this.stats.rejectedEvents += events;
      log.limited(
        'error',
        `export.failure.${result.reason}`,
        'export refused; batch dropped',
        {
          reason: result.reason,
          events,
        }
      );
    }
  }

  private _countOverflow(dropped: number): void {
    this.stats.overflowEvents += dropped;
    this._opts.log.limited(
      'warn',
      'queue.overflow',
      'queue full; oldest events dropped',
      {
        dropped,
        droppedTotal: this.stats.overflowEvents,
      }
    );
  }
}

/** Resolves to undefined if `p` has not settled (or failed) by the deadline. */
async function withDeadline<T>(
  p: Promise<T>,
  deadlineMs: number,
  now: () => number
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - now()), undefined);
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
