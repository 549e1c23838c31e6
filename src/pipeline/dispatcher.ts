/**
 * Decides what goes into each export request and keeps the accounts: splits
 * the queue into requests (per signal, under the size bound), retries what
 * failed transiently while the deadline allows, puts back what still could
 * not be sent (in order), and counts what had to be dropped. The flush
 * policy (flush-policy.ts) decides when to flush; the exporter only sends.
 */
import { DEFAULT_RETRY } from '../constants.js';
import type { BatchExporter, ExportResult } from '../export/result.js';
import { type RetryPolicy, retryDelayMs } from '../export/retry.js';
import { untilDeadline } from '../util/deadline.js';
import type { Logger } from '../util/log.js';
import type { BoundedQueue, QueueItem } from './queue.js';

/**
 * The raw format's dispatcher settings: `maxRequestBytes` bytes per request
 * body; `retry` (default DEFAULT_RETRY), `now` (epoch ms) and `random` are
 * replaced in tests.
 */
export interface DispatcherOptions<T> {
  queue: BoundedQueue<T>;
  maxRequestBytes: number;
  /** Items per request (the batch processors' max_export_batch_size). */
  maxBatchItems?: number;
  log: Logger;
  retry?: RetryPolicy;
  now?: () => number;
  random?: () => number;
}

/** One flush's bounds. */
export interface FlushRequest {
  /** Absolute epoch ms by which every request has finished or been aborted. */
  deadlineMs: number;
  /**
   * Tries per request within this flush (default 2). SHUTDOWN passes
   * Infinity: retry until the deadline, there is no later flush.
   */
  attempts?: number;
}

/**
 * The dispatcher's counts since start, read by the raw format's pipeline
 * stats (formats/raw.ts).
 */
export interface DispatchStats {
  /** Telemetry API events the endpoint accepted. */
  sentEvents: number;
  /** Events in batches the endpoint refused for good (non-retryable status). */
  rejectedEvents: number;
  /** Events dropped because the queue overflowed. */
  overflowEvents: number;
  /** Requests that failed transiently (each try counts). */
  retryableFailures: number;
  /** Requests aborted at a deadline (before a freeze or at SHUTDOWN). */
  aborted: number;
  /**
   * The longest one request took to be answered (ms): a success, a refusal
   * or a 413 (a retryable failure, with or without an answer, is not
   * counted). 0 until one is.
   */
  slowestRequestMs: number;
}

/** Kept free before a deadline: a retry that ends later is not started. */
const RETRY_MARGIN_MS = 50;
/**
 * A request that failed this close to its flush's deadline ran into it (the
 * exporter's abort timer and the wall clock differ by a millisecond or so).
 */
const DEADLINE_SLACK_MS = 5;

/**
 * The raw format's dispatcher (see above). `flush` and `settle` resolve by
 * their deadline and do not reject on a failed export: the result is
 * counted, and the items requeued or dropped.
 */
export class Dispatcher<T> {
  readonly stats: DispatchStats = {
    sentEvents: 0,
    rejectedEvents: 0,
    overflowEvents: 0,
    retryableFailures: 0,
    aborted: 0,
    slowestRequestMs: 0,
  };
  private _exporter: Promise<BatchExporter<T>> | undefined;
  private _tail: Promise<void> = Promise.resolve();
  private _running = 0;
  private _abort: AbortController | undefined;
  private _abandonedEvents = 0;
  private readonly _now: () => number;
  private _release: ((items: readonly QueueItem<T>[]) => void) | undefined;

  constructor(private readonly _opts: DispatcherOptions<T>) {
    this._now = _opts.now ?? Date.now;
    _opts.queue.onDrop = (item) => this._release?.([item]);
  }

  /** Told of the items that left for good: sent, refused, or dropped. */
  setRelease(release: (items: readonly QueueItem<T>[]) => void): void {
    this._release = release;
  }

  /** The exporter loads lazily (after the first `/next`); flushes wait for it. */
  setExporter(exporter: Promise<BatchExporter<T>>): void {
    this._exporter = exporter;
  }

  get queuedEvents(): number {
    return this._opts.queue.events;
  }

  /**
   * Events of the requests the last flush abandoned at its deadline, still
   * unanswered (queued again, in order): at SHUTDOWN, lost in flight.
   */
  get abandonedEvents(): number {
    return this._abandonedEvents;
  }

  /** A flush is running or waiting to run. */
  get busy(): boolean {
    return this._running > 0;
  }

  enqueue(item: QueueItem<T>): void {
    const dropped = this._opts.queue.push(item);
    if (dropped > 0) this._countOverflow(dropped);
  }

