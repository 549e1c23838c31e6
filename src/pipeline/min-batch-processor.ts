/**
 * Our `LogRecordProcessor` and `SpanProcessor` in one object, so logs and
 * spans share one count of Telemetry API events and leave at the same
 * INVOKE: it decides *what* goes into each export; the flush policy
 * (flush-policy.ts) decides *when* (through the OTLP pipeline,
 * formats/otlp.ts, it asks `due()` and calls `forceFlush(deadlineMs)`); the
 * exporters only send.
 *
 * Rules (README "The dispatch rule", "What happens when the receiver fails"):
 * - DISPATCH_MIN_BATCH_SIZE: a flush other than SHUTDOWN's sends only when at
 *   least that many Telemetry API events wait: queued, in flight, put back
 *   after a failure, or held upstream (a span waiting for its report).
 * - Records are gathered per signal into an open batch; a batch is sealed
 *   (serialized by the official OTLP serializer into the request it will be)
 *   when it holds `maxExportBatchSize` records, at the end of each Telemetry
 *   API delivery (`seal()`), and before a flush. So no record object lives
 *   longer than the mapping of one delivery: V8 promotes what survives young
 *   collections, and 10,000 records held as SDK objects until an export
 *   answered cost 50 MiB charged in a 128 MiB function (npm run bench); the
 *   queue holds the bytes, and a retry costs no new serialization.
 * - Between flushes, while a batch's worth of records is queued for a
 *   signal and the rule allows, batches leave at once, each answer letting
 *   the next go (the SDK's BatchLogRecordProcessor exports once its queue
 *   holds a full batch); less than a batch waits for the next flush.
 * - One bounded queue, in events and bytes (estimated while a record is in
 *   the open batch, exact once sealed), for both signals. Batches handed to
 *   an exporter and not yet answered count against the bounds. Past them
 *   the oldest sealed batch goes first, counted in records and in events. A
 *   batch holds at most a quarter of the event bound in records and is
 *   sealed once its estimate passes a quarter of the byte bound, so small
 *   bounds hold.
 * - At most `maxExportsInFlight` exports per signal at once.
 * - An export that fails transiently (the transport already retried it:
 *   429/502/503/504, network errors, its timeout) goes back into the queue
 *   in its arrival order, and that signal sends nothing more until the next
 *   flush. One that failed for good (any other HTTP status, a TLS error, an
 *   answer too large to read) is dropped and counted. Nothing is counted
 *   twice.
 * - `forceFlush()` waits for every export running, its own or another
 *   flush's, and sends what was sealed meanwhile (the SDK's
 *   BatchLogRecordProcessor returns at once when a flush is already running:
 *   ecosystem.md B.3). Each call keeps its own deadline, whatever the
 *   others' are: a SHUTDOWN flush never waits behind an INVOKE one, and
 *   nothing starts once a call's deadline has passed. Exports still running
 *   then are left to finish; their records are accounted for when their
 *   result comes.
 * - `shutdown()` runs once; records after it are counted as discarded.
 */
