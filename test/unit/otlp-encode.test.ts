/**
 * Our OTLP encoding, checked against independent references: BigInt
 * arithmetic for the wire primitives, and the protobufjs decoder generated
 * from the opentelemetry-proto files (otlp-decode.ts) or JSON.parse for
 * whole requests.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '../../src/lambda/events.js';
import type { QueueItem } from '../../src/pipeline/queue.js';
import {
  ChunkingMapper,
  type ChunkLimits,
  type OtlpChunk,
  type OtlpProtocol,
  type OtelSource,
} from '../../src/otel/chunks.js';
import {
  OtelMapper,
  type OtelItem,
  type OtelMapperOptions,
} from '../../src/otel/mapper.js';
import { ProtoWriter } from '../../src/otel/protobuf.js';
import { discard } from '../../src/util/memory.js';
import { decodeChunks } from '../helpers/otlp.js';

/** Protobuf's varint of a 64-bit two's complement value, by the book. */
function refVarint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

const written = (w: ProtoWriter) => [...w.buf.subarray(0, w.pos)];

/** Reads a varint at `at`: [value, next offset]. */
function readVarint(b: Buffer, from: number): [number, number] {
  let at = from;
  let v = 0;
  let scale = 1;
  for (;;) {
    const byte = b[at++] as number;
    v += (byte & 0x7f) * scale;
    if (byte < 0x80) return [v, at];
    scale *= 128;
  }
}

describe('ProtoWriter', () => {
  it.each([
    0,
    1,
    127,
    128,
    300,
    16_383,
    16_384,
    2 ** 31,
    2 ** 32 + 5,
    2 ** 53 - 1,
  ])('varint %d', (v) => {
    const w = new ProtoWriter(1);
    w.varint(v);
    expect(written(w)).toEqual(refVarint(BigInt(v)));
  });

  it.each([-1, -2, -300, -(2 ** 31), -(2 ** 53 - 1), -(2 ** 63), 5])(
    'int64 %d (a negative one is ten bytes of two’s complement)',
    (v) => {
      const w = new ProtoWriter(1);
      w.int64(v);
      expect(written(w)).toEqual(refVarint(BigInt(v)));
    }
  );

  it('writes [seconds, nanoseconds] as exact fixed64 nanoseconds', () => {
    const w = new ProtoWriter(8);
    const cases: [number, number][] = [
      [0, 0],
      [1, 999_999_999],
      [1_795_000_000, 123_456_789],
      [4_294_967_295, 999_999_999],
    ];
    for (let i = 0; i < 1_000; i++) {
      cases.push([
        Math.floor(Math.random() * 2 ** 32),
        Math.floor(Math.random() * 1e9),
      ]);
    }
    for (const [s, ns] of cases) {
      w.reset();
      w.hrTime([s, ns]);
      expect(w.buf.readBigUInt64LE(0)).toBe(
        BigInt(s) * 1_000_000_000n + BigInt(ns)
      );
    }
  });

  it.each([0, 127, 128, 16_383, 16_384, 2_097_152])(
    'a length-delimited field of %d bytes keeps its content whole',
    (len) => {
      const w = new ProtoWriter(16);
      w.tag(3, 2);
      const at = w.begin();
      const content = Buffer.from(
        Array.from({ length: len }, (_, i) => i % 251)
      );
      w.ensure(len);
      w.pos += content.copy(w.buf, w.pos);
      w.end(at);
      w.tag(4, 0);
      w.varint(7);
      const b = w.buf.subarray(0, w.pos);
      expect(b[0]).toBe((3 << 3) | 2);
      const [n, from] = readVarint(b, 1);
      expect(n).toBe(len);
      expect(b.subarray(from, from + len).equals(content)).toBe(true);
      expect([...b.subarray(from + len)]).toEqual([(4 << 3) | 0, 7]);
    }
  );

  it.each([
    '',
    'a',
    '€'.repeat(42),
    '€'.repeat(43),
    '🚀'.repeat(21),
    'x'.repeat(200),
    'ünïcødé',
  ])('string %j: its UTF-8 length, then its bytes', (s) => {
    const w = new ProtoWriter(1);
    w.string(s);
    const b = w.buf.subarray(0, w.pos);
    const [n, from] = readVarint(b, 0);
    expect(n).toBe(Buffer.byteLength(s));
    expect(b.subarray(from).toString('utf8')).toBe(s);
  });

  it('grows from an empty buffer', () => {
    const w = new ProtoWriter(0);
    w.string('grows');
    expect(written(w)).toEqual([5, ...Buffer.from('grows')]);
  });

  it('a malformed hex id still takes its declared length', () => {
    const w = new ProtoWriter(1);
    w.hexBytes('zz34');
    expect(written(w)).toEqual([2, 0, 0]);
  });
});

