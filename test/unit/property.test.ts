/**
 * Property-based: over 10,000 generated batches mixing good events and
 * hostile ones (wrong types, huge strings, deep nesting, any unicode), the
 * parser, the OpenTelemetry mapping and the OTLP encoders never throw, and
 * every good function line becomes exactly one log record.
 */
import {
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBatch } from '../../src/lambda/events.js';
import { OtelMapper, type OtelItem } from '../../src/otel/mapper.js';
import { RawMapper } from '../../src/map/raw.js';
import { batch } from '../helpers/arbitraries.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

describe('hostile input, property-based', () => {
  it('never throws, and every good function line becomes one log record', () => {
    console.log(`fast-check seed ${seed} (FC_SEED=${seed} to replay)`);
    const mapper = new OtelMapper({
      functionName: 'fn',
      resourceAttributes: {},
      managedInstances: false,
      platformLogs: true,
      maxBodyChars: 65_536,
      signals: { logs: true, traces: true },
      scopeVersion: '0',
    });
    fc.assert(
      fc.property(batch, (items) => {
        const parsed = parseBatch(JSON.stringify(items.map((i) => i.e)));
        if (!parsed.ok) return false;
        const out: OtelItem[] = [];
        for (const e of parsed.events)
          mapper.map(e, (it) => out.push(it.value));
        const logs = out.flatMap((o) =>
          o.signal === 'logs' ? [o.record] : []
        );
        const spans = out.flatMap((o) =>
          o.signal === 'traces' ? [o.span] : []
        );
        expect(ProtobufLogsSerializer.serializeRequest(logs)).toBeInstanceOf(
          Uint8Array
        );
        expect(ProtobufTraceSerializer.serializeRequest(spans)).toBeInstanceOf(
          Uint8Array
        );
        const goodLines = items.filter((i) => i.good && i.fn).length;
        const fnRecords = logs.filter(
          (l) => l.attributes['aws.lambda.event.type'] === 'function'
        ).length;
        // One record per `function` event, hostile ones kept whole too.
        expect(fnRecords).toBe(
          parsed.events.filter((e) => e.type === 'function').length
        );
        expect(fnRecords).toBeGreaterThanOrEqual(goodLines);
        // Raw: every object comes out JSON-equal.
        const raw: string[] = [];
        const rawMapper = new RawMapper();
        for (const e of parsed.events)
          rawMapper.map(e, (it) => raw.push(it.value));
        const objects = items.filter(
          (i) => i.e !== null && typeof i.e === 'object' && !Array.isArray(i.e)
        );
        expect(raw).toEqual(objects.map((i) => JSON.stringify(i.e)));
        return true;
      }),
      { seed, numRuns: 10_000 }
    );
    const drained: OtelItem[] = [];
    mapper.drain((it) => drained.push(it.value));
    expect(() =>
      ProtobufTraceSerializer.serializeRequest(
        drained.flatMap((o) => (o.signal === 'traces' ? [o.span] : []))
      )
    ).not.toThrow();
  }, 120_000);
});
