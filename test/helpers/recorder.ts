/**
 * A LogRecordProcessor and SpanProcessor that records what the mapper
 * hands over, with the Telemetry API event count each item carries: the
 * real SDK LoggerProvider makes the records, nothing is exported.
 */
import type { Context } from '@opentelemetry/api';
import type {
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  eventCountOf,
  spanEventCount,
} from '../../src/pipeline/event-count.js';

export type OtelItem =
  | { signal: 'logs'; record: ReadableLogRecord }
  | { signal: 'traces'; span: ReadableSpan };

/** A record or span, and the Telemetry API events it stands for. */
export interface Mapped<T> {
  value: T;
  events: number;
}

export function recorder(
  items: Mapped<OtelItem>[]
): LogRecordProcessor & Pick<SpanProcessor, 'onEnd'> {
  return {
    onEmit(record: ReadWriteLogRecord, context?: Context) {
      items.push({
        value: { signal: 'logs', record },
        events: eventCountOf(context),
      });
    },
    onEnd(span: ReadableSpan) {
      items.push({
        value: { signal: 'traces', span },
        events: spanEventCount(span),
      });
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}
