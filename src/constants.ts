/**
 * Every fixed limit and default, with where it comes from. Settings that a
 * user may change have their default here and their variable in config/.
 */

export const EXTENSION_NAME = 'lambda-telemetry-otel';
export const ENV_PREFIX = 'LAMBDA_TELEMETRY_OTEL_';

/** Extensions API version path (lambda-apis.md §1). */
export const EXTENSIONS_API_VERSION = '2020-01-01';
/** Telemetry API version path (lambda-apis.md §2). */
export const TELEMETRY_API_VERSION = '2022-07-01';
/** Required on Managed Instances, backward compatible, recommended by AWS. */
export const TELEMETRY_SCHEMA_VERSION = '2025-01-29';

/** Lambda only delivers to this host; the subscription URI always names it. */
export const SANDBOX_HOST = 'sandbox.localdomain';
/** When `sandbox.localdomain` does not resolve (local runs), bind here. */
export const LOOPBACK_HOST = '127.0.0.1';
/** A name lookup that hangs (no DNS here) must not hold init longer. */
export const HOST_LOOKUP_TIMEOUT_MS = 250;

/** Telemetry API buffering limits (lambda-apis.md §2.1 table). */
export const BUFFER_LIMITS = {
  maxItems: { min: 1_000, max: 10_000 },
  maxBytes: { min: 262_144, max: 1_048_576 },
  timeoutMs: { min: 25, max: 30_000 },
} as const;

/**
 * Our buffering defaults: the smallest items and bytes Lambda allows (less
 * memory in Lambda's own buffer, which counts against the function) and the
 * shortest timeout, so an invocation's telemetry reaches us within 25 ms of
 * being produced, as the OTel collector layer and Datadog do. A record over
 * maxBytes is cut by Lambda across two deliveries and joined by the listener
 * (lambda/stitch.ts), so the 1 MiB maximum (fewer cuts) is not worth four
 * times the memory in Lambda's buffer and in our largest body.
 */
export const DEFAULT_BUFFERING = {
  maxItems: 1_000,
  maxBytes: 262_144,
  timeoutMs: 25,
} as const;

/**
 * Lambda posts bodies of up to 2 x maxBytes plus metadata (lambda-apis.md
 * §2.2); anything past this slack over that is not one of Lambda's batches.
 */
export const LISTENER_BODY_SLACK_BYTES = 262_144;
/**
 * A body past that limit is answered 413 and the rest of it read and
 * discarded, so the sender sees the answer (closing on a sender still
 * writing resets it); past these the connection is closed anyway.
 */
export const LISTENER_DRAIN_MAX_BYTES = 64 * 1_048_576;
export const LISTENER_DRAIN_MAX_MS = 2_000;

/**
 * SHUTDOWN leaves external extensions at most 2,000 ms, part of which the
 * runtime has used by the time the event arrives; when `deadlineMs` is not a
 * plausible epoch we assume this much is left from receipt.
 */
export const SHUTDOWN_FALLBACK_BUDGET_MS = 1_500;
/** A SHUTDOWN deadline further away than this is not an epoch-ms deadline. */
export const SHUTDOWN_PLAUSIBLE_MAX_MS = 30_000;
/** Kept back from every deadline for the exit itself (SIGKILL comes at it). */
export const DEADLINE_MARGIN_MS = 100;

/** Default bound of one export request, before the deadline applies. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 5_000;
/** One request body of the raw format stays under this. */
export const DEFAULT_MAX_REQUEST_BYTES = 1_048_576;

/**
 * Queue bounds for a 128 MB function: two full Telemetry API batches
 * (10,000 items each), so 10,000 records pending at SHUTDOWN plus the
 * platform events around them all fit. Measured (npm run bench): peak RSS
 * under a flood with the receiver down stays flat at these bounds.
 */
export const DEFAULT_MAX_QUEUE_EVENTS = 20_000;
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1_048_576;

/** Timer flush period (Managed Instances, and a backup elsewhere). */
export const DEFAULT_FLUSH_INTERVAL_MS = 1_000;

/**
 * At SHUTDOWN, the least time kept for the final export after waiting for
 * late reports (ms); twice the slowest export seen when that is more. A
 * final flush of 10,000 records took 79-148 ms in npm run bench.
 */
export const SHUTDOWN_EXPORT_RESERVE_MS = 200;

export const DEFAULT_MIN_BATCH_SIZE = 1;

/**
 * Longer log bodies are cut and marked truncated: backends refuse records of
 * about 1 MiB and bill by size (Datadog caps at 1 MiB, Coralogix at 30,000
 * characters).
 */
export const DEFAULT_MAX_LOG_CHARS = 65_536;

/** Kept equal to package.json "version" (a unit test checks). */
export const EXTENSION_VERSION = '0.1.0';

/**
 * Retry backoff: 100 ms doubling to 1 s (+-20 % jitter). Short, because a
 * retry during an invocation is billed time; at SHUTDOWN retries go on until
 * the deadline, as there is no later flush.
 */
export const DEFAULT_RETRY_BASE_MS = 100;
export const DEFAULT_RETRY_MAX_MS = 1_000;
/** The two above as a policy (export/retry.ts RetryPolicy), in ms. */
export const DEFAULT_RETRY = Object.freeze({
  baseMs: DEFAULT_RETRY_BASE_MS,
  maxMs: DEFAULT_RETRY_MAX_MS,
});

/**
 * Records per export request: the SDK batch processors' default
 * max_export_batch_size. While a batch's worth is queued (and the min-batch
 * rule allows), batches leave between INVOKEs, so a heavy logger's records
 * do not wait for the next one.
 */
export const DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;

/**
 * Exports of one signal in flight at once: a batch handed to an exporter
 * (its serialized bytes) stays in memory until answered, so this bounds
 * them (with the batch size), and keeps order across batches near enough.
 */
export const EXPORTS_IN_FLIGHT_PER_SIGNAL = 4;

/**
 * At INVOKE, the longest the extension holds `/next` for its exports (ms).
 * The OTLP exporters cannot be aborted and retry from 1 s on: a receiver
 * answering 503 must not cost seconds of billed time on every invocation.
 * An export still running then carries on (it may straddle a freeze) and
 * its records are accounted for when its result comes.
 */
export const DEFAULT_INVOKE_EXPORT_WAIT_MS = 300;

/** Where the configuration file is looked for when our variable names none. */
export const DEFAULT_CONFIG_FILE = '/var/task/lambda-telemetry-otel.yaml';

/**
 * Metrics are collected and exported with a flush at most once in this
 * many ms, and always at SHUTDOWN (FlushMetricReader.onFlush): collecting with every
 * timer or per-delivery flush cost 3.5-5 MiB charged and a fifth of the
 * CPU under 1,000-event batches (npm run bench).
 */
export const METRICS_MIN_INTERVAL_MS = 1_000;
