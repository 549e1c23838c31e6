/**
 * OTLP/HTTP JSON (the protobuf JSON mapping with OTLP's exceptions: trace
 * and span ids in hex, enums as numbers, 64-bit integers as decimal
 * strings for times), one record at a time, so a request is assembled from
 * chunks of already encoded records like the protobuf one.
 */
import type { AnyValue, Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { otlpSpanFlags } from './trace-context.js';

export function logRecordJson(r: ReadableLogRecord): string {
  const ctx = r.spanContext;
  return JSON.stringify({
    timeUnixNano: nanos(r.hrTime),
    observedTimeUnixNano: nanos(r.hrTimeObserved),
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: r.body === undefined ? undefined : anyValue(r.body),
    eventName: r.eventName,
    attributes: attributes(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount || undefined,
    flags: ctx?.traceFlags || undefined,
    traceId: ctx?.traceId,
    spanId: ctx?.spanId,
  });
}

export function spanJson(s: ReadableSpan): string {
  const ctx = s.spanContext();
  return JSON.stringify({
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    traceState: ctx.traceState?.serialize() || undefined,
    parentSpanId: s.parentSpanContext?.spanId,
    name: s.name,
    kind: s.kind + 1,
    startTimeUnixNano: nanos(s.startTime),
    endTimeUnixNano: nanos(s.endTime),
    attributes: attributes(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount || undefined,
    events: s.events.map((e) => ({
      timeUnixNano: nanos(e.time),
      name: e.name,
      attributes: attributes(e.attributes),
    })),
    droppedEventsCount: s.droppedEventsCount || undefined,
    links: s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: attributes(l.attributes),
      flags: otlpSpanFlags(l.context.traceFlags, l.context.isRemote),
    })),
    droppedLinksCount: s.droppedLinksCount || undefined,
    status: {
      code: s.status.code || undefined,
      message: s.status.message || undefined,
    },
    flags: otlpSpanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote),
  });
}

export function resourceJson(resource: Resource): string {
  return JSON.stringify({ attributes: attributes(resource.attributes) });
}

export function scopeJson(scope: InstrumentationScope): string {
  return JSON.stringify({ name: scope.name, version: scope.version });
}

/** Consecutive chunks that share a resource and a scope. */
export interface JsonRun {
  resource: string;
  scope: string;
  /** Records as JSON texts, joined with commas within a chunk. */
  data: readonly string[];
}

export function jsonRequest(
  signal: 'logs' | 'traces',
  runs: readonly JsonRun[]
): Buffer {
  const [outer, middle, inner] =
    signal === 'logs'
      ? ['resourceLogs', 'scopeLogs', 'logRecords']
      : ['resourceSpans', 'scopeSpans', 'spans'];
  const parts = runs.map(
    (r) =>
      `{"resource":${r.resource},"${middle}":[{"scope":${r.scope},"${inner}":[${r.data.join(',')}]}]}`
  );
  return Buffer.from(`{"${outer}":[${parts.join(',')}]}`, 'utf8');
}

type JsonAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: number }
  | { doubleValue: number | string }
  | { bytesValue: string }
  | { arrayValue: { values: JsonAnyValue[] } }
  | { kvlistValue: { values: { key: string; value: JsonAnyValue }[] } }
  | Record<string, never>;

function anyValue(v: AnyValue): JsonAnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      if (Number.isInteger(v)) return { intValue: v };
      // JSON has no NaN or Infinity; the protobuf JSON mapping spells them.
      return {
        doubleValue: Number.isFinite(v)
          ? v
          : Number.isNaN(v)
            ? 'NaN'
            : v > 0
              ? 'Infinity'
              : '-Infinity',
      };
    case 'object':
      if (v === null) return {};
      if (v instanceof Uint8Array)
        return { bytesValue: Buffer.from(v).toString('base64') };
      if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
      return {
        kvlistValue: {
          values: Object.keys(v).map((key) => ({
            key,
            value: anyValue((v as Record<string, AnyValue>)[key] as AnyValue),
          })),
        },
      };
    default:
      return {};
  }
}

function attributes(
  a: Attributes | undefined
): { key: string; value: JsonAnyValue }[] | undefined {
  if (a === undefined) return undefined;
  const out: { key: string; value: JsonAnyValue }[] = [];
  for (const key in a) {
    if (Object.hasOwn(a, key))
      out.push({ key, value: anyValue(a[key] as AnyValue) });
  }
  return out.length > 0 ? out : undefined;
}

/** Epoch nanoseconds as a decimal string (it passes 2^53). */
function nanos(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}