const RID = 'aaaaaaaa-1111-4222-8333-944445555666';
const XRAY =
  'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
const t = (ms: number) =>
  new Date(Date.parse('2026-11-25T10:00:00.000Z') + ms).toISOString();
const tracing = {
  type: 'X-Amzn-Trace-Id',
  value: XRAY,
  spanId: '1a2b3c4d5e6f7a8b',
};
const OPTIONS: OtelMapperOptions = {
  functionName: 'fn',
  resourceAttributes: { 'service.name': 'fn' },
  managedInstances: false,
  platformLogs: true,
  maxBodyChars: 1_000,
  signals: { logs: true, traces: true },
  scopeVersion: '1.2.3',
  now: () => Date.parse('2026-11-25T10:00:05.000Z'),
};

function invocation(status = 'success'): TelemetryEvent[] {
  return [
    {
      time: t(0),
      type: 'platform.start',
      record: { requestId: RID, version: '$LATEST', tracing },
    },
    {
      time: t(1),
      type: 'function',
      record: `${t(1)}\t${RID}\tERROR\tsomething failed: ✗\n`,
    },
    {
      time: t(2),
      type: 'function',
      record: {
        timestamp: t(2),
        level: 'WARN',
        message: 'structured',
        n: -42,
        ratio: 0.5,
        ok: true,
        nested: { list: [1, 'two', null] },
      },
    },
    {
      time: t(20),
      type: 'platform.runtimeDone',
      record: {
        requestId: RID,
        status,
        ...(status === 'success' ? {} : { errorType: 'Runtime.Boom' }),
        metrics: { durationMs: 19.5 },
        spans: [{ name: 'responseLatency', start: t(0), durationMs: 18 }],
        tracing,
      },
    },
    {
      time: t(25),
      type: 'platform.report',
      record: {
        requestId: RID,
        status,
        metrics: { durationMs: 21.25, billedDurationMs: 22 },
        tracing,
      },
    },
  ];
}

/**
 * Encodes the events; `mapped` is what the mapper handed to the encoder
 * (the very objects, phase span ids being random).
 */
function encode(
  protocol: OtlpProtocol,
  events: TelemetryEvent[],
  limits?: ChunkLimits
) {
  const chunks: QueueItem<OtlpChunk>[] = [];
  const keep = (c: QueueItem<OtlpChunk>) => chunks.push(c);
  const inner = new OtelMapper(OPTIONS);
  const mapped: OtelItem[] = [];
  const tee: OtelSource = {
    map: (e, out) =>
      inner.map(e, (i) => {
        mapped.push(i.value);
        out(i);
      }),
    drain: (out) => inner.drain(out),
    reportDrops: (c, out) => inner.reportDrops(c, out),
    noteInvoke: (r, a) => inner.noteInvoke(r, a),
    pendingEvents: 0,
    discardedEvents: 0,
  };
  const m = new ChunkingMapper(tee, protocol, limits);
  for (const e of events) m.map(e, keep);
  m.seal(keep);
  return { chunks, mapped };
}

const decode = (protocol: OtlpProtocol, chunks: QueueItem<OtlpChunk>[]) =>
  decodeChunks(
    protocol,
    chunks.map((c) => c.value)
  );

