/**
 * Semantic-convention keys we use that are still incubating in
 * @opentelemetry/semantic-conventions 1.45.0, copied as that package's README
 * advises (incubating exports may change in a minor release). Stable keys are
 * imported from the package itself. Our own keys, for the figures Lambda
 * reports and semconv has no name for, live under `aws.lambda.*`.
 */

export const ATTR_CLOUD_PROVIDER = 'cloud.provider';
export const CLOUD_PROVIDER_VALUE_AWS = 'aws';
export const ATTR_CLOUD_PLATFORM = 'cloud.platform';
export const CLOUD_PLATFORM_VALUE_AWS_LAMBDA = 'aws_lambda';
export const ATTR_CLOUD_REGION = 'cloud.region';
export const ATTR_CLOUD_ACCOUNT_ID = 'cloud.account.id';
export const ATTR_CLOUD_RESOURCE_ID = 'cloud.resource_id';
export const ATTR_FAAS_NAME = 'faas.name';
export const ATTR_FAAS_VERSION = 'faas.version';
export const ATTR_FAAS_INSTANCE = 'faas.instance';
/** Bytes (AWS_LAMBDA_FUNCTION_MEMORY_SIZE is in MiB). */
export const ATTR_FAAS_MAX_MEMORY = 'faas.max_memory';
/** Spelled `faas.invocation.id` since semconv 1.3x (was `faas.invocation_id`). */
export const ATTR_FAAS_INVOCATION_ID = 'faas.invocation.id';
export const ATTR_FAAS_COLDSTART = 'faas.coldstart';
export const ATTR_AWS_LAMBDA_INVOKED_ARN = 'aws.lambda.invoked_arn';

// Ours: documented in the README's "What the spans and logs carry".
/** The Telemetry API event type a record came from (`function`, `platform.report`...). */
export const ATTR_LAMBDA_EVENT_TYPE = 'aws.lambda.event.type';
/** Lambda's own status string: success, error, failure, timeout. */
export const ATTR_LAMBDA_STATUS = 'aws.lambda.status';
export const ATTR_LAMBDA_INIT_TYPE = 'aws.lambda.initialization_type';
export const ATTR_LAMBDA_INIT_PHASE = 'aws.lambda.init.phase';
export const ATTR_LAMBDA_RUNTIME_VERSION = 'aws.lambda.runtime.version';
export const ATTR_LAMBDA_RUNTIME_VERSION_ARN = 'aws.lambda.runtime.version_arn';
export const ATTR_LAMBDA_FUNCTION_VERSION = 'aws.lambda.function.version';
/** True when the invocation's platform.report never came (SHUTDOWN, crash). */
export const ATTR_LAMBDA_REPORT_MISSING = 'aws.lambda.report.missing';
/** platform.report metrics, one attribute each, keeping Lambda's unit. */
export const REPORT_METRIC_ATTRS = {
  durationMs: 'aws.lambda.report.duration_ms',
  billedDurationMs: 'aws.lambda.report.billed_duration_ms',
  memorySizeMB: 'aws.lambda.report.memory_size_mb',
  maxMemoryUsedMB: 'aws.lambda.report.max_memory_used_mb',
  initDurationMs: 'aws.lambda.report.init_duration_ms',
  restoreDurationMs: 'aws.lambda.report.restore_duration_ms',
  billedRestoreDurationMs: 'aws.lambda.report.billed_restore_duration_ms',
} as const;
export const ATTR_RUNTIME_DURATION_MS = 'aws.lambda.runtime_done.duration_ms';
export const ATTR_RUNTIME_PRODUCED_BYTES =
  'aws.lambda.runtime_done.produced_bytes';
export const ATTR_PHASE_DURATION_MS = 'aws.lambda.phase.duration_ms';
export const ATTR_LOGS_DROPPED_RECORDS = 'aws.lambda.logs_dropped.records';
export const ATTR_LOGS_DROPPED_BYTES = 'aws.lambda.logs_dropped.bytes';
export const ATTR_LOGS_DROPPED_REASON = 'aws.lambda.logs_dropped.reason';
export const ATTR_LOG_TRUNCATED = 'aws.lambda.log.truncated';
export const ATTR_LOG_ORIGINAL_LENGTH = 'aws.lambda.log.original_length';

/**
 * Our drop report's attributes (its type is map/mapper.ts DROP_REPORT_TYPE):
 * totals since the extension started, in Telemetry API events (Lambda's own
 * in records).
 */
export const ATTR_DROPPED_QUEUE_OVERFLOW =
  'lambda_telemetry_otel.dropped.queue_overflow';
export const ATTR_DROPPED_REJECTED = 'lambda_telemetry_otel.dropped.rejected';
export const ATTR_DROPPED_BY_LAMBDA = 'lambda_telemetry_otel.dropped.by_lambda';
