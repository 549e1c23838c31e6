/**
 * Delivers telemetry to one subscriber as Lambda does (lambda-apis.md §2.2):
 * events are buffered and POSTed as a JSON array when `maxItems` or
 * `maxBytes` is reached or `timeoutMs` has passed since the first buffered
 * event, one batch in flight at a time, and only while the environment is
 * thawed. A refused batch (status >= 400) is dropped and reported with
 * `platform.logsDropped`, as the emulator of Managed Instances does.
 */
import { Agent, request } from 'node:http';
import type { Subscription } from './runtime-api.js';

export interface EmulatedEvent {
  time: string;
  type: string;
  record: unknown;
}

export interface DeliveryStats {
  emitted: number;
  delivered: number;
  /** Events in batches the listener refused or never took. */
  dropped: number;
  posts: number;
  failedPosts: number;
}

export interface DeliveryOptions {
  /** Retries of a POST that failed at the network level, before dropping. */
  networkRetries?: number;
  retryDelayMs?: number;
  onDropped?: (events: EmulatedEvent[], reason: string) => void;
}

export function typeClass(type: string): string {
  return type.startsWith('platform.') ? 'platform' : type;
}

export class TelemetryDelivery {
  readonly stats: DeliveryStats = {
    emitted: 0,
    delivered: 0,
    dropped: 0,
    posts: 0,
    failedPosts: 0,
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
  private _buffer: { event: EmulatedEvent; json: string; index: number }[] = [];
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
    this.stats.emitted++;
    const index =
      this.log.push({ json, type: event.type, delivered: false }) - 1;
    if (this._buffer.length === 0) this._firstAt = Date.now();
    this._buffer.push({ event, json, index });
    this._bytes += Buffer.byteLength(json);
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
    const batch: typeof this._buffer = [];
    let bytes = 0;
    while (this._buffer.length > 0 && batch.length < maxItems) {
      const next = this._buffer[0] as (typeof this._buffer)[number];
      const size = Buffer.byteLength(next.json);
      if (batch.length > 0 && bytes + size > maxBytes) break;
      batch.push(next);
      bytes += size;
      this._buffer.shift();
    }
    this._bytes -= bytes;
    this._firstAt = Date.now();
    const body = `[${batch.map((b) => b.json).join(',')}]`;
    this._inFlight = this._send(body, batch).finally(() => {
      this._inFlight = undefined;
      this._schedule();
    });
  }

  private async _send(
    body: string,
    batch: { event: EmulatedEvent; index: number }[]
  ): Promise<void> {
    const retries = this._opts.networkRetries ?? 3;
    let reason = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this._stopped) break;
      this.stats.posts++;
      try {
        const status = await this._postOnce(body);
        if (status >= 200 && status < 300) {
          this.stats.delivered += batch.length;
          for (const b of batch)
            (this.log[b.index] as { delivered: boolean }).delivered = true;
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
    this.stats.failedPosts++;
    this.stats.dropped += batch.length;
    this._opts.onDropped?.(
      batch.map((b) => b.event),
      reason
    );
  }

  private _postOnce(body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        this.subscription.target,
        {
          method: 'POST',
          agent: this._agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
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