/** Span.flags values (field 16, fixed32: tag bytes 0x85 0x01) in the chunks. */
function spanFlagsIn(chunks: QueueItem<OtlpChunk>[]): number[] {
  const out: number[] = [];
  for (const c of chunks) {
    if (c.value.signal !== 'traces' || typeof c.value.data === 'string')
      continue;
    const b = c.value.data;
    for (let i = b.indexOf(0x85); i >= 0; i = b.indexOf(0x85, i + 1)) {
      if (b[i + 1] === 0x01 && i + 6 <= b.length)
        out.push(b.readUInt32LE(i + 2));
    }
  }
  return out;
}

const nanos = (hr: readonly [number, number]) =>
  (BigInt(hr[0]) * 1_000_000_000n + BigInt(hr[1])).toString();

describe.each(['http/protobuf', 'http/json'] as const)(
  'OTLP %s, decoded independently',
  (protocol) => {
    it('log records keep every field', () => {
      const events = invocation();
      const { chunks, mapped } = encode(protocol, events);
      const { logs } = decode(protocol, chunks);
      const expected = mapped.flatMap((i) =>
        i.signal === 'logs' ? [i.record] : []
      );
      expect(logs).toHaveLength(expected.length);
      logs.forEach((l, k) => {
        const r = expected[k];
        if (!r) throw new Error('missing record');
        expect(l.timeUnixNano).toBe(nanos(r.hrTime));
        expect(l.observedTimeUnixNano).toBe(nanos(r.hrTimeObserved));
        expect(l.severityNumber).toBe(r.severityNumber ?? 0);
        expect(l.severityText).toBe(r.severityText ?? '');
        expect(l.traceId).toBe(r.spanContext?.traceId ?? '');
        expect(l.spanId).toBe(r.spanContext?.spanId ?? '');
        expect(l.flags).toBe(r.spanContext?.traceFlags ?? 0);
        expect(l.resource).toEqual({ 'service.name': 'fn' });
        expect(l.scope).toBe('lambda-telemetry-otel');
      });
      const structured = logs.find((l) => l.body === 'structured');
      expect(structured?.attributes).toMatchObject({
        n: -42,
        ratio: 0.5,
        ok: true,
        nested: { list: [1, 'two', null] },
      });
      expect(logs.map((l) => l.body)).toContain('something failed: ✗');
    });

    it.each(['success', 'error'])('spans keep every field (%s)', (status) => {
      const events = invocation(status);
      const { chunks, mapped } = encode(protocol, events);
      const { spans } = decode(protocol, chunks);
      const expected = mapped.flatMap((i) =>
        i.signal === 'traces' ? [i.span] : []
      ) as ReadableSpan[];
      expect(spans).toHaveLength(expected.length);
      expect(expected.length).toBeGreaterThanOrEqual(2);
      spans.forEach((s, k) => {
        const e = expected[k] as ReadableSpan;
        expect(s.name).toBe(e.name);
        expect(s.traceId).toBe(e.spanContext().traceId);
        expect(s.spanId).toBe(e.spanContext().spanId);
        expect(s.parentSpanId).toBe(e.parentSpanContext?.spanId ?? '');
        expect(s.kind).toBe(e.kind + 1);
        expect(s.startTimeUnixNano).toBe(nanos(e.startTime));
        expect(s.endTimeUnixNano).toBe(nanos(e.endTime));
        expect(s.status.code).toBe(e.status.code);
        expect(s.status.message).toBe(e.status.message ?? '');
        const flags =
          (e.spanContext().traceFlags & 0xff) |
          0x100 |
          (e.parentSpanContext?.isRemote ? 0x200 : 0);
        // The decoder's proto predates Span.flags (field 16): for protobuf
        // the field's bytes are looked for in the body instead.
        if (protocol === 'http/json') expect(s.flags).toBe(flags);
        else expect(spanFlagsIn(chunks)).toContain(flags);
        expect(s.attributes).toEqual(e.attributes);
      });
      const server = spans.find((s) => s.kind === SpanKind.SERVER + 1);
      expect(server?.status.code).toBe(
        status === 'success' ? SpanStatusCode.OK : SpanStatusCode.ERROR
      );
    });

    it('chunks stay within their record bound and count exactly', () => {
      const lines: TelemetryEvent[] = Array.from({ length: 10 }, (_, i) => ({
        time: t(i),
        type: 'function',
        record: `line ${i}`,
      }));
      const { chunks } = encode(protocol, lines, {
        maxRecords: 3,
        maxBytes: 1e6,
      });
      expect(chunks.map((c) => c.records)).toEqual([3, 3, 3, 1]);
      expect(chunks.map((c) => c.events)).toEqual([3, 3, 3, 1]);
      for (const c of chunks) {
        expect(c.bytes).toBe(Buffer.byteLength(c.value.data));
      }
      expect(decode(protocol, chunks).logs.map((l) => l.body)).toEqual(
        lines.map((l) => l.record)
      );
    });

    it('a new resource (the instance id arrives) starts a new chunk', () => {
      const { chunks } = encode(protocol, [
        { time: t(0), type: 'function', record: 'before' },
        {
          time: t(1),
          type: 'platform.initStart',
          record: { instanceId: 'i-1', initializationType: 'on-demand' },
        },
        { time: t(2), type: 'function', record: 'after' },
      ]);
      const logs = decode(protocol, chunks).logs;
      const before = logs.find((l) => l.body === 'before');
      const after = logs.find((l) => l.body === 'after');
      expect(before?.resource['faas.instance']).toBeUndefined();
      expect(after?.resource['faas.instance']).toBe('i-1');
    });
  }
);

