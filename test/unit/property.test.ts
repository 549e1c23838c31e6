/**
 * Property-based: over 10,000 generated batches mixing good events and
 * hostile ones (wrong types, huge strings, deep nesting, any unicode), the
 * reader, the OpenTelemetry mapping and the OTLP encoders never throw, every
 * good function line becomes exactly one log record, and the encoded
 * requests decode (independent decoder) to exactly the records mapped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBatch } from '../../src/lambda/batch.js';
import type { TelemetryEvent } from '../../src/lambda/events.js';
import { RawMapper } from '../../src/map/raw.js';
import type { QueueItem } from '../../src/pipeline/queue.js';
import {
  ChunkingMapper,
  type OtlpChunk,
  type OtlpProtocol,
} from '../../src/otel/chunks.js';
import { OtelMapper, type OtelItem } from '../../src/otel/mapper.js';
import { batch } from '../helpers/arbitraries.js';
import { decodeChunks } from '../helpers/otlp.js';

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
    const mapper = new OtelMapper(options);
    const protocols: OtlpProtocol[] = ['http/protobuf', 'http/json'];
    let runs = 0;
    fc.assert(
      fc.property(batch, (items) => {
        const parsed = parseBatch(JSON.stringify(items.map((i) => i.e)));
        if (!parsed.ok) return false;
        const events: TelemetryEvent[] = [...parsed.batch];
        const out: OtelItem[] = [];
        for (const e of events) mapper.map(e, (it) => out.push(it.value));
        const logs = out.flatMap((o) =>
          o.signal === 'logs' ? [o.record] : []
        );
        const spans = out.flatMap((o) =>
          o.signal === 'traces' ? [o.span] : []
        );
        // The same events through the encoding mapper (a fresh mapping, so
        // its spans match): the requests decode to what was mapped.
        const protocol = protocols[runs++ % 2] as OtlpProtocol;
        const chunks: QueueItem<OtlpChunk>[] = [];
        const chunking = new ChunkingMapper(new OtelMapper(options), protocol, {
          maxRecords: 7,
          maxBytes: 2_048,
        });
        const keep = (c: QueueItem<OtlpChunk>) => chunks.push(c);
        for (const e of events) chunking.map(e, keep);
        chunking.seal(keep);
        const back = decodeChunks(
          protocol,
          chunks.map((c) => c.value)
        );
        const fresh: OtelItem[] = [];
        const again = new OtelMapper(options);
        for (const e of events) again.map(e, (it) => fresh.push(it.value));
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
        expect(chunks.reduce((n, c) => n + (c.records ?? 1), 0)).toBe(
          fresh.length
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
    const drained: QueueItem<OtlpChunk>[] = [];
    const chunking = new ChunkingMapper(mapper, 'http/protobuf');
    chunking.drain((it) => drained.push(it));
    expect(() =>
      decodeChunks(
        'http/protobuf',
        drained.map((c) => c.value)
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
