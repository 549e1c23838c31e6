/**
 * Delivers telemetry to one subscriber as Lambda does (lambda-apis.md §2.2):
 * events are buffered and POSTed as a JSON array when `maxItems` or
 * `maxBytes` is reached or `timeoutMs` has passed since the first buffered
 * event, one batch in flight at a time, and only while the environment is
 * thawed. A refused batch (any answer other than 2xx) is dropped and reported with
 * `platform.logsDropped`, as the emulator of Managed Instances does.
 *
 * A record larger than `maxBytes` is cut as Lambda cuts it (lambda-apis.md
 * §2.2): the batch is filled up to `maxBytes` with the record's first bytes
 * (cut at any byte, even inside a UTF-8 character), closed with the framing
 * `}]`, and the next batch starts with the record's envelope repeated
 * (`{"time":…,"type":…,"record":`) ahead of the remaining bytes. A rest
 * still larger than `maxBytes` is cut again.
 */
import { Agent, request } from 'node:http';
import type { Subscription } from './runtime-api.js';

/**
 * One Telemetry API event (lambda-apis.md §3): `time` ISO 8601 with ms and
 * `Z`, `type` such as `platform.start` or `function`, `record` an object or
 * (a text-format log line) a string.
 */
export interface EmulatedEvent {
  time: string;
  type: string;
  record: unknown;
}

/** One subscription's running totals, counted in events. */
export interface DeliveryStats {
  /** Events the listener took (2xx); a cut record counts once, at its end. */
  delivered: number;
  /** Events in batches the listener refused or never took. */
  dropped: number;
}

/** Settings of a TelemetryDelivery beside its subscription's buffering. */
export interface DeliveryOptions {
  /** Cut records larger than maxBytes as Lambda does (default true). */
  cutOversized?: boolean;
  /**
   * Retries of a POST that failed at the network level (no answer within
   * 5 s included), before dropping (default 3). A status is not retried.
   */
  networkRetries?: number;
  /** Wait before the first retry, doubled each time (ms; default 50). */
  retryDelayMs?: number;
  /**
   * A batch was dropped: its events (a cut record only at its first loss)
   * and why (`listener answered 500`, `listener unreachable: …`).
   */
  onDropped?: (events: EmulatedEvent[], reason: string) => void;
}

/**
 * The subscription stream an event type belongs to: `platform` for
 * `platform.*`, else the type itself (lambda-apis.md §2.1).
 */
export function typeClass(type: string): string {
  return type.startsWith('platform.') ? 'platform' : type;
}

/** One buffered record, or what is left of one that was cut. */
interface Piece {
  event: EmulatedEvent;
  /** The serialized record (or its envelope and remaining bytes). */
  bytes: Buffer;
  /** Length of `{"time":…,"type":…,"record":` at the start of `bytes`. */
  envelope: number;
  index: number;
  /** The record's last piece: its delivery delivers the record. */
  last: boolean;
  /** A piece of this record was refused already. */
  lost?: { value: boolean };
}

/**
 * Cuts a piece after `at` bytes, as Lambda does: the head keeps the first
 * `at` bytes and gets the envelope's `}` (the body's `]` follows); the rest
 * repeats the envelope ahead of the remaining bytes.
 */
export function cutPiece(
  bytes: Buffer,
  envelope: number,
  at: number
): { head: Buffer; rest: Buffer } {
  return {
    head: Buffer.concat([bytes.subarray(0, at), CLOSE_ENVELOPE]),
    rest: Buffer.concat([bytes.subarray(0, envelope), bytes.subarray(at)]),
  };
}

const CLOSE_ENVELOPE = Buffer.from('}');
const OPEN_BODY = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE_BODY = Buffer.from(']');
const RECORD_KEY = '"record":';

/**
 * One subscription's delivery, by the rules of the header above: `emit()`
 * buffers an event of a subscribed stream, a full buffer or the batching
 * timer POSTs a batch to `subscription.target`, `setThawed(false)` holds
 * everything, `drain()` flushes, `stop()` ends it. Never throws: a batch
 * that fails counts in `stats.dropped` and goes to `onDropped`.
 */
export class TelemetryDelivery {
  readonly stats: DeliveryStats = {
    delivered: 0,
    dropped: 0,
  };
  /**
   * Each emitted event (serialized) and whether the listener took it;
   * `snapshot`: emitted before a SnapStart snapshot was taken (every
   * restored copy of the extension holds it; README, SnapStart).
   */
  readonly log: {
    json: string;
    type: string;
    delivered: boolean;
    snapshot?: boolean;
  }[] = [];

