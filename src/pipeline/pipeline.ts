/**
 * What the lifecycle needs of a dispatch format (OTLP or raw), whatever
 * its mapper, processors and exporters: the wiring lives in src/formats/.
 * The unit of every count is the Telemetry API event.
 */
import type { TelemetryEvent } from '../lambda/events.js';
import type { DropReport } from '../map/mapper.js';

/**
 * The counts the lifecycle reads, since start: for the drop report and the
 * shutdown line.
 */
export interface PipelineStats {
  /** Events the endpoint accepted. */
  sentEvents: number;
  /** Events in batches the endpoint refused for good (non-retryable status). */
  rejectedEvents: number;
  /** Events dropped as the oldest past the queue bounds. */
  overflowEvents: number;
  /** Events that will never be exported (a signal without endpoint). */
  discardedEvents: number;
  /** Export requests that failed transiently (after the exporter's retries). */
  failedExports: number;
  /**
   * OTLP: the same drops in log records and spans, as the processor's
   * `otel.sdk.processor.*.processed` metrics count them.
   */
  overflowRecords?: number;
  rejectedRecords?: number;
}

/**
 * What the intake, the flush policy and the lifecycle call on a loaded
 * format. Deadlines are epoch ms.
 */
export interface TelemetryPipeline {
  /** Maps one event; throws only on a mapping bug (the intake skips it). */
  map(event: TelemetryEvent): void;
  /** The end of one Telemetry API delivery. */
  seal(): void;
  /** INVOKE tells what no event does (the invoked ARN). */
  noteInvoke(
    requestId: string | undefined,
    invokedArn: string | undefined
  ): void;
  /** Events received and not yet answered: queued, in flight, or held back. */
  readonly waitingEvents: number;
  /** Events handed to an exporter and not yet answered. */
  readonly inFlightEvents: number;
  /** The DISPATCH_MIN_BATCH_SIZE rule: may a non-final flush send now? */
  due(): boolean;
  /**
   * Sends what is queued; resolves by `deadlineMs` (epoch ms), never
   * rejects. `final` (SHUTDOWN): first releases what is held back (spans
   * without report); the raw format then retries until the deadline (OTLP
   * retries are the transport's, within the export timeout).
   */
  flush(deadlineMs: number, final: boolean): Promise<void>;
  /**
   * Before `/next` (a freeze may follow): a format whose requests can be
   * aborted finishes or aborts them by `deadlineMs`, putting their items
   * back; the OTLP exporters cannot be aborted, so theirs carry on.
   */
  settle(deadlineMs: number): Promise<void>;
  /**
   * After a SnapStart restore (platform.restoreStart), before the restore's
   * own events are mapped: ids are reseeded from an entropy source the
   * snapshot did not copy, and pooled connections opened before the
   * snapshot are dropped (every restored copy holds the same sockets).
   * Both formats have it; optional for test doubles.
   */
  afterRestore?(): void;
  /** Puts the drop counts into the stream (an item that counts 0 events). */
  reportDrops(counts: DropReport): void;
  readonly stats: Readonly<PipelineStats>;
  /**
   * The longest an export request took to be answered in this environment
   * (ms, from handing it to the exporter to its answer, success or refusal;
   * failures without an answer are not counted); 0 until one is. SHUTDOWN
   * keeps twice this for the final export.
   */
  readonly slowestExportMs: number;
  /** Ends the exporters, bounded by `deadlineMs`. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** A loaded format: its pipeline, or none when there is nowhere to send. */
export interface Format {
  pipeline: TelemetryPipeline | undefined;
  /** Problems found while setting up, logged once each. */
  warnings: string[];
}
