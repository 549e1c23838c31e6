/**
 * A FIFO bounded in Telemetry API events and bytes.
 *
 * The unit is the Telemetry API event everywhere (DISPATCH_MIN_BATCH_SIZE,
 * the bounds, the drop counts), whatever an item becomes later: an item
 * carries the number of events it stands for. On overflow the oldest items
 * go first, since a backend that has been down longest is least likely to
 * want stale data, and every drop is counted.
 */

/** One queued value, with what the bounds count. */
export interface QueueItem<T> {
  value: T;
  /** Telemetry API events this item stands for (>= 1). */
  events: number;
  /** Serialized size, for the byte bound. */
  bytes: number;
  /** Records it holds, for the records-per-request bound (default 1). */
  records?: number;
}

/** The bounds: events, and bytes (LAMBDA_TELEMETRY_OTEL_MAX_QUEUE_*). */
export interface QueueLimits {
  maxEvents: number;
  maxBytes: number;
}

/** Events, and their bytes, dropped on overflow. */
export interface DropCounts {
  events: number;
  bytes: number;
}

/**
 * The queue above. `push` and `requeue` drop the oldest items past a bound
 * and return the events dropped; nothing throws.
 */
export class BoundedQueue<T> {
  private _items: (QueueItem<T> | undefined)[] = [];
  private _head = 0;
  private _events = 0;
  private _bytes = 0;
  private readonly _dropped: DropCounts = { events: 0, bytes: 0 };
  /** Told of each item dropped on overflow (its memory may be reused). */
  onDrop: ((item: QueueItem<T>) => void) | undefined;

  constructor(private readonly _limits: QueueLimits) {}

  /** Telemetry API events queued. */
  get events(): number {
    return this._events;
  }

  get bytes(): number {
    return this._bytes;
  }

  get length(): number {
    return this._items.length - this._head;
  }

  /** Events and bytes dropped on overflow since start. */
  get dropped(): Readonly<DropCounts> {
    return this._dropped;
  }

  /** Appends at the tail; returns how many events overflow dropped. */
  push(item: QueueItem<T>): number {
    this._items.push(item);
    this._events += item.events;
    this._bytes += item.bytes;
    return this._enforce();
  }

  /**
   * Puts items that could not be sent back at the head, in their order, so
   * a retry keeps the stream in order. Overflow then drops the oldest.
   */
  requeue(items: QueueItem<T>[]): number {
    if (items.length === 0) return 0;
    const rest = this._items.slice(this._head);
    this._items = [...items, ...rest];
    this._head = 0;
    for (const it of items) {
      this._events += it.events;
      this._bytes += it.bytes;
    }
    return this._enforce();
  }

  /**
   * Removes and returns items from the head while they hold at most
   * `maxRecords` records and fit in `maxBytes` (always at least one, so an
   * item larger than the bounds still leaves).
   */
  take(
    maxRecords = Number.POSITIVE_INFINITY,
    maxBytes = Number.POSITIVE_INFINITY
  ): QueueItem<T>[] {
    const out: QueueItem<T>[] = [];
    let bytes = 0;
    let records = 0;
    while (this._head < this._items.length) {
      const it = this._items[this._head] as QueueItem<T>;
      const n = it.records ?? 1;
      if (
        out.length > 0 &&
        (bytes + it.bytes > maxBytes || records + n > maxRecords)
      )
        break;
      out.push(it);
      bytes += it.bytes;
      records += n;
      this._shift();
    }
    return out;
  }

  private _shift(): void {
    const it = this._items[this._head] as QueueItem<T>;
    this._items[this._head] = undefined;
    this._head++;
    this._events -= it.events;
    this._bytes -= it.bytes;
    // Compact now and then so a long-lived queue does not keep a growing
    // array of holes: amortised O(1) per item.
    if (this._head > 1024 && this._head * 2 > this._items.length) {
      this._items = this._items.slice(this._head);
      this._head = 0;
    }
  }

  private _enforce(): number {
    let dropped = 0;
    while (
      this.length > 0 &&
      (this._events > this._limits.maxEvents ||
        this._bytes > this._limits.maxBytes)
    ) {
      const it = this._items[this._head] as QueueItem<T>;
      dropped += it.events;
      this._dropped.events += it.events;
      this._dropped.bytes += it.bytes;
      this._shift();
      this.onDrop?.(it);
    }
    return dropped;
  }
}
