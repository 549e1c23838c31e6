/**
 * The platform's figures as OpenTelemetry metrics: the FaaS metrics of the
 * semantic conventions (1.45, incubating: names copied here as the package
 * advises) and what Lambda adds under `aws.lambda.*` (README, Metrics).
 *
 * Recorded per platform event (a few per invocation), never per log
 * record: the throughput budget has no room for an instrument call per
 * line. Attributes: `faas.coldstart` only where an invocation is counted,
 * so a user can split by cold start; the function version is on the
 * resource (`faas.version`). Nothing per request (no request ids).
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { ATTR_FAAS_COLDSTART } from './semconv.js';

/** The FaaS metric names of the semantic conventions (README, Metrics). */
export const METRIC_FAAS_INVOCATIONS = 'faas.invocations';
export const METRIC_FAAS_ERRORS = 'faas.errors';
export const METRIC_FAAS_TIMEOUTS = 'faas.timeouts';
export const METRIC_FAAS_COLDSTARTS = 'faas.coldstarts';
export const METRIC_FAAS_INVOKE_DURATION = 'faas.invoke_duration';
export const METRIC_FAAS_INIT_DURATION = 'faas.init_duration';
export const METRIC_FAAS_MEM_USAGE = 'faas.mem_usage';
// Ours: what Lambda reports and semconv has no name for.
export const METRIC_LAMBDA_BILLED_DURATION = 'aws.lambda.billed_duration';
export const METRIC_LAMBDA_RESTORE_DURATION = 'aws.lambda.restore_duration';
export const METRIC_LAMBDA_BILLED_RESTORE_DURATION =
  'aws.lambda.billed_restore_duration';
/** platform.logsDropped: records and bytes Lambda dropped before us. */
export const METRIC_LAMBDA_DROPPED = 'aws.lambda.telemetry.dropped';
export const METRIC_LAMBDA_DROPPED_SIZE = 'aws.lambda.telemetry.dropped_size';

/** `maxMemoryUsedMB` is in MiB: bytes as `faas.max_memory` counts them. */
const MIB = 1_048_576;

/**
 * Seconds, from 5 ms to Lambda's 15-minute limit (the SDK's default
 * boundaries, 0..10,000, are meant for milliseconds).
 */
const SECONDS_BOUNDARIES = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30,
  60, 120, 300, 600, 900,
];
/** Bytes: Lambda's memory sizes, from 64 MiB (below the 128 MiB minimum) to 10 GiB. */
const MEMORY_BOUNDARIES = [
  64, 128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 10240,
].map((m) => m * MIB);

type Rec = Record<string, unknown>;

/** One finished invocation, as the span assembler knows it. */
export interface InvocationOutcome {
  coldstart: boolean;
  report?: Rec | undefined;
  runtimeDone?: Rec | undefined;
}

/**
 * The instruments above, created on `meter`; durations are recorded in
 * seconds, memory in bytes. Nothing here throws on a missing figure: it is
 * not recorded.
 */
export class FaasMetrics {
  private readonly _invocations: Counter;
  private readonly _errors: Counter;
  private readonly _timeouts: Counter;
  private readonly _coldstarts: Counter;
  private readonly _invokeDuration: Histogram;
  private readonly _initDuration: Histogram;
  private readonly _memUsage: Histogram;
  private readonly _billed: Histogram;
  private readonly _restore: Histogram;
  private readonly _billedRestore: Histogram;
  private readonly _dropped: Counter;
  private readonly _droppedSize: Counter;
  private readonly _cold: Attributes = { [ATTR_FAAS_COLDSTART]: true };
  private readonly _warm: Attributes = { [ATTR_FAAS_COLDSTART]: false };

