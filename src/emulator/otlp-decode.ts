/**
 * Decodes OTLP/HTTP requests (protobuf or JSON, as received) into plain
 * records, independently of the extension's encoder: protobuf goes through
 * the protobufjs module generated from the opentelemetry-proto files that
 * @opentelemetry/otlp-transformer 0.57.2 shipped (installed under the alias
 * `otlp-proto-decoder`, ecosystem.md B.5); JSON through JSON.parse.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * One OTLP log record, flattened. Throughout: attribute values and bodies
 * unwrapped from AnyValue (int64 as a number, maps as objects), ids lower
 * case hex (`''` when absent), times decimal strings of ns since the epoch
 * (`'0'` when absent).
 */
export interface DecodedLog {
  /** The resource's attributes. */
  resource: Record<string, unknown>;
  /** The instrumentation scope's name. */
  scope: string;
  timeUnixNano: string;
  observedTimeUnixNano: string;
  /** OTel severity number, 1 (TRACE) .. 24; 0 unset. */
  severityNumber: number;
  severityText: string;
  body: unknown;
  attributes: Record<string, unknown>;
  traceId: string;
  spanId: string;
  /** The record's flags (the W3C trace flags in the low 8 bits). */
  flags: number;
}

/** One OTLP span, flattened as DecodedLog is. */
export interface DecodedSpan {
  resource: Record<string, unknown>;
  scope: string;
  traceId: string;
  spanId: string;
  /** `''` for a root span. */
  parentSpanId: string;
  name: string;
  /** SpanKind: 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** StatusCode: 0 UNSET, 1 OK, 2 ERROR. */
  status: { code: number; message: string };
  attributes: Record<string, unknown>;
  flags: number;
}

interface ProtoRoot {
  opentelemetry: {
    proto: {
      collector: {
        logs: { v1: { ExportLogsServiceRequest: ProtoType } };
        trace: { v1: { ExportTraceServiceRequest: ProtoType } };
        metrics: { v1: { ExportMetricsServiceRequest: ProtoType } };
      };
    };
  };
}
interface ProtoType {
  decode(buf: Uint8Array): unknown;
  toObject(msg: unknown, opts: Record<string, unknown>): unknown;
}

let root: ProtoRoot | undefined;
function protoRoot(): ProtoRoot {
  root ??=
    require('otlp-proto-decoder/build/src/generated/root.js') as ProtoRoot;
  return root;
}

type Obj = Record<string, unknown>;

/**
 * The log records and spans of one request to `path` (the signal is the
 * path's last word; any other path gives none), decoded by `contentType`
 * (`application/json`, else protobuf). Throws on a body that does not
 * decode.
 */
export function decodeOtlp(
  path: string,
  contentType: string,
  body: Buffer
): { logs: DecodedLog[]; spans: DecodedSpan[] } {
  // Per-signal endpoints may be any path: the signal is its last word.
  const p = path.split('?')[0] ?? '';
  const isLogs = /logs\/?$/.test(p);
  const isTraces = /traces\/?$/.test(p);
  if (!isLogs && !isTraces) return { logs: [], spans: [] };
  let msg: Obj;
  if (contentType.startsWith('application/json')) {
    msg = JSON.parse(body.toString('utf8')) as Obj;
  } else {
    const c = protoRoot().opentelemetry.proto.collector;
    const type = isLogs
      ? c.logs.v1.ExportLogsServiceRequest
      : c.trace.v1.ExportTraceServiceRequest;
    msg = type.toObject(type.decode(body), {
      longs: String,
      bytes: String,
      enums: Number,
      defaults: true,
      arrays: true,
      objects: true,
    }) as Obj;
  }
  return isLogs
    ? { logs: logsOf(msg), spans: [] }
    : { logs: [], spans: spansOf(msg) };
}

function logsOf(msg: Obj): DecodedLog[] {
  const out: DecodedLog[] = [];
  for (const rl of (msg.resourceLogs ?? []) as Obj[]) {
    const resource = attrs((rl.resource as Obj | undefined)?.attributes);
    for (const sl of (rl.scopeLogs ?? []) as Obj[]) {
      const scope = String((sl.scope as Obj | undefined)?.name ?? '');
      for (const lr of (sl.logRecords ?? []) as Obj[]) {
        out.push({
          resource,
          scope,
          timeUnixNano: String(lr.timeUnixNano ?? '0'),
          observedTimeUnixNano: String(lr.observedTimeUnixNano ?? '0'),
          severityNumber: Number(lr.severityNumber ?? 0),
          severityText: String(lr.severityText ?? ''),
          body: anyValue(lr.body),
          attributes: attrs(lr.attributes),
          traceId: id(lr.traceId),
          spanId: id(lr.spanId),
          flags: Number(lr.flags ?? 0),
        });
      }
    }
  }
  return out;
}

