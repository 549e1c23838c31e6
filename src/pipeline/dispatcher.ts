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
  maxRequestBytes: number;
  log: Logger;
  now?: () => number;
}

export interface FlushRequest {
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
    const { queue } = this._opts;
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
      const retry: QueueItem<T>[] = [];
      for (const group of byChannel(batch, exporter)) {
        if (retry.length > 0 || this._now() >= req.deadlineMs) {
          // Once a request failed transiently, the rest waits with it, in
          // order, rather than overtaking it.
          retry.push(...group);
          continue;
        }
        if (!(await this._send(exporter, group, req.deadlineMs))) {
          retry.push(...group);
        }
      }
      if (retry.length > 0) {
        const dropped = queue.requeue(retry);
        if (dropped > 0) this._countOverflow(dropped);
        return;
      }
    }
  }

  /** One request; false if it failed transiently (the items go back). */
  private async _send(
    exporter: BatchExporter<T>,
    group: QueueItem<T>[],
    deadlineMs: number
  ): Promise<boolean> {
    const { log } = this._opts;
    const events = group.reduce((n, it) => n + it.events, 0);
    let result: ExportResult;
    try {
      result = await exporter.export(
        group.map((it) => it.value),
        deadlineMs
      );
    } catch (err) {
      result = { status: 'retryable', reason: String(err) };
    }
    this.stats.requests++;
    if (result.status === 'success') {
      this.stats.sentEvents += events;
      return true;
    }
    if (result.status === 'retryable') {
      this.stats.retryableFailures++;
      log.limited(
        'warn',
        `export.retryable.${result.reason}`,
        'export failed; events stay queued for the next flush',
        { reason: result.reason, events }
      );
      return false;
    }
    this.stats.rejectedEvents += events;
    log.limited(
      'error',
      `export.failure.${result.reason}`,
      'export refused; batch dropped',
      { reason: result.reason, events }
    );
    return true;
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

/** Splits a batch by the exporter's channel, keeping order within each. */
function byChannel<T>(
  batch: QueueItem<T>[],
  exporter: BatchExporter<T>
): QueueItem<T>[][] {
  const channel = exporter.channel;
  if (channel === undefined) return [batch];
  const groups = new Map<string, QueueItem<T>[]>();
  for (const it of batch) {
    const key = channel(it.value);
    const g = groups.get(key);
    if (g) g.push(it);
    else groups.set(key, [it]);
  }
  return [...groups.values()];
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

/**
 * The dispatch rule: a non-SHUTDOWN flush sends only once at least
 * DISPATCH_MIN_BATCH_SIZE Telemetry API events are waiting (queued, re-queued
 * after a failure, or held in a span that waits for its report).
 */
export function dispatchDue(
  waitingEvents: number,
  minBatchSize: number
): boolean {
  return waitingEvents > 0 && waitingEvents >= minBatchSize;
}
