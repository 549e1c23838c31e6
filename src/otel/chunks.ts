/**
 * Encodes log records and spans on receipt, into chunks of a few hundred
 * records that wait in the queue as bytes.
 *
 * Why: a Telemetry API batch is up to 10,000 events, and everything the
 * queue holds outlives several young-generation collections, so V8 promotes
 * it. Held as objects (record, attributes, times) that was ~600 bytes per
 * record promoted, and the old generation grew by tens of MiB between full
 * collections. Encoded, it is what goes on the wire, in a few dozen pooled
 * buffers outside the heap per batch. Export then only frames the chunks,
 * and a retry costs no new serialization.
 *
 * The queue's unit stays the Telemetry API event: a chunk counts the events
 * of its records, and its bytes are the exact encoded size.
 */
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { TelemetryEvent } from '../lambda/events.js';
import type { DropReport, Emit, Mapper } from '../map/mapper.js';
import type { QueueItem } from '../pipeline/queue.js';
import type { Mapped, OtelItem, OtelMapper } from './mapper.js';
import { logRecordJson, spanJson } from './otlp-json.js';
import { writeLogRecord, writeSpan } from './otlp-proto.js';
import { discard } from '../util/memory.js';
import { ProtoWriter } from './protobuf.js';

export type OtlpSignal = 'logs' | 'traces';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface OtlpChunk {
  signal: OtlpSignal;
  resource: Resource;
  scope: InstrumentationScope;
  /**
   * http/protobuf: the records as repeated-field entries (`tag, length,
   * message`); http/json: the records' JSON texts joined with commas.
   */
  data: Buffer | string;
  /** The pooled buffer `data` lives in, until the chunk is released. */
  slab?: Buffer | undefined;
}

export interface ChunkLimits {
  /** Records per chunk (at most the records of one export request). */
  maxRecords: number;
  /** A chunk closes once its data passes this many bytes. */
  maxBytes: number;
}

/**
 * Small enough to drop or split finely, large enough to be few; a chunk
 * that closes past 44 KiB still fits its 48 KiB buffer unless its last
 * record is over 4 KiB (then it gets a buffer of its own size).
 */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = {
  maxRecords: 512,
  maxBytes: 44 * 1024,
};

interface Open {
  resource: Resource | undefined;
  scope: InstrumentationScope | undefined;
  records: number;
  events: number;
  /** http/protobuf */
  w: ProtoWriter | undefined;
  /** http/json */
  parts: string[];
  jsonBytes: number;
}

/**
 * Protobuf chunks live outside the V8 heap, in buffers taken back when the
 * chunk has left for good (sent, refused or dropped) and given to the next
 * chunk: queued telemetry then neither grows the old generation nor waits
 * for a full collection to be freed.
 */
const SLAB_BYTES = 48 * 1024;
const FREE_SLABS_KEPT = 64;

class SlabPool {
  private readonly _free: Buffer[] = [];

  take(bytes: number): Buffer {
    if (bytes > SLAB_BYTES) return Buffer.allocUnsafeSlow(bytes);
    return this._free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
  }

  give(slab: Buffer): void {
    if (slab.length === SLAB_BYTES && this._free.length < FREE_SLABS_KEPT)
      this._free.push(slab);
    else discard(slab);
  }
}

/** What ChunkingMapper encodes: OtelMapper's output. */
export type OtelSource = Pick<
  OtelMapper,
  | 'map'
  | 'drain'
  | 'reportDrops'
  | 'noteInvoke'
  | 'pendingEvents'
  | 'discardedEvents'
>;

export class ChunkingMapper implements Mapper<OtlpChunk> {
  private _out: Emit<OtlpChunk> = () => undefined;
  private readonly _slabs = new SlabPool();
  private readonly _open: Record<OtlpSignal, Open>;
  private readonly _add = (item: Mapped<OtelItem>): void => this._append(item);

