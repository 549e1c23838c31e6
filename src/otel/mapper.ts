/**
 * DISPATCH_FORMAT=otlp: Telemetry API events as OpenTelemetry log records
 * and spans, in arrival order.
 *
 * Counting: every event is counted exactly once, in the item it went into.
 * A span counts the events it was built from; the platform log line of such
 * an event counts 0 (it rides along); every other event counts 1 in its log
 * record.
 */
import {
  type AnyValue,
  type Attributes,
  type Context,
  type Logger as OtelLogger,
  type LogRecord,
  ROOT_CONTEXT,
  SeverityNumber,
  type SpanContext,
  trace,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  type LogRecordLimits,
  type LogRecordProcessor,
  LoggerProvider,
} from '@opentelemetry/sdk-logs';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { eventType, type TelemetryEvent } from '../lambda/events.js';
import { DROP_REPORT_TYPE, type DropReport } from '../map/mapper.js';
import { EVENT_COUNT_KEY, setSpanEventCount } from '../pipeline/event-count.js';
import { parseLogRecord, platformLine } from './logs.js';
import type { FaasMetrics, InvocationOutcome } from './metrics.js';
import { buildResource } from './resource.js';
import {
  ATTR_DROPPED_BY_LAMBDA,
  ATTR_DROPPED_QUEUE_OVERFLOW,
  ATTR_DROPPED_REJECTED,
  ATTR_FAAS_INVOCATION_ID,
  ATTR_LAMBDA_EVENT_TYPE,
  ATTR_LOG_ORIGINAL_LENGTH,
  ATTR_LOG_TRUNCATED,
  ATTR_LOGS_DROPPED_BYTES,
  ATTR_LOGS_DROPPED_REASON,
  ATTR_LOGS_DROPPED_RECORDS,
} from './semconv.js';
import { SpanAssembler } from './spans.js';
import { parseTimeMs, toHrTime } from './time.js';
import { type IdGenerator, processIds } from './trace-context.js';

/**
 * The SDK's record model and limits (OpenTelemetry logs SDK spec,
 * LogRecordLimits): at most 128 attributes per record, values of any length
 * (a log body is cut by `maxBodyChars` instead).
 */
export const LOG_RECORD_LIMITS: Required<LogRecordLimits> = {
  attributeCountLimit: 128,
  attributeValueLengthLimit: Number.POSITIVE_INFINITY,
};

/**
 * What the mapper needs; `functionName` names the invocation span (README,
 * "What the spans and log records carry").
 */
export interface OtelMapperOptions {
  functionName: string;
  resourceAttributes: Attributes;
  managedInstances: boolean;
  /** START/END/REPORT/INIT_* lines as log records (logsDropped always). */
  platformLogs: boolean;
  /** Longer string bodies are cut here and marked truncated. */
  maxBodyChars: number;
  /** Signals that have an endpoint; the others are counted as discarded. */
  signals: { logs: boolean; traces: boolean };
  scopeVersion: string;
  /**
   * Receives every log record (through the SDK's LoggerProvider) and every
   * finished span: our batching processor, or a test's recorder.
   */
  processor: LogRecordProcessor & Pick<SpanProcessor, 'onEnd'>;
  /** Where span and trace ids come from (default: the process's generator). */
  ids?: IdGenerator;
  /** The FaaS metrics, recorded per platform event; none when metrics are off. */
  metrics?: FaasMetrics | undefined;
  now?: () => number;
}

/**
 * The mapping itself: log records are emitted through an SDK `Logger` (one
 * `LoggerProvider` with our resource), spans are built whole (X-Ray ids,
 * which the SDK `Tracer` cannot take) and handed to the processor's `onEnd`.
 */
export class OtelMapper {
  private _resource: Resource;
  private readonly _scope: InstrumentationScope;
  private readonly _spans: SpanAssembler;
  private readonly _now: () => number;
  private _logger: OtelLogger;
  private _lastContext:
    | { events: number; span: SpanContext | undefined; context: Context }
    | undefined;
  /** The invocation between platform.start and runtimeDone (not on LMI). */
  private _active: string | undefined;
  private _lastTimeMs = 0;
  private _discarded = 0;

  private readonly _ids: IdGenerator;

  constructor(private readonly _o: OtelMapperOptions) {
    this._now = _o.now ?? Date.now;
    this._ids = _o.ids ?? processIds;
    this._resource = buildResource(_o.resourceAttributes);
    this._scope = { name: 'lambda-telemetry-otel', version: _o.scopeVersion };
    this._logger = this._newLogger();
    this._spans = new SpanAssembler(
      {
        functionName: _o.functionName,
        resource: () => this._resource,
        scope: this._scope,
        ids: this._ids,
        ...(_o.metrics
          ? {
              onInvocation: (o: InvocationOutcome) =>
                this._metric(() => _o.metrics?.invocation(o)),
            }
          : {}),
      },
      ({ span, events }) => {
        if (!this._o.signals.traces) {
          this._discarded += events;
          return;
        }
        setSpanEventCount(span, events);
        this._o.processor.onEnd(span);
      }
    );
  }