function spansOf(msg: Obj): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const rs of (msg.resourceSpans ?? []) as Obj[]) {
    const resource = attrs((rs.resource as Obj | undefined)?.attributes);
    for (const ss of (rs.scopeSpans ?? []) as Obj[]) {
      const scope = String((ss.scope as Obj | undefined)?.name ?? '');
      for (const s of (ss.spans ?? []) as Obj[]) {
        const status = (s.status ?? {}) as Obj;
        out.push({
          resource,
          scope,
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          parentSpanId: id(s.parentSpanId),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
          endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
          status: {
            code: Number(status.code ?? 0),
            message: String(status.message ?? ''),
          },
          attributes: attrs(s.attributes),
          flags: Number(s.flags ?? 0),
        });
      }
    }
  }
  return out;
}

/** One data point of an exported metric, flattened. */
export interface DecodedPoint {
  resource: Record<string, unknown>;
  scope: string;
  name: string;
  unit: string;
  kind: 'sum' | 'gauge' | 'histogram';
  /** 1 delta, 2 cumulative (AggregationTemporality); 0 for a gauge. */
  temporality: number;
  monotonic: boolean;
  attributes: Record<string, unknown>;
  startTimeUnixNano: string;
  timeUnixNano: string;
  /** A sum's or gauge's value. */
  value: number;
  /** A histogram's count and sum. */
  count: number;
  sum: number;
}

/** The data points of an OTLP/HTTP metrics request (protobuf or JSON). */
export function decodeMetrics(
  path: string,
  contentType: string,
  body: Buffer
): DecodedPoint[] {
  const p = path.split('?')[0] ?? '';
  if (!/metrics\/?$/.test(p)) return [];
  let msg: Obj;
  if (contentType.startsWith('application/json')) {
    msg = JSON.parse(body.toString('utf8')) as Obj;
  } else {
    const type =
      protoRoot().opentelemetry.proto.collector.metrics.v1
        .ExportMetricsServiceRequest;
    msg = type.toObject(type.decode(body), {
      longs: String,
      bytes: String,
      enums: Number,
      arrays: true,
      objects: true,
    }) as Obj;
  }
  const out: DecodedPoint[] = [];
  for (const rm of (msg.resourceMetrics ?? []) as Obj[]) {
    const resource = attrs((rm.resource as Obj | undefined)?.attributes);
    for (const sm of (rm.scopeMetrics ?? []) as Obj[]) {
      const scope = String((sm.scope as Obj | undefined)?.name ?? '');
      for (const m of (sm.metrics ?? []) as Obj[]) {
        const kind = m.sum ? 'sum' : m.histogram ? 'histogram' : 'gauge';
        const data = (m.sum ?? m.histogram ?? m.gauge ?? {}) as Obj;
        for (const dp of (data.dataPoints ?? []) as Obj[]) {
          out.push({
            resource,
            scope,
            name: String(m.name ?? ''),
            unit: String(m.unit ?? ''),
            kind,
            temporality: Number(data.aggregationTemporality ?? 0),
            monotonic: data.isMonotonic === true,
            attributes: attrs(dp.attributes),
            startTimeUnixNano: String(dp.startTimeUnixNano ?? '0'),
            timeUnixNano: String(dp.timeUnixNano ?? '0'),
            value: Number(dp.asDouble ?? dp.asInt ?? 0),
            count: Number(dp.count ?? 0),
            sum: Number(dp.sum ?? 0),
          });
        }
      }
    }
  }
  return out;
}

/** Protobuf bytes arrive base64 (toObject bytes: String); JSON ids are hex. */
function id(v: unknown): string {
  if (typeof v !== 'string' || v === '') return '';
  if (/^[0-9a-f]+$/i.test(v) && (v.length === 32 || v.length === 16))
    return v.toLowerCase();
  return Buffer.from(v, 'base64').toString('hex');
}

function attrs(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (list ?? []) as Obj[])
    out[String(kv.key)] = anyValue(kv.value);
  return out;
}

function anyValue(v: unknown): unknown {
  if (v === null || v === undefined || typeof v !== 'object') return v ?? null;
  const o = v as Obj;
  if (
    'stringValue' in o &&
    o.stringValue !== undefined &&
    o.stringValue !== null
  )
    return o.stringValue;
  if ('boolValue' in o && o.boolValue !== undefined && o.boolValue !== null)
    return o.boolValue;
  if ('intValue' in o && o.intValue !== undefined && o.intValue !== null)
    return Number(o.intValue);
  if (
    'doubleValue' in o &&
    o.doubleValue !== undefined &&
    o.doubleValue !== null
  )
    return Number(o.doubleValue);
  if ('arrayValue' in o && o.arrayValue) {
    return (((o.arrayValue as Obj).values ?? []) as unknown[]).map(anyValue);
  }
  if ('kvlistValue' in o && o.kvlistValue)
    return attrs((o.kvlistValue as Obj).values);
  if ('bytesValue' in o && o.bytesValue) return o.bytesValue;
  return null;
}