  constructor(meter: Meter) {
    const seconds = (name: string, description: string): Histogram =>
      meter.createHistogram(name, {
        unit: 's',
        description,
        advice: { explicitBucketBoundaries: SECONDS_BOUNDARIES },
      });
    this._invocations = meter.createCounter(METRIC_FAAS_INVOCATIONS, {
      unit: '{invocation}',
      description: 'Number of successful invocations',
    });
    this._errors = meter.createCounter(METRIC_FAAS_ERRORS, {
      unit: '{error}',
      description: 'Number of invocation errors',
    });
    this._timeouts = meter.createCounter(METRIC_FAAS_TIMEOUTS, {
      unit: '{timeout}',
      description: 'Number of invocation timeouts',
    });
    this._coldstarts = meter.createCounter(METRIC_FAAS_COLDSTARTS, {
      unit: '{coldstart}',
      description: 'Number of invocation cold starts',
    });
    this._invokeDuration = seconds(
      METRIC_FAAS_INVOKE_DURATION,
      "Measures the duration of the function's logic execution"
    );
    this._initDuration = seconds(
      METRIC_FAAS_INIT_DURATION,
      "Measures the duration of the function's initialization, such as a cold start"
    );
    this._memUsage = meter.createHistogram(METRIC_FAAS_MEM_USAGE, {
      unit: 'By',
      description: 'Distribution of max memory usage per invocation',
      advice: { explicitBucketBoundaries: MEMORY_BOUNDARIES },
    });
    this._billed = seconds(
      METRIC_LAMBDA_BILLED_DURATION,
      'Billed duration of an invocation (platform.report billedDurationMs)'
    );
    this._restore = seconds(
      METRIC_LAMBDA_RESTORE_DURATION,
      'Duration of a SnapStart restore (platform.restoreReport)'
    );
    this._billedRestore = seconds(
      METRIC_LAMBDA_BILLED_RESTORE_DURATION,
      'Billed duration of a SnapStart restore (platform.report billedRestoreDurationMs)'
    );
    this._dropped = meter.createCounter(METRIC_LAMBDA_DROPPED, {
      unit: '{record}',
      description:
        'Telemetry records Lambda dropped before delivering them (platform.logsDropped)',
    });
    this._droppedSize = meter.createCounter(METRIC_LAMBDA_DROPPED_SIZE, {
      unit: 'By',
      description:
        'Bytes of telemetry Lambda dropped before delivering them (platform.logsDropped)',
    });
  }

  /**
   * An invocation whose span is finished: its report's status and figures,
   * or, without a report (SHUTDOWN, a crash), its runtimeDone's status.
   * A timeout is not also an error (the conventions count them apart).
   */
  invocation(o: InvocationOutcome): void {
    const attrs = o.coldstart ? this._cold : this._warm;
    if (o.coldstart) this._coldstarts.add(1);
    const status = str(o.report?.status) ?? str(o.runtimeDone?.status);
    if (status === 'success') this._invocations.add(1, attrs);
    else if (status === 'timeout') this._timeouts.add(1, attrs);
    else if (status === 'error' || status === 'failure')
      this._errors.add(1, attrs);
    const m = (o.report?.metrics ?? {}) as Rec;
    const duration = num(m.durationMs);
    if (duration !== undefined)
      this._invokeDuration.record(duration / 1000, attrs);
    const memory = num(m.maxMemoryUsedMB);
    if (memory !== undefined) this._memUsage.record(memory * MIB, attrs);
    const billed = num(m.billedDurationMs);
    if (billed !== undefined) this._billed.record(billed / 1000, attrs);
    const billedRestore = num(m.billedRestoreDurationMs);
    if (billedRestore !== undefined)
      this._billedRestore.record(billedRestore / 1000);
  }

  /**
   * platform.initReport / restoreReport: one per init or restore (the
   * report's initDurationMs / restoreDurationMs repeat it, so they are not
   * recorded again).
   */
  phaseReport(kind: 'init' | 'restore', record: Rec): void {
    const duration = num(((record.metrics ?? {}) as Rec).durationMs);
    if (duration === undefined) return;
    (kind === 'init' ? this._initDuration : this._restore).record(
      duration / 1000
    );
  }

  /** platform.logsDropped: Lambda's drops, not ours (README, Metrics). */
  logsDropped(record: Rec): void {
    const records = num(record.droppedRecords);
    if (records !== undefined && records > 0) this._dropped.add(records);
    const bytes = num(record.droppedBytes);
    if (bytes !== undefined && bytes > 0) this._droppedSize.add(bytes);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}