import type { Context } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type {
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import type {
  ReadableSpan,
  Span,
  SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { untilDeadline } from '../util/deadline.js';
import type { Logger } from '../util/log.js';
import { dispatchDue } from './dispatcher.js';
import { eventCountOf, spanEventCount } from './event-count.js';

/** The two signals the processor batches (metrics have their own reader). */
export type Signal = 'logs' | 'traces';

/**
 * One export request's worth of records, serialized: what the queue holds
 * and the exporters send (OTLPExporterBase over a pass-through serializer).
 */
export interface SerializedBatch {
  /** The ExportLogsServiceRequest / ExportTraceServiceRequest bytes. */
  body: Uint8Array;
  /** Log records or spans in it. */
  records: number;
}

/** What sends a sealed batch: `export(batch, resultCallback)`, as OTLPExporterBase. */
export interface BatchExporter {
  export(batch: SerializedBatch, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** The official serializers' `serializeRequest`, per signal. */
export interface BatchSerializers {
  logs(records: ReadableLogRecord[]): Uint8Array | undefined;
  traces(spans: ReadableSpan[]): Uint8Array | undefined;
}

/**
 * The processor's settings (see the rules above); `now` (epoch ms) defaults
 * to `Date.now`.
 */
export interface MinBatchProcessorOptions {
  /** Where each signal goes; a signal without exporter is counted as discarded. */
  exporters: { logs?: BatchExporter; traces?: BatchExporter };
  serializers: BatchSerializers;
  /** DISPATCH_MIN_BATCH_SIZE, in Telemetry API events (>= 1). */
  minBatchSize: number;
  /** Queue bound in Telemetry API events (queued + in flight). */
  maxQueueEvents: number;
  /** Queue bound in estimated bytes (queued + in flight). */
  maxQueueBytes: number;
  /** Records (or spans) per export request. */
  maxExportBatchSize: number;
  /** Exports of one signal running at once. */
  maxExportsInFlight: number;
  /**
   * After a transient failure, how long a signal waits before full batches
   * may leave between flushes again (ms; FLUSH_INTERVAL_MS): with
   * `next-invoke` the next flush may be a long invocation away.
   */
  retryAfterMs?: number;
  /** Events held upstream that count toward the rule (spans awaiting reports). */
  heldEvents?: () => number;
  log: Logger;
  now?: () => number;
}

/** What happened to everything the processor was given, in events and records. */
export interface ProcessorStats {
  sentEvents: number;
  sentRecords: number;
  /** Refused for good by the receiver (a non-retryable status). */
  rejectedEvents: number;
  rejectedRecords: number;
  /** Dropped as the oldest past the queue bounds. */
  overflowEvents: number;
  overflowRecords: number;
  /** For a signal with no exporter. */
  discardedEvents: number;
  /** Export requests that failed transiently (each failure counts). */
  failedExports: number;
}

/**
 * The records (log records or spans) of one signal whose fate is final, by
 * outcome: what `otel.sdk.processor.*.processed` reports (README, Metrics).
 * Counted once per record, when its fate is known: a batch put back after
 * a transient failure is counted when it is finally sent or dropped.
 */
export interface SignalOutcomes {
  /** Accepted by the receiver. */
  sent: number;
  /** Dropped as the oldest past the queue bounds (`queue_full`). */
  queueFull: number;
  /** Arrived after shutdown (`already_shutdown`). */
  afterShutdown: number;
  /** Refused for good, by reason: the HTTP status, or the error's code. */
  refused: Map<string, number>;
}

interface Entry {
  batch: SerializedBatch;
  events: number;
  bytes: number;
  /** Arrival order across both signals, so overflow drops the oldest. */
  seq: number;
}

/** Records gathered for the next batch of one signal. */
interface OpenBatch {
  items: (ReadableLogRecord | ReadableSpan)[];
  events: number;
  /** Estimated, until sealed. */
  bytes: number;
}

class SignalQueue {
  entries: (Entry | undefined)[] = [];
  head = 0;
  inFlight = 0;
  /** Records in the queued (sealed, not in flight) batches. */
  records = 0;
  /**
   * After a transient failure: send nothing more until the next flush, or,
   * between flushes, until `stalledUntil` (epoch ms).
   */
  stalled = false;
  stalledUntil = 0;
  push(entry: Entry): void {
    this.entries.push(entry);
    this.records += entry.batch.records;
  }
  get length(): number {
    return this.entries.length - this.head;
  }
  peek(): Entry | undefined {
    return this.entries[this.head];
  }
  shift(): Entry | undefined {
    const e = this.entries[this.head];
    if (e === undefined) return undefined;
    this.records -= e.batch.records;
    this.entries[this.head] = undefined;
    this.head++;
    // Compact now and then: amortised O(1) per entry.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return e;
  }
  /**
   * Puts a batch back where its arrival order says (batches in flight can
   * fail in any order): oldest first, so a retry keeps the stream in order
   * and overflow still drops the oldest.
   */
  putBack(entry: Entry): void {
    let i = this.head;
    while (
      i < this.entries.length &&
      (this.entries[i] as Entry).seq < entry.seq
    )
      i++;
    this.entries.splice(i, 0, entry);
    this.records += entry.batch.records;
  }
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

const noop = (): void => {};

/**
 * The processor above: the SDK calls `onEmit`/`onEnd`; the OTLP format
 * calls `seal`, `due`, `forceFlush` and `shutdown`. Nothing on this path
 * throws: a failed export is counted in `stats` and `outcomes`.
 */
export class MinBatchProcessor implements LogRecordProcessor, SpanProcessor {
  readonly stats: ProcessorStats = {
    sentEvents: 0,
    sentRecords: 0,
    rejectedEvents: 0,
    rejectedRecords: 0,
    overflowEvents: 0,
    overflowRecords: 0,
    discardedEvents: 0,
    failedExports: 0,
  };
  readonly outcomes: Record<Signal, SignalOutcomes> = {
    logs: { sent: 0, queueFull: 0, afterShutdown: 0, refused: new Map() },
    traces: { sent: 0, queueFull: 0, afterShutdown: 0, refused: new Map() },
  };
  private readonly _queues: Record<Signal, SignalQueue> = {
    logs: new SignalQueue(),
    traces: new SignalQueue(),
  };
  private readonly _open: Record<Signal, OpenBatch> = {
    logs: { items: [], events: 0, bytes: 0 },
    traces: { items: [], events: 0, bytes: 0 },
  };
  /** Records per batch: the export batch size, at most a quarter of the event bound. */
  private readonly _batchRecords: number;
  /** A batch is sealed once its estimate passes a quarter of the byte bound. */
  private readonly _batchBytes: number;
  /** Queued and in flight, both signals. */
  private _events = 0;
  private _bytes = 0;
  private _inFlightEvents = 0;
  private _seq = 0;
  /** Exports started and not yet answered, both signals. */
  private _exportsRunning = 0;
  /**
   * The one flush loop, shared by every forceFlush() running at once: it
   * runs to the latest of their deadlines (epoch ms), and each call waits
   * for it only until its own. One loop, woken once per answer, whatever
   * the number of callers (a timer flush every FLUSH_INTERVAL_MS under a
   * sustained load used to start a loop each, each woken by every answer).
   */
  private _looping = false;
  private _loopDone: Promise<void> = Promise.resolve();
  private _loopDeadlineMs = 0;
  /** Wakes the flush loop when an export answers. */
  private _wake: (() => void) | undefined;
  private _shutdown = false;
  /** See `slowestExportMs`. */
  private _slowestExportMs = 0;
  private _shutdownOnce: Promise<void> | undefined;
  private readonly _now: () => number;

  constructor(private readonly _o: MinBatchProcessorOptions) {
    this._now = _o.now ?? Date.now;
    this._batchRecords = Math.max(
      1,
      Math.min(_o.maxExportBatchSize, Math.floor(_o.maxQueueEvents / 4))
    );
    this._batchBytes = Math.max(1, Math.floor(_o.maxQueueBytes / 4));
  }

  /**
   * The end of one Telemetry API delivery: the open batches are sealed, so
   * no record object outlives the mapping of its delivery.
   */
  seal(): void {
    this._seal('logs');
    this._seal('traces');
    if (this._looping) {
      // A flush is running: what arrived goes with it, now.
      this._send('logs', () => true);
      this._send('traces', () => true);
      return;
    }
    this._pump('logs');
    this._pump('traces');
  }

  // --- LogRecordProcessor -------------------------------------------------

  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    this._add('logs', record, eventCountOf(context), logBytes(record));
  }

  // --- SpanProcessor -------------------------------------------------------

  onStart(_span: Span, _parentContext: Context): void {
    // Spans are built whole by the mapper (X-Ray ids): nothing to do here.
  }

  onEnd(span: ReadableSpan): void {
    this._add('traces', span, spanEventCount(span), spanBytes(span));
  }

  // --- What the pipeline asks (formats/otlp.ts) ---------------------------

  /** Telemetry API events waiting: queued, in flight, and held upstream. */
  get waitingEvents(): number {
    return this._events + (this._o.heldEvents?.() ?? 0);
  }

  /** Events handed to an exporter and not yet answered. */
  get inFlightEvents(): number {
    return this._inFlightEvents;
  }

  /** Records of `signal` waiting: queued and in the open batch, not in flight. */
  queuedRecords(signal: Signal): number {
    return this._queues[signal].records + this._open[signal].items.length;
  }

  /** The queue's bound, in Telemetry API events, shared by both signals. */
  get queueCapacity(): number {
    return this._o.maxQueueEvents;
  }

  /**
   * The longest an export took to be answered (ms, on the injected clock):
   * a success or a refusal by the receiver, retries within the exporter
   * included; a transient failure (no answer, its timeout) is not counted.
   * 0 until one is.
   */
  get slowestExportMs(): number {
    return this._slowestExportMs;
  }

  /** The DISPATCH_MIN_BATCH_SIZE rule: may a non-final flush send now? */
  due(): boolean {
    return dispatchDue(this.waitingEvents, this._o.minBatchSize);
  }

  /**
   * Sends everything queued, in batches, at most `maxExportsInFlight` per
   * signal at once, and waits for those exports, until `deadlineMs` (epoch
   * ms; default: now + 30 s, as the SDK's `exportTimeoutMillis`). Resolves
   * by the deadline, never rejects; exports still running then carry on.
   */
  forceFlush(options?: {
    deadlineMs?: number;
    timeoutMillis?: number;
  }): Promise<void> {
    const deadlineMs =
      options?.deadlineMs ?? this._now() + (options?.timeoutMillis ?? 30_000);
    for (const q of Object.values(this._queues)) q.stalled = false;
    if (this._now() >= deadlineMs) return Promise.resolve();
    this._loopDeadlineMs = Math.max(this._loopDeadlineMs, deadlineMs);
    if (this._looping) {
      // Joins the running loop; what arrived meanwhile leaves now.
      this.seal();
    } else {
      this._loopDone = this._flushLoop();
    }
    return untilDeadline(this._loopDone, deadlineMs, this._now).then(noop);
  }

  /**
   * Flushes (bounded as forceFlush), then shuts the exporters down; runs
   * once, a second call gets the first one's promise. Records after it are
   * counted as discarded.
   */
  shutdown(options?: { deadlineMs?: number }): Promise<void> {
    this._shutdownOnce ??= this._shutdownNow(
      options?.deadlineMs ?? this._now() + 30_000
    );
    return this._shutdownOnce;
  }

  private async _shutdownNow(deadlineMs: number): Promise<void> {
    await this.forceFlush({ deadlineMs });
    this._shutdown = true;
    const { logs, traces } = this._o.exporters;
    // The exporters' own shutdown waits for requests in flight: bounded.
    await untilDeadline(
      Promise.all([logs?.shutdown(), traces?.shutdown()]),
      deadlineMs,
      this._now
    );
  }

  // --- Inside ---------------------------------------------------------------

  private _add(
    signal: Signal,
    item: ReadableLogRecord | ReadableSpan,
    events: number,
    bytes: number
  ): void {
    if (this._shutdown || this._o.exporters[signal] === undefined) {
      this.stats.discardedEvents += events;
      if (this._shutdown) this.outcomes[signal].afterShutdown++;
      return;
    }
    const open = this._open[signal];
    open.items.push(item);
    open.events += events;
    open.bytes += bytes;
    this._events += events;
    this._bytes += bytes;
    if (
      open.items.length >= this._batchRecords ||
      open.bytes >= this._batchBytes
    ) {
      this._seal(signal);
      this._pump(signal);
    } else {
      this._enforceBounds();
    }
  }

  /**
   * Between flushes: while a full batch's worth of records is queued for
   * `signal` and the min-batch rule is met, batches leave at once (as the
   * SDK's BatchLogRecordProcessor exports once its queue holds a full
   * batch), within the in-flight limit; each answer lets the next one go.
   * Less than a batch waits for the next flush (INVOKE, the timer,
   * SHUTDOWN).
   */
  private _pump(signal: Signal): void {
    const q = this._queues[signal];
    if (q.stalled && this._now() >= q.stalledUntil) q.stalled = false;
    this._send(signal, (q) => q.records >= this._batchRecords && this.due());
  }

  /** Starts exports of `signal` while `more` holds, within the limits. */
  private _send(signal: Signal, more: (q: SignalQueue) => boolean): void {
    const q = this._queues[signal];
    while (
      q.length > 0 &&
      !q.stalled &&
      q.inFlight < this._o.maxExportsInFlight &&
      more(q)
    ) {
      this._startExport(signal);
    }
  }

  /** Serializes the open batch of `signal` into a queued entry. */
  private _seal(signal: Signal): void {
    const open = this._open[signal];
    if (open.items.length === 0) return;
    const items = open.items;
    const { events } = open;
    this._open[signal] = { items: [], events: 0, bytes: 0 };
    this._bytes -= open.bytes;
    let body: Uint8Array | undefined;
    try {
      body =
        signal === 'logs'
          ? this._o.serializers.logs(items as ReadableLogRecord[])
          : this._o.serializers.traces(items as ReadableSpan[]);
    } catch (err) {
      body = undefined;
      this._o.log.limited(
        'error',
        `serialize.${signal}`,
        'a batch could not be serialized; dropped',
        {
          signal,
          error: err instanceof Error ? err.message : String(err),
        }
      );
    }
    if (body === undefined) {
      this._events -= events;
      this.stats.rejectedEvents += events;
      this.stats.rejectedRecords += items.length;
      countRefused(this.outcomes[signal], 'serialization_failed', items.length);
      return;
    }
    this._queues[signal].push({
      batch: { body, records: items.length },
      events,
      bytes: body.length,
      seq: this._seq++,
    });
    this._bytes += body.length;
    this._enforceBounds();
  }

  /** Drops the oldest queued entries (either signal) while over a bound. */
  private _enforceBounds(): void {
    const { logs, traces } = this._queues;
    while (
      this._events > this._o.maxQueueEvents ||
      this._bytes > this._o.maxQueueBytes
    ) {
      const a = logs.peek();
      const b = traces.peek();
      const from = a && (!b || a.seq < b.seq) ? logs : b ? traces : undefined;
      // Only exports in flight and the open batch left: in-flight ones are
      // answered soon (dropping what a receiver may already hold would
      // count it twice); the open batch is sealed first, then dropped.
      if (from === undefined) {
        const open = this._open.logs.items.length > 0 ? 'logs' : 'traces';
        if (this._open[open].items.length === 0) return;
        this._seal(open);
        continue;
      }
      // The newest batch always stays: with a bound smaller than one
      // request (a tiny MAX_QUEUE_BYTES), dropping it would send nothing
      // ever. The queue then holds at most one batch over its bound.
      if (logs.length + traces.length === 1 && this._noOpenBatch()) return;
      const e = from.shift() as Entry;
      this._events -= e.events;
      this._bytes -= e.bytes;
      this.stats.overflowEvents += e.events;
      this.stats.overflowRecords += e.batch.records;
      this.outcomes[from === logs ? 'logs' : 'traces'].queueFull +=
        e.batch.records;
      this._o.log.limited(
        'warn',
        'queue.overflow',
        'queue full; oldest telemetry dropped',
        // Records too: a batch of records that stand for no event (spans'
        // children, the drop report) drops records and zero events.
        {
          droppedEvents: this.stats.overflowEvents,
          droppedRecords: this.stats.overflowRecords,
        }
      );
    }
  }

  private _noOpenBatch(): boolean {
    return (
      this._open.logs.items.length === 0 && this._open.traces.items.length === 0
    );
  }

  /**
   * Seals and sends, then waits for an answer (room for the next batch),
   * until nothing is running or the latest caller's deadline has passed.
   * Exports still running then carry on and are accounted for when they
   * answer.
   */
  private async _flushLoop(): Promise<void> {
    this._looping = true;
    let expiry:
      | { deadlineMs: number; at: Promise<void>; timer: NodeJS.Timeout }
      | undefined;
    try {
      for (;;) {
        const deadlineMs = this._loopDeadlineMs;
        if (this._now() >= deadlineMs) return;
        this._seal('logs');
        this._seal('traces');
        this._send('logs', () => true);
        this._send('traces', () => true);
        if (this._exportsRunning === 0) return;
        if (expiry?.deadlineMs !== deadlineMs) {
          if (expiry) clearTimeout(expiry.timer);
          let timer: NodeJS.Timeout | undefined;
          const at = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, Math.max(0, deadlineMs - this._now()));
          });
          expiry = { deadlineMs, at, timer: timer as NodeJS.Timeout };
        }
        const answered = new Promise<void>((resolve) => {
          this._wake = resolve;
        });
        await Promise.race([answered, expiry.at]);
      }
    } finally {
      if (expiry) clearTimeout(expiry.timer);
      this._wake = undefined;
      this._looping = false;
      this._loopDeadlineMs = 0;
    }
  }

  private _startExport(signal: Signal): void {
    const q = this._queues[signal];
    const entry = q.shift();
    // Nothing is queued for a signal without exporter (_add discards it).
    const exporter = this._o.exporters[signal];
    if (entry === undefined || exporter === undefined) return;
    const { events } = entry;
    q.inFlight++;
    this._exportsRunning++;
    this._inFlightEvents += events;
    const startedMs = this._now();
    void new Promise<ExportResult>((resolve) => {
      try {
        exporter.export(entry.batch, resolve);
      } catch (error) {
        resolve({ code: ExportResultCode.FAILED, error: error as Error });
      }
    }).then((result) => {
      q.inFlight--;
      this._exportsRunning--;
      this._inFlightEvents -= events;
      if (
        result.code === ExportResultCode.SUCCESS ||
        !isTransient(result.error)
      ) {
        this._slowestExportMs = Math.max(
          this._slowestExportMs,
          this._now() - startedMs
        );
      }
      this._settle(signal, entry, result);
      const wake = this._wake;
      this._wake = undefined;
      wake?.();
    });
  }

  private _settle(signal: Signal, entry: Entry, result: ExportResult): void {
    const q = this._queues[signal];
    const { events, bytes } = entry;
    const records = entry.batch.records;
    if (result.code === ExportResultCode.SUCCESS) {
      this._events -= events;
      this._bytes -= bytes;
      this.stats.sentEvents += events;
      this.stats.sentRecords += records;
      this.outcomes[signal].sent += records;
      this._pump(signal);
      return;
    }
    if (!isTransient(result.error)) {
      const reason = failureReason(result.error);
      this._events -= events;
      this._bytes -= bytes;
      this.stats.rejectedEvents += events;
      this.stats.rejectedRecords += records;
      countRefused(this.outcomes[signal], refusalType(result.error), records);
      this._o.log.limited(
        'error',
        `export.refused.${signal}.${reason}`,
        'export failed for good; batch dropped',
        typeof (result.error as { code?: unknown } | undefined)?.code ===
          'number'
          ? { signal, status: Number(reason), records, events }
          : { signal, reason, records, events }
      );
      return;
    }
    // Transient (the exporter already retried within its timeout): back at
    // the head, in order, for the next flush; the bounds then apply.
    this.stats.failedExports++;
    q.stalled = true;
    q.stalledUntil = this._now() + (this._o.retryAfterMs ?? 1_000);
    q.putBack(entry);
    this._o.log.limited(
      'warn',
      `export.failed.${signal}`,
      'export failed; records stay queued for the next flush',
      { signal, records, error: errorName(result.error) }
    );
    this._enforceBounds();
  }
}

/**
 * Network failures the OTLP transport itself retries (otlp-exporter-base
 * `isHttpTransportNetworkErrorRetryable`): still failing after its retries,
 * they are worth another flush.
 */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * Is a failed export worth sending again at the next flush? Yes for what
 * the transport retries (429/502/503/504, the network codes above, its
 * request timeout, and its "retryable status" verdict after the last
 * retry) and for its concurrency limit; no for everything it treats as
 * final: any other HTTP status (OTLPExporterError.code), TLS and header
 * errors, an answer larger than it reads (sent again, a 2xx would become a
 * duplicate).
 */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (e === undefined) return true;
  if (typeof e.code === 'number') return RETRYABLE_STATUSES.has(e.code);
  if (typeof e.code === 'string') return TRANSIENT_NETWORK_CODES.has(e.code);
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    message === 'Request timed out' ||
    message.startsWith('Export failed with retryable status') ||
    message === 'Concurrent export limit reached'
  );
}

