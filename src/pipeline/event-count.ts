/**
 * How many Telemetry API events a log record or span stands for, carried
 * from the mapper to the processor without becoming an exported attribute.
 *
 * The unit of DISPATCH_MIN_BATCH_SIZE, of the queue bound and of every drop
 * count is the Telemetry API event, whatever it became: a log line is 1, a
 * span is the events it was assembled from, the platform line of an event
 * already in a span is 0 (it rides along), a drop report is 0.
 *
 * Log records: the count travels in the OpenTelemetry `Context` passed to
 * `Logger.emit()`, which the SDK hands to `LogRecordProcessor.onEmit()`.
 * Spans: `SpanProcessor.onEnd()` takes no context, so the mapper notes the
 * count of each span object here before ending it.
 */
import { type Context, createContextKey } from '@opentelemetry/api';

/** Context key holding the number of events (a non-negative integer). */
export const EVENT_COUNT_KEY = createContextKey(
  'lambda-telemetry-otel.telemetry-api-events'
);

/** The count a context carries; 1 when it carries none (one event each). */
export function eventCountOf(ctx: Context | undefined): number {
  const n = ctx?.getValue(EVENT_COUNT_KEY);
  return typeof n === 'number' && n >= 0 ? n : 1;
}

const spanCounts = new WeakMap<object, number>();

/** Notes the events a span stands for, before the span is ended. */
export function setSpanEventCount(span: object, events: number): void {
  spanCounts.set(span, events);
}

/** The events a span stands for (1 if none was noted). */
export function spanEventCount(span: object): number {
  return spanCounts.get(span) ?? 1;
}
