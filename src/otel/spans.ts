/**
 * Spans from platform events, as AWS's mapping guidance says: the three
 * events of one phase make one span (`*Start` + `*RuntimeDone` +
 * `*Report`), ids come from the X-Ray header, and the `spans[]` Lambda
 * reports (responseLatency, extensionOverhead, ...) become child spans.
 *
 * `platform.report` is emitted only after the extension's next `/next`, so
 * it reaches us at the next thaw or during SHUTDOWN. An invocation's span is
 * therefore held until its report arrives and then emitted once, with every
 * report figure; at SHUTDOWN whatever is still held is emitted with what is
 * known and `aws.lambda.report.missing=true`. Log records do not wait: they
 * get the span's ids as soon as `platform.start` is seen.
 *
 * The init (and SnapStart restore) span joins the first invocation's trace
 * as a child of its span, the way X-Ray nests Initialization under the
 * function segment, instead of sitting alone in a random trace.
 */
import {
  type Attributes,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import {
  ATTR_AWS_LAMBDA_INVOKED_ARN,
  ATTR_FAAS_COLDSTART,
  ATTR_FAAS_INVOCATION_ID,
  ATTR_LAMBDA_FUNCTION_VERSION,
  ATTR_LAMBDA_INIT_PHASE,
  ATTR_LAMBDA_INIT_TYPE,
  ATTR_LAMBDA_REPORT_MISSING,
  ATTR_LAMBDA_RUNTIME_VERSION,
  ATTR_LAMBDA_RUNTIME_VERSION_ARN,
  ATTR_LAMBDA_STATUS,
  ATTR_PHASE_DURATION_MS,
  ATTR_RUNTIME_DURATION_MS,
  ATTR_RUNTIME_PRODUCED_BYTES,
  REPORT_METRIC_ATTRS,
} from './semconv.js';
import type { InvocationOutcome } from './metrics.js';
import { parseTimeMs, toHrTime } from './time.js';
import {
  type IdGenerator,
  isSpanId,
  parseXRayHeader,
  processIds,
} from './trace-context.js';

type Rec = Record<string, unknown>;

/** A finished span, and the events it accounts for (the pipeline's count). */
export interface SpanOutput {
  span: ReadableSpan;
  /** Telemetry API events this span was built from. */
  events: number;
}

/** What the assembler needs; `resource` is read when a span is emitted. */
export interface SpanSettings {
  functionName: string;
  resource: () => Resource;
  scope: InstrumentationScope;
  /** Where span and trace ids come from (default: the process's generator). */
  ids?: IdGenerator;
  /** Each finished invocation, for the FaaS metrics (otel/metrics.ts). */
  onInvocation?: (o: InvocationOutcome) => void;
}

interface Invocation {
  requestId: string;
  ctx: SpanContext;
  parentSpanId?: string;
  startMs?: number | undefined;
  start?: Rec;
  runtimeDone?: Rec;
  runtimeDoneMs?: number | undefined;
  report?: Rec;
  reportMs?: number | undefined;
  invokedArn?: string;
  coldstart: boolean;
  events: number;
}

interface PhaseState {
  kind: 'init' | 'restore';
  startMs?: number | undefined;
  start?: Rec;
  runtimeDone?: Rec;
  report?: Rec;
  reportMs?: number | undefined;
  events: number;
  /** A restore after an invocation of this process: not a cold start. */
  late?: boolean;
}

/** Invocations remembered as sent, so a replayed event opens no span. */
const FINISHED_REMEMBERED = 1_024;

/**
 * Builds the spans above from platform events and hands each finished one
 * to `emit`, once. Times are epoch ms.
 */
export class SpanAssembler {
  private readonly _open = new Map<string, Invocation>();
  /** Request ids whose span has been sent (the last FINISHED_REMEMBERED). */
  private readonly _finished = new Set<string>();
  private readonly _arns = new Map<string, string>();
  private _phase: PhaseState | undefined;
  /** The invocation the pending init/restore span will join. */
  private _anchor: SpanContext | undefined;
  private _seenInvocation = false;
  /** Any invocation has run in this process (a restore comes before). */
  private _invoked = false;
  private _initType: string | undefined;
  /**
   * Whether the next invocation is this environment's cold start. A
   * SnapStart init happened in the snapshot, hours before any restore: the
   * restore is the environment's start (README, Span mapping).
   */
  private _coldPending = false;
  private readonly _ids: IdGenerator;

  constructor(
    private readonly _s: SpanSettings,
    private readonly _emit: (out: SpanOutput) => void
  ) {
    this._ids = _s.ids ?? processIds;
  }

  /** Events held in spans not yet emitted (they count as queued). */
  get pendingEvents(): number {
    let n = this._phase?.events ?? 0;
    for (const inv of this._open.values()) n += inv.events;
    return n;
  }

  /** INVOKE carries the invoked ARN (with its alias), which no event has. */
  noteInvoke(requestId: string, invokedArn: string | undefined): void {
    if (invokedArn === undefined) return;
    const inv = this._open.get(requestId);
    if (inv) inv.invokedArn = invokedArn;
    else {
      this._arns.set(requestId, invokedArn);
      // INVOKE without a platform.start never grows this past a few.
      if (this._arns.size > 64)
        this._arns.delete(this._arns.keys().next().value as string);
    }
  }

  /** The span context logs of `requestId` should carry, if known. */
  contextOf(requestId: string): SpanContext | undefined {
    return this._open.get(requestId)?.ctx;
  }

  /** Takes a platform event; returns true if it went into a span. */
  take(type: string, record: Rec, timeMs: number | undefined): boolean {
    switch (type) {
      case 'platform.start':
        return this._add(record, (inv) => {
          inv.start = record;
          inv.startMs = timeMs;
        });
      case 'platform.runtimeDone':
        return this._add(record, (inv) => {
          inv.runtimeDone = record;
          inv.runtimeDoneMs = timeMs;
        });
      case 'platform.report':
        return this._add(record, (inv) => {
          inv.report = record;
          inv.reportMs = timeMs;
          this._finish(inv);
        });
      case 'platform.initStart':
      case 'platform.restoreStart': {
        const kind = type === 'platform.initStart' ? 'init' : 'restore';
        if (this._phase) this._emitPhase(this._phase);
        this._phase = { kind, start: record, startMs: timeMs, events: 1 };
        if (kind === 'restore' && this._invoked) this._phase.late = true;
        if (typeof record.initializationType === 'string')
          this._initType = record.initializationType;
        else if (kind === 'restore') this._initType = 'snap-start';
        this._anchor = undefined;
        // A process is restored once, before its first invocation: a
        // restoreStart after one (a replayed or stray event) starts no
        // cold start.
        if (kind === 'restore' && this._invoked) return true;
        this._seenInvocation = false;
        // An init re-run inside an invocation (after a reset) is that
        // invocation's cold start, whatever the environment's init type.
        this._coldPending =
          kind === 'restore' ||
          record.phase === 'invoke' ||
          (this._initType !== 'provisioned-concurrency' &&
            this._initType !== 'snap-start');
        return true;
      }
      case 'platform.initRuntimeDone':
      case 'platform.restoreRuntimeDone':
      case 'platform.initReport':
      case 'platform.restoreReport': {
        const phase = this._phaseFor(
          type.startsWith('platform.init') ? 'init' : 'restore'
        );
        phase.events++;
        if (type.endsWith('RuntimeDone')) {
          phase.runtimeDone = record;
          return true;
        }
        phase.report = record;
        phase.reportMs = timeMs;
        if (this._anchor) this._emitPhase(phase);
        return true;
      }
      default:
        return false;
    }
  }

  /** One of an invocation's three events; false if it names no request. */
  private _add(record: Rec, set: (inv: Invocation) => void): boolean {
    const inv = this._invocation(record);
    if (!inv) return false;
    inv.events++;
    set(inv);
    return true;
  }

  /** SHUTDOWN: emit everything still held, with what is known. */
  drain(nowMs: number): void {
    for (const inv of [...this._open.values()]) this._finish(inv, nowMs);
    if (this._phase) this._emitPhase(this._phase, nowMs);
  }

  private _phaseFor(kind: 'init' | 'restore'): PhaseState {
    if (!this._phase || this._phase.kind !== kind) {
      if (this._phase) this._emitPhase(this._phase);
      this._phase = { kind, events: 0 };
    }
    return this._phase;
  }

  private _invocation(record: Rec): Invocation | undefined {
    const requestId = record.requestId;
    if (typeof requestId !== 'string' || requestId === '') return undefined;
    let inv = this._open.get(requestId);
    if (inv) return inv;
    // A replayed or late event of an invocation already sent opens no
    // second span (nor counts it twice in the metrics): it stays a log
    // record of its own.
    if (this._finished.has(requestId)) return undefined;
    const tracing = (record.tracing ?? {}) as Rec;
    const xray = parseXRayHeader(tracing.value);
    const ctx: SpanContext = {
      traceId: xray?.traceId ?? this._ids.traceId(),
      spanId: isSpanId(tracing.spanId)
        ? tracing.spanId.toLowerCase()
        : this._ids.spanId(),
      // Exported whatever X-Ray sampled; the flag is carried as it came.
      traceFlags:
        xray?.sampled === false ? TraceFlags.NONE : TraceFlags.SAMPLED,
    };
    const coldstart = !this._seenInvocation && this._coldPending;
    this._seenInvocation = true;
    this._invoked = true;
    inv = {
      requestId,
      ctx,
      ...(xray?.parentSpanId ? { parentSpanId: xray.parentSpanId } : {}),
      coldstart,
      events: 0,
    };
    const arn = this._arns.get(requestId);
    if (arn) {
      inv.invokedArn = arn;
      this._arns.delete(requestId);
    }
    this._open.set(requestId, inv);
    if (this._phase && !this._anchor) {
      this._anchor = ctx;
      if (this._phase.report) this._emitPhase(this._phase);
    }
    return inv;
  }

  private _finish(inv: Invocation, nowMs?: number): void {
    this._open.delete(inv.requestId);
    this._finished.add(inv.requestId);
    if (this._finished.size > FINISHED_REMEMBERED) {
      // Insertion order: the oldest goes.
      const oldest = this._finished.values().next().value as string;
      this._finished.delete(oldest);
    }
    this._s.onInvocation?.({
      coldstart: inv.coldstart,
      report: inv.report,
      runtimeDone: inv.runtimeDone,
    });
    const { resource, scope, functionName } = this._s;
    const status = str(inv.report?.status) ?? str(inv.runtimeDone?.status);
    const errorType =
      str(inv.report?.errorType) ?? str(inv.runtimeDone?.errorType);
    const metrics = (inv.report?.metrics ?? {}) as Rec;
    const rdMetrics = (inv.runtimeDone?.metrics ?? {}) as Rec;
    const reportDuration = num(metrics.durationMs);
    const startMs =
      inv.startMs ??
      (inv.reportMs !== undefined && reportDuration !== undefined
        ? inv.reportMs - reportDuration
        : (inv.runtimeDoneMs ?? inv.reportMs ?? nowMs ?? Date.now()));
    const endMs =
      reportDuration !== undefined
        ? startMs + reportDuration
        : (inv.runtimeDoneMs ?? inv.reportMs ?? nowMs ?? startMs);

    const attributes: Attributes = {
      [ATTR_FAAS_INVOCATION_ID]: inv.requestId,
      [ATTR_FAAS_COLDSTART]: inv.coldstart,
    };
    if (inv.invokedArn)
      attributes[ATTR_AWS_LAMBDA_INVOKED_ARN] = inv.invokedArn;
    if (status) attributes[ATTR_LAMBDA_STATUS] = status;
    const version = str(inv.start?.version);
    if (version) attributes[ATTR_LAMBDA_FUNCTION_VERSION] = version;
    for (const [key, attr] of Object.entries(REPORT_METRIC_ATTRS)) {
      const v = num(metrics[key]);
      if (v !== undefined) attributes[attr] = v;
    }
    const rdDuration = num(rdMetrics.durationMs);
    if (rdDuration !== undefined)
      attributes[ATTR_RUNTIME_DURATION_MS] = rdDuration;
    const produced = num(rdMetrics.producedBytes);
    if (produced !== undefined)
      attributes[ATTR_RUNTIME_PRODUCED_BYTES] = produced;
    if (!inv.report) attributes[ATTR_LAMBDA_REPORT_MISSING] = true;
    if (status && status !== 'success')
      attributes[ATTR_ERROR_TYPE] = errorType ?? status;

    this._emit({
      span: makeSpan({
        name: functionName,
        kind: SpanKind.SERVER,
        ctx: inv.ctx,
        ...(inv.parentSpanId
          ? { parent: { ...inv.ctx, spanId: inv.parentSpanId, isRemote: true } }
          : {}),
        startMs,
        endMs,
        status,
        errorType,
        attributes,
        resource: resource(),
        scope,
      }),
      events: inv.events,
    });
    const phases = [...spansOf(inv.runtimeDone), ...spansOf(inv.report)];
    for (const p of phases) {
      this._emit({
        span: makeSpan({
          name: p.name,
          kind: SpanKind.INTERNAL,
          ctx: { ...inv.ctx, spanId: this._ids.spanId() },
          parent: inv.ctx,
          startMs: p.startMs,
          endMs: p.startMs + p.durationMs,
          status: undefined,
          errorType: undefined,
          attributes: { [ATTR_PHASE_DURATION_MS]: p.durationMs },
          resource: resource(),
          scope,
        }),
        events: 0,
      });
    }
  }

  private _emitPhase(phase: PhaseState, nowMs?: number): void {
    if (this._phase === phase) this._phase = undefined;
    const { resource, scope } = this._s;
    const anchor = this._anchor;
    const ctx: SpanContext = anchor
      ? {
          traceId: anchor.traceId,
          spanId: this._ids.spanId(),
          traceFlags: anchor.traceFlags,
        }
      : {
          traceId: this._ids.traceId(),
          spanId: this._ids.spanId(),
          traceFlags: TraceFlags.SAMPLED,
        };
    const status = str(phase.report?.status) ?? str(phase.runtimeDone?.status);
    const errorType =
      str(phase.report?.errorType) ?? str(phase.runtimeDone?.errorType);
    const duration = num(((phase.report?.metrics ?? {}) as Rec).durationMs);
    const startMs =
      phase.startMs ??
      (phase.reportMs !== undefined && duration !== undefined
        ? phase.reportMs - duration
        : (phase.reportMs ?? nowMs ?? Date.now()));
    const endMs =
      duration !== undefined
        ? startMs + duration
        : (phase.reportMs ?? nowMs ?? startMs);
    const rec = { ...phase.start, ...phase.runtimeDone, ...phase.report };
    const initType =
      str(rec.initializationType) ??
      (phase.kind === 'restore' ? 'snap-start' : undefined);
    const attributes: Attributes = {
      // A SnapStart init made the snapshot: no environment started cold
      // there (each restore is the cold start of its environment).
      [ATTR_FAAS_COLDSTART]:
        phase.kind === 'restore'
          ? phase.late !== true
          : (initType ?? this._initType) !== 'snap-start',
    };
    if (initType) attributes[ATTR_LAMBDA_INIT_TYPE] = initType;
    const p = str(rec.phase);
    if (p) attributes[ATTR_LAMBDA_INIT_PHASE] = p;
    const rv = str(rec.runtimeVersion);
    if (rv) attributes[ATTR_LAMBDA_RUNTIME_VERSION] = rv;
    const rva = str(rec.runtimeVersionArn);
    if (rva) attributes[ATTR_LAMBDA_RUNTIME_VERSION_ARN] = rva;
    if (duration !== undefined) attributes[ATTR_PHASE_DURATION_MS] = duration;
    if (status) attributes[ATTR_LAMBDA_STATUS] = status;
    if (status && status !== 'success')
      attributes[ATTR_ERROR_TYPE] = errorType ?? status;
    if (!phase.report) attributes[ATTR_LAMBDA_REPORT_MISSING] = true;
    this._emit({
      span: makeSpan({
        name: phase.kind,
        kind: SpanKind.INTERNAL,
        ctx,
        ...(anchor ? { parent: anchor } : {}),
        startMs,
        endMs,
        status,
        errorType,
        attributes,
        resource: resource(),
        scope,
      }),
      events: phase.events,
    });
  }
}

interface PhaseSpan {
  name: string;
  startMs: number;
  durationMs: number;
}

function spansOf(record: Rec | undefined): PhaseSpan[] {
  const spans = record?.spans;
  if (!Array.isArray(spans)) return [];
  const out: PhaseSpan[] = [];
  for (const s of spans as Rec[]) {
    if (s === null || typeof s !== 'object') continue;
    const startMs = parseTimeMs(s.start);
    const durationMs = num(s.durationMs);
    const name = str(s.name);
    if (startMs === undefined || durationMs === undefined || !name) continue;
    out.push({ name, startMs, durationMs });
  }
  return out;
}

interface SpanParts {
  name: string;
  kind: SpanKind;
  ctx: SpanContext;
  parent?: SpanContext;
  startMs: number;
  endMs: number;
  status: string | undefined;
  errorType: string | undefined;
  attributes: Attributes;
  resource: Resource;
  scope: InstrumentationScope;
}

/** The one place that builds ReadableSpan (its shape changes between SDK majors). */
function makeSpan(p: SpanParts): ReadableSpan {
  const endMs = Math.max(p.endMs, p.startMs);
  return {
    name: p.name,
    kind: p.kind,
    spanContext: () => p.ctx,
    ...(p.parent ? { parentSpanContext: p.parent } : {}),
    startTime: toHrTime(p.startMs),
    endTime: toHrTime(endMs),
    duration: toHrTime(endMs - p.startMs),
    ended: true,
    status:
      p.status === undefined
        ? { code: SpanStatusCode.UNSET }
        : p.status === 'success'
          ? { code: SpanStatusCode.OK }
          : {
              code: SpanStatusCode.ERROR,
              message: p.errorType ? `${p.status}: ${p.errorType}` : p.status,
            },
    attributes: p.attributes,
    links: [],
    events: [],
    resource: p.resource,
    instrumentationScope: p.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)))
    return Number(v);
  return undefined;
}
