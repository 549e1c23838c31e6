/**
 * The raw format's mapper interface (events to queue items, each counting
 * the events it stands for), and the drop report both formats put into the
 * stream. The OTLP format maps through otel/mapper.ts instead.
 */
import type { TelemetryEvent } from '../lambda/events.js';
import type { QueueItem } from '../pipeline/queue.js';

/** Receives each queue item a mapper makes. */
export type Emit<T> = (item: QueueItem<T>) => void;

/** Implemented by RawMapper (map/raw.ts). */
export interface Mapper<T> {
  map(event: TelemetryEvent, out: Emit<T>): void;
  /** INVOKE tells what no event does (the invoked ARN). */
  noteInvoke(
    requestId: string | undefined,
    invokedArn: string | undefined
  ): void;
  /**
   * The end of one Telemetry API delivery: hand over whatever is buffered.
   */
  seal(out: Emit<T>): void;
  /**
   * Items that left for good (sent, refused, or dropped on overflow): what
   * they hold may be reused.
   */
  release?(items: readonly QueueItem<T>[]): void;
  /** Events received but held back, not yet in the queue. */
  readonly pendingEvents: number;
  /** Events that will never be exported (a signal without endpoint). */
  readonly discardedEvents: number;
  /** SHUTDOWN: release everything held back. */
  drain(out: Emit<T>): void;
  /** The drop counts, as an item of this format (it counts 0 events). */
  reportDrops(counts: DropReport, out: Emit<T>): void;
}

/**
 * The event type of our drop report (README, "Delivery guarantees"): in the raw format an
 * event `{ time, type, record: DropReport }`, in OTLP a WARN log record whose
 * `aws.lambda.event.type` attribute is this.
 */
export const DROP_REPORT_TYPE = 'lambda-telemetry-otel.drops';

/** What was lost so far, in Telemetry API events. */
export interface DropReport {
  /** Dropped because the queue passed its bounds. */
  queueOverflow: number;
  /** In batches the receiver refused for good. */
  rejected: number;
  /** Lambda's own platform.logsDropped, summed. */
  lambdaDropped: number;
}
