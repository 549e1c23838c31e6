/**
 * Telemetry API event types (schema 2025-01-29, backward compatible with
 * 2022-12-13 and 2022-07-01); batch.ts reads them from a POST body.
 *
 * Every field may be absent in practice (lambda-apis.md §3): the types mark
 * them optional, and nothing here throws on a missing or extra field.
 * Unknown event types pass through unchanged so that a new Lambda event is
 * still delivered (raw) rather than lost.
 */

/** `initializationType` (lambda-apis.md §3.1); any other string passes. */
export type InitType =
  | 'on-demand'
  | 'provisioned-concurrency'
  | 'snap-start'
  | 'lambda-managed-instances'
  | (string & {});
/** `phase` of the init events (lambda-apis.md §3.1). */
export type InitPhase = 'init' | 'invoke' | (string & {});
/** `status` of the runtimeDone and report events (lambda-apis.md §3.1). */
export type Status =
  | 'success'
  | 'failure'
  | 'error'
  | 'timeout'
  | (string & {});

/**
 * One entry of a platform event's `spans` (lambda-apis.md §3.1): `start` an
 * ISO 8601 time, `durationMs` ms.
 */
export interface PhaseSpan {
  name?: string;
  start?: string;
  durationMs?: number;
}

/**
 * A platform event's `tracing` (lambda-apis.md §3.1): `type` `X-Amzn-Trace-Id`
 * and `value` the X-Ray header; `spanId` (16 hex digits) when present.
 */
export interface TraceContext {
  spanId?: string;
  type?: string;
  value?: string;
}

/**
 * `platform.report`'s `metrics` (lambda-apis.md §3): durations in ms, memory
 * in MB.
 */
export interface ReportMetrics {
  durationMs?: number;
  billedDurationMs?: number;
  memorySizeMB?: number;
  maxMemoryUsedMB?: number;
  initDurationMs?: number;
  restoreDurationMs?: number;
  billedRestoreDurationMs?: number;
}

interface Envelope<T extends string, R> {
  time: string;
  type: T;
  record: R;
}

type Open<T> = T & Record<string, unknown>;

/** The events of lambda-apis.md §3, one type each; `time` is ISO 8601. */
export type InitStartEvent = Envelope<
  'platform.initStart',
  Open<{
    initializationType?: InitType;
    phase?: InitPhase;
    runtimeVersion?: string;
    runtimeVersionArn?: string;
    functionName?: string;
    functionVersion?: string;
    instanceId?: string;
    instanceMaxMemory?: number | string;
  }>
>;
/**
 * `platform.initRuntimeDone`: the runtime's init ended; `errorType` when
 * `status` is not success.
 */
export type InitRuntimeDoneEvent = Envelope<
  'platform.initRuntimeDone',
  Open<{
    initializationType?: InitType;
    phase?: InitPhase;
    status?: Status;
    errorType?: string;
    spans?: PhaseSpan[];
    tracing?: TraceContext;
  }>
>;
/** `platform.initReport`: the init phase's outcome; `durationMs` ms. */
export type InitReportEvent = Envelope<
  'platform.initReport',
  Open<{
    initializationType?: InitType;
    phase?: InitPhase;
    status?: Status;
    errorType?: string;
    metrics?: { durationMs?: number };
    spans?: PhaseSpan[];
    tracing?: TraceContext;
  }>
>;
/** `platform.start`: an invocation began; `version` `$LATEST` or a number. */
export type StartEvent = Envelope<
  'platform.start',
  Open<{ requestId?: string; version?: string; tracing?: TraceContext }>
>;
/**
 * `platform.runtimeDone`: the runtime answered and asked for the next event
 * (lambda-apis.md §2.2); `durationMs` ms, `producedBytes` the response's
 * bytes. Not sent on Managed Instances (§3.2).
 */
export type RuntimeDoneEvent = Envelope<
  'platform.runtimeDone',
  Open<{
    requestId?: string;
    status?: Status;
    errorType?: string;
    metrics?: { durationMs?: number; producedBytes?: number };
    spans?: PhaseSpan[];
    tracing?: TraceContext;
  }>
