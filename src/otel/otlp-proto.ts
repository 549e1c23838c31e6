/**
 * OTLP protobuf, written straight from our log records and spans into a
 * reused buffer (opentelemetry-proto, logs/v1 and trace/v1 at 1.x).
 *
 * A request is assembled from chunks that already hold encoded records, so
 * exporting (or retrying) costs a copy, not a serialization. ResourceLogs
 * and ResourceSpans, ScopeLogs and ScopeSpans use the same field numbers,
 * which lets one assembler serve both signals.
 */
import type { AnyValue, Attributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { I32, I64, LEN, ProtoWriter, VARINT } from './protobuf.js';
import { otlpSpanFlags } from './trace-context.js';

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** Appends one LogRecord as field `field` (ScopeLogs.log_records = 2). */
export function writeLogRecord(
  w: ProtoWriter,
  field: number,
  r: ReadableLogRecord
): void {
  w.tag(field, LEN);
  const at = w.begin();
  w.tag(1, I64);
  w.hrTime(r.hrTime);
  if (r.severityNumber) {
    w.tag(2, VARINT);
    w.varint(r.severityNumber);
  }
  if (r.severityText) {
    w.tag(3, LEN);
    w.string(r.severityText);
  }
  if (r.body !== undefined) {
    w.tag(5, LEN);
    const body = w.begin();
    writeAnyValue(w, r.body);
    w.end(body);
  }
  writeAttributes(w, 6, r.attributes);
  if (r.droppedAttributesCount) {
    w.tag(7, VARINT);
    w.varint(r.droppedAttributesCount);
  }
  const ctx = r.spanContext;
  if (ctx) {
    if (ctx.traceFlags) {
      w.tag(8, I32);
      w.fixed32(ctx.traceFlags);
    }
    w.tag(9, LEN);
    w.hexBytes(ctx.traceId);
    w.tag(10, LEN);
    w.hexBytes(ctx.spanId);
  }
  w.tag(11, I64);
  w.hrTime(r.hrTimeObserved);
  if (r.eventName) {
    w.tag(12, LEN);
    w.string(r.eventName);
  }
  w.end(at);
}

/** Appends one Span as field `field` (ScopeSpans.spans = 2). */
export function writeSpan(
  w: ProtoWriter,
  field: number,
  s: ReadableSpan
): void {
  const ctx = s.spanContext();
  w.tag(field, LEN);
  const at = w.begin();
  w.tag(1, LEN);
  w.hexBytes(ctx.traceId);
  w.tag(2, LEN);
  w.hexBytes(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.tag(3, LEN);
    w.string(traceState);
  }
  if (s.parentSpanContext?.spanId) {
    w.tag(4, LEN);
    w.hexBytes(s.parentSpanContext.spanId);
  }
  w.tag(5, LEN);
  w.string(s.name);
  // The proto's SpanKind counts UNSPECIFIED as 0; the API's starts at 0.
  w.tag(6, VARINT);
  w.varint(s.kind + 1);
  w.tag(7, I64);
  w.hrTime(s.startTime);
  w.tag(8, I64);
  w.hrTime(s.endTime);
  writeAttributes(w, 9, s.attributes);
  if (s.droppedAttributesCount) {
    w.tag(10, VARINT);
    w.varint(s.droppedAttributesCount);
  }
  for (const e of s.events) {
    w.tag(11, LEN);
    const ev = w.begin();
    w.tag(1, I64);
    w.hrTime(e.time);
    w.tag(2, LEN);
    w.string(e.name);
    writeAttributes(w, 3, e.attributes);
    w.end(ev);
  }
  if (s.droppedEventsCount) {
    w.tag(12, VARINT);
    w.varint(s.droppedEventsCount);
  }
  for (const l of s.links) {
    w.tag(13, LEN);
    const link = w.begin();
    w.tag(1, LEN);
    w.hexBytes(l.context.traceId);
    w.tag(2, LEN);
    w.hexBytes(l.context.spanId);
    writeAttributes(w, 4, l.attributes);
    w.tag(6, I32);
    w.fixed32(otlpSpanFlags(l.context.traceFlags, l.context.isRemote));
    w.end(link);
  }
  if (s.droppedLinksCount) {
    w.tag(14, VARINT);
    w.varint(s.droppedLinksCount);
  }
  w.tag(15, LEN);
  const status = w.begin();
  if (s.status.message) {
    w.tag(2, LEN);
    w.string(s.status.message);
  }
  if (s.status.code) {
    w.tag(3, VARINT);
    w.varint(s.status.code);
  }
  w.end(status);
  w.tag(16, I32);
  w.fixed32(otlpSpanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote));
  w.end(at);
}