function countRefused(o: SignalOutcomes, type: string, records: number): void {
  o.refused.set(type, (o.refused.get(type) ?? 0) + records);
}

/**
 * `error.type` of a refusal: the HTTP status ("400"), else the error's
 * code or class name; never its message (unbounded values).
 */
function refusalType(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'number' || typeof e?.code === 'string')
    return String(e.code);
  return typeof e?.name === 'string' ? e.name : '_OTHER';
}

/** For the log: the HTTP status, or the error's code or name; never data. */
function failureReason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return String(code);
  return errorName(error);
}

/** A short, secret-free description: never the error's data or headers. */
function errorName(error: unknown): string {
  if (error === undefined) return 'unknown';
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  return `${String(e.name ?? 'Error')}: ${String(e.message ?? '').slice(0, 120)}`;
}

/**
 * Estimated bytes of a log record (its body and attributes, plus framing):
 * what the queue's byte bound counts. Cheap on purpose: it runs per record.
 */
function logBytes(r: ReadableLogRecord): number {
  const body = r.body;
  let n = 64;
  if (typeof body === 'string') n += body.length;
  else if (body !== null && body !== undefined) n += roughSize(body);
  return n + attributesSize(r.attributes);
}

function spanBytes(s: ReadableSpan): number {
  return 160 + s.name.length + attributesSize(s.attributes);
}

function attributesSize(attrs: Record<string, unknown>): number {
  let n = 0;
  for (const k in attrs) {
    const v = attrs[k];
    n += k.length + 4 + (typeof v === 'string' ? v.length : roughSize(v));
  }
  return n;
}

function roughSize(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (typeof v !== 'object' || v === null) return 8;
  let n = 8;
  if (Array.isArray(v)) for (const x of v) n += roughSize(x);
  else
    for (const k in v as Record<string, unknown>)
      n += k.length + roughSize((v as Record<string, unknown>)[k]);
  return n;
}