describe('chunk buffers', () => {
  it('are reused once released, and a double release hands none out twice', () => {
    const line = (s: string): TelemetryEvent => ({
      time: t(0),
      type: 'function',
      record: s,
    });
    const chunks: QueueItem<OtlpChunk>[] = [];
    const keep = (c: QueueItem<OtlpChunk>) => chunks.push(c);
    const m = new ChunkingMapper(new OtelMapper(OPTIONS), 'http/protobuf');
    const next = (s: string) => {
      m.map(line(s), keep);
      m.seal(keep);
      return chunks.at(-1) as QueueItem<OtlpChunk>;
    };
    const a = next('a');
    const slab = a.value.slab;
    expect(slab).toBeDefined();
    m.release([a]);
    m.release([a]);
    expect(a.value.slab).toBeUndefined();
    const b = next('b');
    const c = next('c');
    expect(b.value.slab).toBe(slab);
    expect(c.value.slab).not.toBe(slab);
    expect(decode('http/protobuf', [b, c]).logs.map((l) => l.body)).toEqual([
      'b',
      'c',
    ]);
  });

  it('keeps at most 64 free; the memory of the others is given back at once', () => {
    const chunks: QueueItem<OtlpChunk>[] = [];
    const keep = (c: QueueItem<OtlpChunk>) => chunks.push(c);
    const m = new ChunkingMapper(new OtelMapper(OPTIONS), 'http/protobuf');
    for (let i = 0; i < 70; i++) {
      m.map({ time: t(0), type: 'function', record: `line ${i}` }, keep);
      m.seal(keep);
    }
    const slabs = chunks.map((c) => c.value.slab as Buffer);
    m.release(chunks);
    const emptied = slabs.filter((s) => s.length === 0).length;
    expect(emptied).toBe(70 - 64);
  });
});

describe('discard', () => {
  it('frees a buffer that owns its memory, and leaves a slice of the shared pool alone', () => {
    const own = Buffer.allocUnsafeSlow(4096);
    const view = own.subarray(10, 20);
    discard(own);
    expect(own.length).toBe(0);
    expect(view.length).toBe(0);
    const pooled = Buffer.from('small');
    discard(pooled);
    expect(pooled.toString()).toBe('small');
  });
});