function writeAttributes(
  w: ProtoWriter,
  field: number,
  attributes: Attributes | undefined
): void {
  if (attributes === undefined) return;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    w.tag(field, LEN);
    const kv = w.begin();
    writeKeyValue(w, key, attributes[key] as AnyValue);
    w.end(kv);
  }
}

function writeKeyValue(w: ProtoWriter, key: string, value: AnyValue): void {
  w.tag(1, LEN);
  w.string(key);
  w.tag(2, LEN);
  const at = w.begin();
  writeAnyValue(w, value);
  w.end(at);
}

/** AnyValue's content; null and undefined leave it empty (no value). */
export function writeAnyValue(w: ProtoWriter, v: AnyValue): void {
  switch (typeof v) {
    case 'string':
      w.tag(1, LEN);
      w.string(v);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.varint(v ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64) {
        w.tag(3, VARINT);
        w.int64(v);
      } else {
        w.tag(4, I64);
        w.double(v);
      }
      return;
    case 'object': {
      if (v === null) return;
      if (v instanceof Uint8Array) {
        w.tag(7, LEN);
        w.bytes(v);
        return;
      }
      if (Array.isArray(v)) {
        w.tag(5, LEN);
        const list = w.begin();
        for (const item of v) {
          w.tag(1, LEN);
          const at = w.begin();
          writeAnyValue(w, item);
          w.end(at);
        }
        w.end(list);
        return;
      }
      w.tag(6, LEN);
      const list = w.begin();
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        w.tag(1, LEN);
        const kv = w.begin();
        writeKeyValue(w, k, (v as Record<string, AnyValue>)[k] as AnyValue);
        w.end(kv);
      }
      w.end(list);
      return;
    }
    default:
      return;
  }
}

/** Resource's content (field 1 of ResourceLogs / ResourceSpans). */
export function resourceMessage(resource: Resource): Buffer {
  const w = new ProtoWriter(1024);
  writeAttributes(w, 1, resource.attributes);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** InstrumentationScope's content. */
export function scopeMessage(scope: InstrumentationScope): Buffer {
  const w = new ProtoWriter(256);
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** Consecutive chunks that share a resource and a scope. */
export interface ProtoRun {
  resource: Buffer;
  scope: Buffer;
  /** Encoded records, each `tag(2) len message`. */
  data: readonly Buffer[];
}

/**
 * ExportLogsServiceRequest / ExportTraceServiceRequest as the parts of its
 * body, in order: every length is known from the chunks, so each run's
 * framing (ResourceLogs, its resource, ScopeLogs, its scope) is a few bytes
 * written up front, and the chunks follow as they are, not copied.
 */
export function protoRequestParts(runs: readonly ProtoRun[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const r of runs) {
    let records = 0;
    for (const d of r.data) records += d.length;
    const scopeList = field(r.scope.length) + records;
    const resourceList = field(r.resource.length) + field(scopeList);
    const w = new ProtoWriter(32 + r.resource.length + r.scope.length);
    w.tag(1, LEN);
    w.varint(resourceList);
    w.tag(1, LEN);
    w.bytes(r.resource);
    w.tag(2, LEN);
    w.varint(scopeList);
    w.tag(1, LEN);
    w.bytes(r.scope);
    parts.push(w.buf.subarray(0, w.pos), ...r.data);
  }
  return parts;
}

/** Bytes of a length-delimited field with a one-byte tag. */
function field(len: number): number {
  let size = 1;
  for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return 1 + size + len;
}
