/**
 * The processor's own health under the SDK self-observability conventions
 * (semconv 1.45, `otel.sdk.processor.*`, names copied as the package
 * advises): processed records by outcome, queue size and capacity, per
 * signal.
 *
 * Observable instruments read the processor's counts when metrics are
 * collected (at each flush), so nothing is recorded per record or per
 * batch: the counts are the ones the processor keeps anyway. With delta
 * temporality the SDK turns the totals into differences since the last
 * collection; the queue gauges stay cumulative (up-down counters).
 *
 * One difference from the SDK's batching processors, which never send a
 * batch twice and count a record as processed when they hand it to the
 * exporter: ours puts a batch back after a transient failure, so a record
 * is counted once, when its fate is final: sent, dropped on a full queue
 * (`queue_full`), refused for good by the receiver (`error.type` = the
 * HTTP status), or arrived after shutdown (`already_shutdown`).
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import type { MinBatchProcessor, Signal } from './min-batch-processor.js';

const ATTR_ERROR_TYPE = 'error.type';
const ATTR_OTEL_COMPONENT_TYPE = 'otel.component.type';
const ATTR_OTEL_COMPONENT_NAME = 'otel.component.name';

/**
 * Registers the processor's `otel.sdk.processor.*` instruments (see above)
 * on `meter`, for each of `signals`; read at each collection.
 */
export function observeProcessor(
  meter: Meter,
  processor: Pick<
    MinBatchProcessor,
    'outcomes' | 'queuedRecords' | 'queueCapacity'
  >,
  signals: readonly Signal[]
): void {
  for (const signal of signals) {
    const item = signal === 'logs' ? 'log' : 'span';
    const unit = signal === 'logs' ? '{log_record}' : '{span}';
    const type = `batching_${item}_processor`;
    const base: Attributes = {
      [ATTR_OTEL_COMPONENT_TYPE]: type,
      [ATTR_OTEL_COMPONENT_NAME]: `${type}/0`,
    };
    const failed = (errorType: string): Attributes => ({
      ...base,
      [ATTR_ERROR_TYPE]: errorType,
    });
    meter
      .createObservableCounter(`otel.sdk.processor.${item}.processed`, {
        unit,
        description: `The number of ${item === 'log' ? 'log records' : 'spans'} for which the processing has finished, either successful or failed.`,
      })
      .addCallback((result) => {
        const o = processor.outcomes[signal];
        result.observe(o.sent, base);
        if (o.queueFull > 0) result.observe(o.queueFull, failed('queue_full'));
        if (o.afterShutdown > 0)
          result.observe(o.afterShutdown, failed('already_shutdown'));
        for (const [reason, n] of o.refused) result.observe(n, failed(reason));
      });
    meter
      .createObservableUpDownCounter(`otel.sdk.processor.${item}.queue.size`, {
        unit,
        description: `The number of ${item === 'log' ? 'log records' : 'spans'} in the queue of the processor.`,
      })
      .addCallback((result) => {
        result.observe(processor.queuedRecords(signal), base);
      });
    meter
      .createObservableUpDownCounter(
        `otel.sdk.processor.${item}.queue.capacity`,
        {
          unit,
          description:
            'The maximum number the queue can hold (one bound, in Telemetry API events, shared by logs and spans).',
        }
      )
      .addCallback((result) => {
        result.observe(processor.queueCapacity, base);
      });
  }
}