  /**
   * Flushes are single-flight: a caller that arrives while one runs waits
   * for it and then gets its own pass over what is left, so no flush returns
   * while an export another caller started is still in flight (the SDK
   * processors' gap, ecosystem.md B.3).
   */
  flush(req: FlushRequest): Promise<void> {
    this._running++;
    const run = this._tail
      .then(() => this._flushNow(req))
      .finally(() => {
        this._running--;
      });
    this._tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Waits until no flush is running, or until `deadlineMs`; then aborts
   * what is still in flight, so its items go back to the queue. Called
   * before `/next`: nothing may stay half-sent across a freeze.
   */
  async settle(deadlineMs: number): Promise<void> {
    if (!this.busy) return;
    await untilDeadline(this._tail, deadlineMs, this._now);
    if (this.busy) {
      this._abort?.abort();
      await this._tail;
    }
  }

  private async _flushNow(req: FlushRequest): Promise<void> {
    const { queue } = this._opts;
    this._abandonedEvents = 0;
    if (queue.length === 0 || this._exporter === undefined) return;
    const exporter = await untilDeadline(
      this._exporter,
      req.deadlineMs,
      this._now
    );
    if (exporter === undefined) return;
    const controller = new AbortController();
    this._abort = controller;
    try {
      while (
        queue.length > 0 &&
        this._now() < req.deadlineMs &&
        !controller.signal.aborted
      ) {
        const batch = queue.take(
          this._opts.maxBatchItems ?? Number.POSITIVE_INFINITY,
          this._opts.maxRequestBytes
        );
        const retry: QueueItem<T>[] = [];
        for (const group of byChannel(batch, exporter)) {
          if (
            retry.length > 0 ||
            this._now() >= req.deadlineMs ||
            controller.signal.aborted
          ) {
            // Once a request failed transiently, the rest waits with it, in
            // order, rather than overtaking it.
            retry.push(...group);
            continue;
          }
          retry.push(
            ...(await this._send(exporter, group, req, controller.signal))
          );
        }
        if (retry.length > 0) {
          const dropped = queue.requeue(retry);
          if (dropped > 0) this._countOverflow(dropped);
          return;
        }
      }
    } finally {
      if (this._abort === controller) this._abort = undefined;
    }
  }

  /**
   * Sends one group, retrying transient failures while the deadline and the
   * attempt budget allow, and halving it when the receiver would find it too
   * large. Returns the items still unsent (to be re-queued).
   */
  private async _send(
    exporter: BatchExporter<T>,
    group: QueueItem<T>[],
    req: FlushRequest,
    signal: AbortSignal
  ): Promise<QueueItem<T>[]> {
    const { log } = this._opts;
    const attempts = req.attempts ?? 2;
    const events = group.reduce((n, it) => n + it.events, 0);
    for (let attempt = 0; ; attempt++) {
      let result: ExportResult;
      const startedMs = this._now();
      try {
        result = await exporter.export(
          group.map((it) => it.value),
          req.deadlineMs,
          signal
        );
      } catch (err) {
        result = { status: 'retryable', reason: String(err) };
      }
      if (result.status !== 'retryable') {
        this.stats.slowestRequestMs = Math.max(
          this.stats.slowestRequestMs,
          this._now() - startedMs
        );
      }
      switch (result.status) {
        case 'success':
          this.stats.sentEvents += events;
          this._release?.(group);
          return [];
        case 'too-large': {
          const half = Math.ceil(group.length / 2);
          const first = await this._send(
            exporter,
            group.slice(0, half),
            req,
            signal
          );
          if (first.length > 0) return [...first, ...group.slice(half)];
          return this._send(exporter, group.slice(half), req, signal);
        }
        case 'failure':
          this.stats.rejectedEvents += events;
          log.limited(
            'error',
            `export.failure.${result.reason}`,
            'export refused; batch dropped',
            { reason: result.reason, events }
          );
          this._release?.(group);
          return [];
        case 'retryable': {
          this.stats.retryableFailures++;
          if (signal.aborted) {
            this.stats.aborted++;
            return group;
          }
          if (this._now() >= req.deadlineMs - DEADLINE_SLACK_MS) {
            // Cut at the deadline without an answer: the receiver may have
            // it. Queued again (below), but in flight as far as anyone knows.
            this._abandonedEvents += events;
          }
          const wait = retryDelayMs(
            attempt,
            this._opts.retry ?? DEFAULT_RETRY,
            result.retryAfterMs,
            this._opts.random
          );
          const fits = this._now() + wait + RETRY_MARGIN_MS < req.deadlineMs;
          if (attempt + 1 >= attempts || !fits) {
            log.limited(
              'warn',
              `export.retryable.${result.reason}`,
              'export failed; events stay queued for the next flush',
              { reason: result.reason, events }
            );
            return group;
          }
          await sleep(wait, signal);
        }
      }
    }
  }

  private _countOverflow(dropped: number): void {
    this.stats.overflowEvents += dropped;
    this._opts.log.limited(
      'warn',
      'queue.overflow',
      'queue full; oldest events dropped',
      { dropped, droppedTotal: this.stats.overflowEvents }
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
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