  /**
   * A LoggerProvider's resource is fixed: when Lambda tells the instance id
   * (faas.instance), a new provider takes over, with the same processor.
   * The old one is not shut down: that would shut the shared processor.
   */
  private _newLogger(): OtelLogger {
    const provider = new LoggerProvider({
      resource: this._resource,
      logRecordLimits: LOG_RECORD_LIMITS,
      processors: [this._o.processor],
    });
    return provider.getLogger(this._scope.name, this._scope.version);
  }

  get pendingEvents(): number {
    return this._spans.pendingEvents;
  }

  get discardedEvents(): number {
    return this._discarded;
  }

  noteInvoke(
    requestId: string | undefined,
    invokedArn: string | undefined
  ): void {
    if (requestId !== undefined) this._spans.noteInvoke(requestId, invokedArn);
  }

  map(event: TelemetryEvent): void {
    const type = eventType(event);
    const observedMs = this._now();
    const timeMs = parseTimeMs(event.time) ?? observedMs;
    if (type === 'function' || type === 'extension') {
      this._logLine(type, event.record, timeMs, observedMs);
      return;
    }
    const record = (
      event.record !== null &&
      typeof event.record === 'object' &&
      !Array.isArray(event.record)
        ? event.record
        : {}
    ) as Record<string, unknown>;
    const requestId =
      typeof record.requestId === 'string' ? record.requestId : undefined;
    if (type === 'platform.start' && requestId && !this._o.managedInstances)
      this._active = requestId;
    if (type === 'platform.runtimeDone' && requestId === this._active)
      this._active = undefined;
    if (
      (type === 'platform.initStart' || type === 'platform.restoreStart') &&
      typeof record.instanceId === 'string'
    ) {
      this._resource = buildResource(
        this._o.resourceAttributes,
        record.instanceId
      );
      this._logger = this._newLogger();
    }
    const metrics = this._o.metrics;
    if (metrics !== undefined) {
      if (type === 'platform.initReport' || type === 'platform.restoreReport')
        this._metric(() =>
          metrics.phaseReport(
            type === 'platform.initReport' ? 'init' : 'restore',
            record
          )
        );
      else if (type === 'platform.logsDropped')
        this._metric(() => metrics.logsDropped(record));
    }
    // The context must be read before the report closes the span.
    const ctx = requestId ? this._spans.contextOf(requestId) : undefined;
    const inSpan = this._spans.take(type, record, timeMs);
    const spanCtx =
      ctx ?? (requestId ? this._spans.contextOf(requestId) : undefined);
    const line = platformLine(type, record);
    if (type === 'platform.logsDropped') {
      this._emitLog({
        body: line ?? 'LOGS_DROPPED',
        timeMs,
        observedMs,
        severityText: 'WARN',
        severityNumber: SeverityNumber.WARN,
        attributes: {
          [ATTR_LAMBDA_EVENT_TYPE]: type,
          ...(typeof record.droppedRecords === 'number'
            ? { [ATTR_LOGS_DROPPED_RECORDS]: record.droppedRecords }
            : {}),
          ...(typeof record.droppedBytes === 'number'
            ? { [ATTR_LOGS_DROPPED_BYTES]: record.droppedBytes }
            : {}),
          ...(typeof record.reason === 'string'
            ? { [ATTR_LOGS_DROPPED_REASON]: record.reason }
            : {}),
        },
        events: 1,
      });
      return;
    }
    const known = line !== undefined;
    if (!known) {
      // An event type we do not know: kept whole, so nothing new is lost.
      this._emitLog({
        body: (event.record ?? null) as AnyValue,
        timeMs,
        observedMs,
        attributes: { [ATTR_LAMBDA_EVENT_TYPE]: type },
        events: inSpan ? 0 : 1,
        ...(spanCtx ? { ctx: spanCtx } : {}),
      });
      return;
    }
    if (!this._o.platformLogs) {
      if (!inSpan) this._discarded++;
      return;
    }
    const failed =
      typeof record.status === 'string' && record.status !== 'success';
    this._emitLog({
      body: line,
      timeMs,
      observedMs,
      severityText: failed ? 'ERROR' : 'INFO',
      severityNumber: failed ? SeverityNumber.ERROR : SeverityNumber.INFO,
      attributes: {
        [ATTR_LAMBDA_EVENT_TYPE]: type,
        ...(requestId ? { [ATTR_FAAS_INVOCATION_ID]: requestId } : {}),
      },
      events: inSpan ? 0 : 1,
      ...(spanCtx ? { ctx: spanCtx } : {}),
    });
  }

  /** A metric that cannot be recorded never costs the event its span or log. */
  private _metric(record: () => void): void {
    try {
      record();
    } catch {
      // The SDK's instruments do not throw; this guards a bug of ours.
    }
  }

  /**
   * After a SnapStart restore (platform.restoreStart): the id generator's
   * state came from the snapshot, shared by every environment restored from
   * it, so it is reseeded from the kernel's entropy (trace-context.ts).
   */
  afterRestore(): void {
    this._ids.reseed();
  }

