/**
 * Property-based: over 10,000 generated batches mixing good events and
 * hostile ones (wrong types, huge strings, deep nesting, any unicode), the
 * reader, the OpenTelemetry mapping (through the SDK's LoggerProvider) and
 * the official OTLP serializers never throw, every good function line
 * becomes exactly one log record, and the serialized requests decode
 * (independent decoder) to exactly the records mapped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBatch } from '../../src/lambda/batch.js';
import type { TelemetryEvent } from '../../src/lambda/events.js';
import { RawMapper } from '../../src/map/raw.js';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { decodeOtlp } from '../../src/emulator/otlp-decode.js';
import { OtelMapper } from '../../src/otel/mapper.js';
import { batch } from '../helpers/arbitraries.js';
import { type Mapped, type OtelItem, recorder } from '../helpers/recorder.js';

type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Through the official serializers, then the independent decoder. */
function roundTrip(protocol: OtlpProtocol, items: OtelItem[]) {
  const logs = items.flatMap((o) => (o.signal === 'logs' ? [o.record] : []));
  const spans = items.flatMap((o) => (o.signal === 'traces' ? [o.span] : []));
  const json = protocol === 'http/json';
  const type = json ? 'application/json' : 'application/x-protobuf';
  const body = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []);
  return {
    logs:
      logs.length === 0
        ? []
        : decodeOtlp(
            '/v1/logs',
            type,
            body(
              (json
                ? JsonLogsSerializer
                : ProtobufLogsSerializer
              ).serializeRequest(logs)
            )
          ).logs,
    spans:
      spans.length === 0
        ? []
        : decodeOtlp(
            '/v1/traces',
            type,
            body(
              (json
                ? JsonTraceSerializer
                : ProtobufTraceSerializer
              ).serializeRequest(spans)
            )
          ).spans,
  };
}

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

describe('hostile input, property-based', () => {
  it('never throws, and every good function line becomes one log record', () => {
    console.log(`fast-check seed ${seed} (FC_SEED=${seed} to replay)`);
    const options = {
      functionName: 'fn',
      resourceAttributes: {},
      managedInstances: false,
      platformLogs: true,
      maxBodyChars: 65_536,
      signals: { logs: true, traces: true },
      scopeVersion: '0',
    };
    const sink: Mapped<OtelItem>[] = [];
    const mapper = new OtelMapper({ ...options, processor: recorder(sink) });
    const protocols: OtlpProtocol[] = ['http/protobuf', 'http/json'];
    let runs = 0;
    fc.assert(
      fc.property(batch, (items) => {
        const parsed = parseBatch(JSON.stringify(items.map((i) => i.e)));
        if (!parsed.ok) return false;
        const events: TelemetryEvent[] = [...parsed.batch];
        sink.length = 0;
        for (const e of events) mapper.map(e);
        const out = sink.map((m) => m.value);
        const logs = out.flatMap((o) =>
          o.signal === 'logs' ? [o.record] : []
        );
        const spans = out.flatMap((o) =>
          o.signal === 'traces' ? [o.span] : []
        );
        // The same events through a fresh mapping (so its spans match):
        // the serialized requests decode to what was mapped.
        const protocol = protocols[runs++ % 2] as OtlpProtocol;
        const freshItems: Mapped<OtelItem>[] = [];
        const again = new OtelMapper({
          ...options,
          processor: recorder(freshItems),
        });
        for (const e of events) again.map(e);
        const fresh = freshItems.map((m) => m.value);
        const back = roundTrip(protocol, fresh);
        const freshLogs = fresh.flatMap((o) =>
          o.signal === 'logs' ? [o.record] : []
        );
        expect(back.logs.map((l) => l.body)).toEqual(
          freshLogs.map((l) => normalized(l.body))
        );
        expect(back.logs.map((l) => l.attributes)).toEqual(
          freshLogs.map((l) => normalized(l.attributes))
        );
        expect(back.spans.length).toBe(
          fresh.filter((o) => o.signal === 'traces').length
        );
        const goodLines = items.filter((i) => i.good && i.fn).length;
        const fnRecords = logs.filter(
          (l) => l.attributes['aws.lambda.event.type'] === 'function'
        ).length;
        // One record per `function` event, hostile ones kept whole too.
        expect(fnRecords).toBe(
          events.filter((e) => e.type === 'function').length
        );
        expect(fnRecords).toBeGreaterThanOrEqual(goodLines);
        expect(spans.length).toBeGreaterThanOrEqual(0);
        // Raw: every object comes out JSON-equal.
        const raw: string[] = [];
        const rawMapper = new RawMapper();
        for (const e of events) rawMapper.map(e, (it) => raw.push(it.value));
        const objects = items.filter(
          (i) => i.e !== null && typeof i.e === 'object' && !Array.isArray(i.e)
        );
        expect(raw).toEqual(objects.map((i) => JSON.stringify(i.e)));
        return true;
      }),
      { seed, numRuns: 10_000 }
    );
    // What is still held (spans without report) serializes too.
    sink.length = 0;
    mapper.drain();
    expect(() =>
      roundTrip(
        'http/protobuf',
        sink.map((m) => m.value)
      )
    ).not.toThrow();
  }, 120_000);
});

/**
 * What a record's value becomes through OTLP and the decoder: integers as
 * numbers, maps as maps, null and undefined as null (an empty AnyValue).
 */
function normalized(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(normalized);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalized(x);
    return out;
  }
  return v;
}