>;
/**
 * `platform.report`: an invocation's figures, sent once every extension has
 * called next (lambda-apis.md §2.2); on Managed Instances only
 * `metrics.durationMs` (§3.2).
 */
export type ReportEvent = Envelope<
  'platform.report',
  Open<{
    requestId?: string;
    status?: Status;
    errorType?: string;
    metrics?: ReportMetrics;
    spans?: PhaseSpan[];
    tracing?: TraceContext;
  }>
>;
/**
 * `platform.restoreStart` (SnapStart): a restore began. `instanceMaxMemory`
 * may be a number or a string, its unit unclear (lambda-apis.md §3, §9).
 */
export type RestoreStartEvent = Envelope<
  'platform.restoreStart',
  Open<{
    functionName?: string;
    functionVersion?: string;
    instanceId?: string;
    instanceMaxMemory?: number | string;
    runtimeVersion?: string;
    runtimeVersionArn?: string;
  }>
>;
/** `platform.restoreRuntimeDone` (SnapStart): the runtime's restore ended. */
export type RestoreRuntimeDoneEvent = Envelope<
  'platform.restoreRuntimeDone',
  Open<{ status?: Status; errorType?: string; spans?: PhaseSpan[] }>
>;
/**
 * `platform.restoreReport` (SnapStart): the restore's outcome;
 * `metrics.durationMs` in ms.
 */
export type RestoreReportEvent = Envelope<
  'platform.restoreReport',
  Open<{
    status?: Status;
    errorType?: string;
    metrics?: { durationMs?: number };
    spans?: PhaseSpan[];
  }>
>;
/**
 * `platform.extension`: an extension registered; `state` such as `Ready`,
 * `events` what it registered for.
 */
export type ExtensionStateEvent = Envelope<
  'platform.extension',
  Open<{ name?: string; state?: string; events?: string[]; errorType?: string }>
>;
/**
 * `platform.telemetrySubscription`: a subscription took effect; `state`
 * `Subscribed`, `types` its streams (lambda-apis.md §2.1).
 */
export type TelemetrySubscriptionEvent = Envelope<
  'platform.telemetrySubscription',
  Open<{ name?: string; state?: string; types?: string[] }>
>;
/**
 * `platform.logsDropped`: Lambda dropped records, for instance for a slow
 * or refusing listener (lambda-apis.md §2.2); `droppedBytes` in bytes.
 */
export type LogsDroppedEvent = Envelope<
  'platform.logsDropped',
  Open<{ droppedBytes?: number; droppedRecords?: number; reason?: string }>
>;
/** A function or extension log line: a string (TEXT format) or an object (JSON format). */
export type LogRecordEvent = Envelope<
  'function' | 'extension',
  string | Record<string, unknown>
>;
/** Any event type Lambda may add later; passed through as it came. */
export type UnknownEvent = Envelope<string, unknown>;

/** Every event type this extension reads (lambda-apis.md §3). */
export type KnownEvent =
  | InitStartEvent
  | InitRuntimeDoneEvent
  | InitReportEvent
  | StartEvent
  | RuntimeDoneEvent
  | ReportEvent
  | RestoreStartEvent
  | RestoreRuntimeDoneEvent
  | RestoreReportEvent
  | ExtensionStateEvent
  | TelemetrySubscriptionEvent
  | LogsDroppedEvent
  | LogRecordEvent;

/** One element of a Telemetry API batch, known or not. */
export type TelemetryEvent = KnownEvent | UnknownEvent;

/** The event's `type` if it is a string, else `unknown`. */
export function eventType(event: TelemetryEvent): string {
  return typeof event.type === 'string' ? event.type : 'unknown';
}

/** The `record.requestId` of a platform event, when it has one. */
export function requestIdOf(event: TelemetryEvent): string | undefined {
  const record = event.record as { requestId?: unknown } | null | undefined;
  if (record !== null && typeof record === 'object') {
    const id = record.requestId;
    if (typeof id === 'string') return id;
  }
  return undefined;
}