  /** SHUTDOWN: hands over every span still waiting for its report. */
  drain(): void {
    this._spans.drain(this._now());
  }

  /** A WARN record with the drop counts; it stands for no event. */
  reportDrops(counts: DropReport): void {
    const now = this._now();
    this._emitLog({
      body: `lambda-telemetry-otel dropped telemetry: ${counts.queueOverflow} events on queue overflow, ${counts.rejected} refused by the receiver, ${counts.lambdaDropped} records dropped by Lambda`,
      timeMs: now,
      observedMs: now,
      severityText: 'WARN',
      severityNumber: SeverityNumber.WARN,
      attributes: {
        [ATTR_LAMBDA_EVENT_TYPE]: DROP_REPORT_TYPE,
        [ATTR_DROPPED_QUEUE_OVERFLOW]: counts.queueOverflow,
        [ATTR_DROPPED_REJECTED]: counts.rejected,
        [ATTR_DROPPED_BY_LAMBDA]: counts.lambdaDropped,
      },
      // Not a Telemetry API event: it counts none.
      events: 0,
    });
  }

  private _logLine(
    type: 'function' | 'extension',
    record: unknown,
    timeMs: number,
    observedMs: number
  ): void {
    const parsed = parseLogRecord(record);
    // A line with no request id of its own belongs to the invocation running
    // when it was written; on Managed Instances invocations overlap, so only
    // the record's own id counts there.
    const requestId =
      parsed.requestId ??
      (type === 'function' && !this._o.managedInstances
        ? this._active
        : undefined);
    const ctx = requestId ? this._spans.contextOf(requestId) : undefined;
    // Ours first: the SDK keeps the first 128 attributes of a record, and
    // these two are what links it to its stream and invocation. They also
    // win over a logger's keys of the same name.
    const attributes: Record<string, unknown> = {
      [ATTR_LAMBDA_EVENT_TYPE]: type,
    };
    if (requestId) attributes[ATTR_FAAS_INVOCATION_ID] = requestId;
    for (const k in parsed.attributes) {
      if (!(k in attributes)) attributes[k] = parsed.attributes[k];
    }
    this._emitLog({
      body: parsed.body as AnyValue,
      timeMs: parsed.timeMs ?? timeMs,
      observedMs,
      severityText: parsed.severityText,
      severityNumber: parsed.severityNumber,
      attributes,
      events: 1,
      ctx,
    });
  }

  /**
   * The Context a record is emitted with (its span and event count). Each
   * Context is two Map copies and a span wrapper; the records of one
   * invocation share theirs, so the last one is reused.
   */
  private _contextFor(events: number, span: SpanContext | undefined): Context {
    const c = this._lastContext;
    if (c !== undefined && c.events === events && c.span === span) {
      return c.context;
    }
    let context = ROOT_CONTEXT.setValue(EVENT_COUNT_KEY, events);
    if (span) context = trace.setSpanContext(context, span);
    this._lastContext = { events, span, context };
    return context;
  }

  private _emitLog(l: {
    body: AnyValue;
    timeMs: number;
    observedMs: number;
    severityText?: string | undefined;
    severityNumber?: SeverityNumber | undefined;
    attributes: Record<string, unknown>;
    events: number;
    ctx?: SpanContext | undefined;
  }): void {
    if (!this._o.signals.logs) {
      this._discarded += l.events;
      return;
    }
    let body = l.body;
    if (typeof body === 'string' && body.length > this._o.maxBodyChars) {
      l.attributes[ATTR_LOG_TRUNCATED] = true;
      l.attributes[ATTR_LOG_ORIGINAL_LENGTH] = body.length;
      body = cutAtCharBoundary(body, this._o.maxBodyChars);
    }
    // Records within one millisecond keep their order: backends sort by
    // time, so each gets a microsecond more than the one before (a double
    // of today's epoch milliseconds resolves about 0.25 µs, not 1 ns).
    let timeMs = l.timeMs;
    if (timeMs <= this._lastTimeMs && this._lastTimeMs - timeMs < 1) {
      timeMs = this._lastTimeMs + 0.001;
    }
    this._lastTimeMs = timeMs;
    const context = this._contextFor(l.events, l.ctx);
    // Built field by field (no spreads): this runs for every record.
    const record: LogRecord = {
      timestamp: toHrTime(timeMs),
      observedTimestamp: toHrTime(l.observedMs),
      body,
      attributes: l.attributes as Attributes,
      context,
    };
    if (l.severityText) record.severityText = l.severityText;
    if (l.severityNumber) record.severityNumber = l.severityNumber;
    this._logger.emit(record);
  }
}

/**
 * The first `max` UTF-16 code units of `s`, one fewer when the cut would
 * fall between the two halves of a surrogate pair (an emoji, any character
 * beyond U+FFFF): half a pair is not a character, and encodes as invalid
 * UTF-8 (U+FFFD or a lone `\ud83c` at the receiver).
 */
export function cutAtCharBoundary(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  const next = s.charCodeAt(max);
  const splitsPair =
    last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
  return s.slice(0, splitsPair ? max - 1 : max);
}