  constructor(
    private readonly _inner: OtelSource,
    protocol: OtlpProtocol,
    private readonly _limits: ChunkLimits = DEFAULT_CHUNK_LIMITS
  ) {
    const open = (bytes: number): Open => ({
      resource: undefined,
      scope: undefined,
      records: 0,
      events: 0,
      w: protocol === 'http/protobuf' ? new ProtoWriter(bytes) : undefined,
      parts: [],
      jsonBytes: 0,
    });
    this._open = {
      logs: open(2 * _limits.maxBytes),
      traces: open(4 * 1024),
    };
  }

  get pendingEvents(): number {
    return (
      this._inner.pendingEvents +
      this._open.logs.events +
      this._open.traces.events
    );
  }

  get discardedEvents(): number {
    return this._inner.discardedEvents;
  }

  noteInvoke(
    requestId: string | undefined,
    invokedArn: string | undefined
  ): void {
    this._inner.noteInvoke(requestId, invokedArn);
  }

  map(event: TelemetryEvent, out: Emit<OtlpChunk>): void {
    this._out = out;
    this._inner.map(event, this._add);
  }

  seal(out: Emit<OtlpChunk>): void {
    this._out = out;
    this._close('logs');
    this._close('traces');
  }

  drain(out: Emit<OtlpChunk>): void {
    this._out = out;
    this._inner.drain(this._add);
    this.seal(out);
  }

  reportDrops(counts: DropReport, out: Emit<OtlpChunk>): void {
    this._out = out;
    this._inner.reportDrops(counts, this._add);
    this.seal(out);
  }

  release(items: readonly QueueItem<OtlpChunk>[]): void {
    for (const { value } of items) {
      if (value.slab === undefined) continue;
      this._slabs.give(value.slab);
      // Released once: a second release must not hand the slab out twice.
      value.slab = undefined;
    }
  }

  private _append({ value, events }: Mapped<OtelItem>): void {
    const signal = value.signal;
    const resource =
      value.signal === 'logs' ? value.record.resource : value.span.resource;
    const scope =
      value.signal === 'logs'
        ? value.record.instrumentationScope
        : value.span.instrumentationScope;
    const o = this._open[signal];
    if (o.records > 0 && (o.resource !== resource || o.scope !== scope)) {
      this._close(signal);
    }
    o.resource = resource;
    o.scope = scope;
    if (o.w !== undefined) {
      const start = o.w.pos;
      try {
        if (value.signal === 'logs') writeLogRecord(o.w, 2, value.record);
        else writeSpan(o.w, 2, value.span);
      } catch (err) {
        // A value that cannot be encoded (nesting past the stack) loses only
        // its own record: the chunk is cut back to before it.
        o.w.pos = start;
        if (o.records === 0) o.resource = o.scope = undefined;
        throw err;
      }
    } else {
      const json =
        value.signal === 'logs'
          ? logRecordJson(value.record)
          : spanJson(value.span);
      o.parts.push(json);
      o.jsonBytes += Buffer.byteLength(json, 'utf8') + 1;
    }
    o.records++;
    o.events += events;
    const bytes = o.w !== undefined ? o.w.pos : o.jsonBytes;
    if (o.records >= this._limits.maxRecords || bytes >= this._limits.maxBytes)
      this._close(signal);
  }

  private _close(signal: OtlpSignal): void {
    const o = this._open[signal];
    if (o.records === 0 || o.resource === undefined || o.scope === undefined)
      return;
    let data: Buffer | string;
    let slab: Buffer | undefined;
    let bytes: number;
    if (o.w !== undefined) {
      bytes = o.w.pos;
      slab = this._slabs.take(bytes);
      o.w.buf.copy(slab, 0, 0, bytes);
      data = slab.subarray(0, bytes);
      o.w.reset();
    } else {
      data = o.parts.join(',');
      bytes = Buffer.byteLength(data, 'utf8');
      o.parts = [];
      o.jsonBytes = 0;
    }
    const item = {
      value: { signal, resource: o.resource, scope: o.scope, data, slab },
      events: o.events,
      bytes,
      records: o.records,
    };
    o.records = 0;
    o.events = 0;
    this._out(item);
  }
}