  /** Marks everything emitted so far as the snapshot's. */
  markSnapshot(): void {
    for (const entry of this.log) entry.snapshot = true;
  }
  private _buffer: Piece[] = [];
  private _bytes = 0;
  private _firstAt = 0;
  private _timer: NodeJS.Timeout | undefined;
  private _inFlight: Promise<void> | undefined;
  private _thawed = true;
  private _stopped = false;
  private readonly _agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly subscription: Subscription,
    private readonly _opts: DeliveryOptions = {}
  ) {}

  /** Queues an event if the subscription covers its type. */
  emit(event: EmulatedEvent): void {
    if (this._stopped) return;
    if (!this.subscription.types.includes(typeClass(event.type))) return;
    const json = JSON.stringify(event);
    const index =
      this.log.push({ json, type: event.type, delivered: false }) - 1;
    if (this._buffer.length === 0) this._firstAt = Date.now();
    const bytes = Buffer.from(json);
    // The first "record": is the envelope's key: time and type come first,
    // and a quote inside a string value is escaped.
    const envelope = Buffer.byteLength(
      json.slice(0, json.indexOf(RECORD_KEY) + RECORD_KEY.length)
    );
    this._buffer.push({ event, bytes, envelope, index, last: true });
    this._bytes += bytes.length;
    this._schedule();
  }

  /** While frozen, nothing is delivered and the batching timer stands still. */
  setThawed(thawed: boolean): void {
    this._thawed = thawed;
    if (thawed) this._schedule();
    else clearTimeout(this._timer);
  }

  /** Resolves when no POST is in flight. */
  async idle(): Promise<void> {
    while (this._inFlight) await this._inFlight;
  }

  /** Delivers everything buffered now (thawed), within `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this._buffer.length > 0 || this._inFlight) && Date.now() < until) {
      if (!this._inFlight) this._post();
      await Promise.race([
        this._inFlight ?? Promise.resolve(),
        new Promise((r) => setTimeout(r, Math.max(1, until - Date.now()))),
      ]);
    }
  }

  /** Ends delivery for good: later events are ignored, the buffer is left. */
  stop(): void {
    this._stopped = true;
    clearTimeout(this._timer);
    this._agent.destroy();
  }

  private _schedule(): void {
    clearTimeout(this._timer);
    if (
      !this._thawed ||
      this._stopped ||
      this._inFlight ||
      this._buffer.length === 0
    )
      return;
    const { maxItems, maxBytes, timeoutMs } = this.subscription.buffering;
    if (this._buffer.length >= maxItems || this._bytes >= maxBytes) {
      this._post();
      return;
    }
    const wait = Math.max(0, this._firstAt + timeoutMs - Date.now());
    this._timer = setTimeout(() => this._post(), wait);
  }

  private _post(): void {
    if (
      this._inFlight ||
      this._buffer.length === 0 ||
      !this._thawed ||
      this._stopped
    )
      return;
    const { maxItems, maxBytes } = this.subscription.buffering;
    const cut = this._opts.cutOversized ?? true;
    const batch: Piece[] = [];
    let bytes = 0;
    while (this._buffer.length > 0 && batch.length < maxItems) {
      const next = this._buffer[0] as Piece;
      const size = next.bytes.length;
      const room = maxBytes - bytes;
      if (cut && size > maxBytes && room > next.envelope) {
        // Larger than any batch: its first bytes fill this one.
        const { head, rest } = cutPiece(next.bytes, next.envelope, room);
        next.lost ??= { value: false };
        batch.push({ ...next, bytes: head, last: false });
        bytes += head.length;
        this._bytes += rest.length - size;
        next.bytes = rest;
        break;
      }
      if (batch.length > 0 && bytes + size > maxBytes) break;
      batch.push(next);
      bytes += size;
      this._bytes -= size;
      this._buffer.shift();
    }
    this._firstAt = Date.now();
    const parts: Buffer[] = [OPEN_BODY];
    batch.forEach((b, k) => {
      if (k > 0) parts.push(COMMA);
      parts.push(b.bytes);
    });
    parts.push(CLOSE_BODY);
    const body = Buffer.concat(parts);
    this._inFlight = this._send(body, batch).finally(() => {
      this._inFlight = undefined;
      this._schedule();
    });
  }

  private async _send(body: Buffer, batch: Piece[]): Promise<void> {
    const retries = this._opts.networkRetries ?? 3;
    let reason = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this._stopped) break;
      try {
        const status = await this._postOnce(body);
        if (status >= 200 && status < 300) {
          for (const b of batch) {
            if (!b.last || b.lost?.value) continue;
            this.stats.delivered++;
            (this.log[b.index] as { delivered: boolean }).delivered = true;
          }
          return;
        }
        reason = `listener answered ${status}`;
        break;
      } catch (err) {
        reason = `listener unreachable: ${(err as Error).message}`;
        await new Promise((r) =>
          setTimeout(r, (this._opts.retryDelayMs ?? 50) * 2 ** attempt)
        );
      }
    }
    // A cut record is lost with its first refused piece, and counted once.
    const lost = batch.filter((b) => {
      if (b.lost?.value) return false;
      if (b.lost) b.lost.value = true;
      return true;
    });
    this.stats.dropped += lost.length;
    this._opts.onDropped?.(
      lost.map((b) => b.event),
      reason
    );
  }

  private _postOnce(body: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        this.subscription.target,
        {
          method: 'POST',
          agent: this._agent,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
          },
          timeout: 5_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        }
      );
      req.on('timeout', () =>
        req.destroy(new Error('listener did not answer in 5 s'))
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
