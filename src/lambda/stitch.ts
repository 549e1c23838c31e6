/**
 * Joins a record Lambda cut across two deliveries (lambda-apis.md §2.2).
 *
 * A record larger than the subscription's `maxBytes` is cut mid-value: the
 * body ends with the record's first bytes and the framing `}]`, and the
 * next body repeats the record's envelope ahead of the remaining bytes,
 * then carries the other events. Neither body is JSON:
 *
 *     POST n     [{…},{"time":"T","type":"function","record":"AAAA}]
 *     POST n+1   [{"time":"T","type":"function","record":BBBB"},{…},{…}]
 *
 * The API gives no sequence number: the halves are paired by the repeated
 * envelope (byte for byte) and only across consecutive bodies, since Lambda
 * sends one batch at a time, in order. The complete events of either body
 * go on at once; only the cut record's first half is held, one at a time
 * and within `maxHeldBytes`. Held past a body that does not continue it, or
 * until SHUTDOWN, or past the bound, the record is dropped and counted.
 *
 * This runs only for a body the reader refused: a valid body costs one
 * property check.
 */
import {
  type BatchReader,
  BodyBuffer,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COMMA,
  EventBatch,
  OPEN_ARRAY,
  OPEN_OBJECT,
  type ParseResult,
  QUOTE,
  skipSpace,
  stringEnd,
  valueEnd,
} from './batch.js';

/**
 * The joiner (see above), one per listener. `read` never throws; its
 * counters are events, read by the listener's `stats()`.
 */
export class CutRecords {
  /** Cut records whose halves were joined (events). */
  joined = 0;
  /** Cut records given up on: a half that could not be joined (events). */
  dropped = 0;
  /** The held first half: envelope and the value's first bytes. */
  private _held: Buffer | undefined;
  private _envelope = 0;
  /**
   * The envelope of the last record given up on: later pieces of it are
   * recognized (their neighbours kept) and not counted a second time.
   */
  private _abandoned: Buffer | undefined;

  constructor(
    private readonly _reader: BatchReader,
    /** Bound of a held half, bytes (the listener's body limit). */
    private readonly _maxHeldBytes: number
  ) {}

  /** Bytes held for a continuation (0 when none). */
  get heldBytes(): number {
    return this._held?.length ?? 0;
  }

  /** Reads one body, joining it to a held half when it continues it. */
  read(body: BodyBuffer): ParseResult {
    if (this._held !== undefined) return this._continue(body);
    const b = body.buf.subarray(0, body.size);
    const abandoned = this._abandoned;
    this._abandoned = undefined;
    if (abandoned !== undefined) {
      const first = firstElement(b);
      if (
        first > 0 &&
        startsWith(b, first, abandoned, abandoned.length) &&
        !wholeElement(b, first)
      ) {
        // More of a record given up on (the reader may even take it: it
        // parses elements only when read). Counted already. A whole event
        // with the same envelope (lines of one millisecond share it) is
        // not: it is read as events.
        this._abandoned = abandoned;
        return this._rest(b, first, true) ?? refusedRest();
      }
    }
    const result = this._reader.read(body);
    return result.ok ? result : this._recover(b, result);
  }

  /** SHUTDOWN (or the listener closing): a held half will not be joined. */
  release(): void {
    if (this._held !== undefined) this._drop();
  }

  private _continue(body: BodyBuffer): ParseResult {
    const held = this._held as Buffer;
    const envelope = this._envelope;
    const b = body.buf.subarray(0, body.size);
    const at = firstElement(b);
    if (at > 0 && startsWith(b, at, held, envelope)) {
      this._held = undefined;
      const rest = at + envelope;
      const joined = Buffer.allocUnsafe(1 + held.length + b.length - rest);
      joined[0] = OPEN_ARRAY;
      held.copy(joined, 1);
      b.copy(joined, 1 + held.length, rest);
      const whole = new BodyBuffer(joined);
      whole.size = joined.length;
      const result = this._reader.read(whole);
      if (result.ok) {
        this.joined++;
        return result;
      }
      // Cut again (a record over twice maxBytes), or the joined record
      // ends and the next one is cut in turn.
      const found = elementsFrom(joined, skipSpace(joined, 1));
      if (found.cut !== undefined) {
        if (found.count > 0) this.joined++;
        return this._keep(joined, found);
      }
      // Paired but not JSON once joined: the half is given up and the
      // body read alone (its other events are still found).
      this._held = held;
    }
    this._drop();
    return this.read(body);
  }

  /**
   * A body the reader refused: the first half of a cut record (its
   * complete events kept, the cut one held), or the rest of one whose first
   * half is gone (its other events kept); anything else stays refused.
   */
  private _recover(b: Buffer, refused: ParseResult): ParseResult {
    const first = firstElement(b);
    if (first < 0) return refused;
    const head = elementsFrom(b, first);
    if (head.cut !== undefined) return this._keep(b, head);
    // The rest of a cut value does not end where a whole element does.
    const end = valueEnd(b, first);
    if (end > first && isJson(b, first, end)) return refused;
    return this._rest(b, first, false) ?? refused;
  }

  /**
   * The rest of a cut record whose first half is not held, then (perhaps)
   * other events: those are kept. `known`: the record was counted already.
   */
  private _rest(
    b: Buffer,
    first: number,
    known: boolean
  ): ParseResult | undefined {
    const rest = orphanRest(b, first);
    if (rest === undefined) return undefined;
    if (rest.found === undefined && !known) return undefined;
    if (!known) {
      // Its first half never reached us (or was refused): one record lost.
      this.dropped++;
      this._abandoned = Buffer.from(rest.envelope);
    }
    const found = rest.found ?? NONE;
    return found.cut !== undefined ? this._keep(b, found) : batchOf(b, found);
  }

  /** The complete events go on; the cut one is held if it fits. */
  private _keep(b: Buffer, found: Elements): ParseResult {
    const cut = found.cut as Cut;
    if (cut.end - cut.start <= this._maxHeldBytes) {
      this._held = Buffer.from(b.subarray(cut.start, cut.end));
      this._envelope = cut.envelope;
    } else {
      this._held = b.subarray(cut.start, cut.start + cut.envelope);
      this._drop();
    }
    return batchOf(b, found);
  }

  private _drop(): void {
    const held = this._held as Buffer;
    this._abandoned = Buffer.from(held.subarray(0, this._envelope));
    this._held = undefined;
    this.dropped++;
  }
}

/** Index of the first element of a body that opens an array, or -1. */
function firstElement(b: Buffer): number {
  const open = skipSpace(b, 0);
  return b[open] === OPEN_ARRAY ? skipSpace(b, open + 1) : -1;
}

function startsWith(b: Buffer, at: number, prefix: Buffer, n: number): boolean {
  return b.length - at >= n && b.compare(prefix, 0, n, at, at + n) === 0;
}

/** Is the element at `first` a whole JSON value on its own? */
function wholeElement(b: Buffer, first: number): boolean {
  const end = valueEnd(b, first);
  return end > first && isJson(b, first, end);
}

function isJson(b: Buffer, start: number, end: number): boolean {
  try {
    JSON.parse(b.toString('utf8', start, end));
    return true;
  } catch {
    return false;
  }
}

function refusedRest(): ParseResult {
  return {
    ok: false,
    reason: 'body is not JSON: the rest of a cut record, unreadable',
  };
}

/** Where a cut record lies in a body, byte offsets. */
interface Cut {
  start: number;
  /** Length of `{"time":…,"type":…,"record":` at `start`. */
  envelope: number;
  /** End of the value's bytes (the framing `}]` excluded). */
  end: number;
}

interface Elements {
  /** [start, end) of each complete element, in pairs. */
  bounds: number[];
  count: number;
  /** The last element, cut; undefined if the array ended properly. */
  cut?: Cut;
  /** Set when neither: where the scan stopped. */
  failedAt?: number;
}

const NONE: Elements = { bounds: [], count: 0 };

function batchOf(b: Buffer, found: Elements): ParseResult {
  return {
    ok: true,
    batch: new EventBatch(b, Int32Array.from(found.bounds), found.count),
  };
}

/**
 * The elements from `from` on: complete ones up to the array's end, or up
 * to a last one that is a cut record running to the end of the body.
 */
function elementsFrom(b: Buffer, from: number): Elements {
  const bounds: number[] = [];
  let i = from;
  for (;;) {
    const end = valueEnd(b, i);
    if (end > i) {
      const after = skipSpace(b, end);
      if (b[after] === COMMA) {
        bounds.push(i, end);
        i = skipSpace(b, after + 1);
        continue;
      }
      if (b[after] === CLOSE_ARRAY && skipSpace(b, after + 1) === b.length) {
        bounds.push(i, end);
        return { bounds, count: bounds.length / 2 };
      }
    }
    const cut = cutAt(b, i);
    return cut === undefined
      ? { bounds, count: bounds.length / 2, failedAt: Math.max(i, end) }
      : { bounds, count: bounds.length / 2, cut };
  }
}

/**
 * The element at `start` as a cut record: an envelope, then the start of a
 * value that the body's end (less Lambda's framing `}]`) interrupts.
 */
function cutAt(b: Buffer, start: number): Cut | undefined {
  let end = b.length;
  while (end > start && isSpace(b[end - 1] as number)) end--;
  if (b[end - 1] === CLOSE_ARRAY) end--;
  while (end > start && isSpace(b[end - 1] as number)) end--;
  if (b[end - 1] === CLOSE_OBJECT) end--;
  const value = envelopeEnd(b, start, end);
  if (value < 0 || !isValuePrefix(b, value, end)) return undefined;
  return { start, envelope: value - start, end };
}

/**
 * Index where the `record` value starts in the event object at `start`
 * (the members before it whole, within `end`), or -1.
 */
function envelopeEnd(b: Buffer, start: number, end: number): number {
  if (b[start] !== OPEN_OBJECT) return -1;
  let p = skipSpace(b, start + 1);
  for (;;) {
    if (p >= end || b[p] !== QUOTE) return -1;
    const keyEnd = stringEnd(b, p);
    if (keyEnd < 0 || keyEnd > end) return -1;
    const isRecord =
      keyEnd - p === RECORD_KEY.length &&
      b.compare(RECORD_KEY, 0, RECORD_KEY.length, p, keyEnd) === 0;
    p = skipSpace(b, keyEnd);
    if (b[p] !== COLON) return -1;
    p = skipSpace(b, p + 1);
    if (isRecord) return p <= end ? p : -1;
    const v = valueEnd(b, p);
    if (v <= p || v > end) return -1;
    p = skipSpace(b, v);
    if (b[p] !== COMMA) return -1;
    p = skipSpace(b, p + 1);
  }
}

/** Whether [from, to) is the start of a JSON value that does not end there. */
function isValuePrefix(b: Buffer, from: number, to: number): boolean {
  const closers: number[] = [];
  let i = from;
  while (i < to) {
    const c = b[i] as number;
    if (c === QUOTE) {
      const after = stringEnd(b, i);
      if (after < 0 || after > to) return true;
      if (closers.length === 0) return false;
      i = after;
      continue;
    }
    if (c === OPEN_OBJECT) closers.push(CLOSE_OBJECT);
    else if (c === OPEN_ARRAY) closers.push(CLOSE_ARRAY);
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (closers.pop() !== c || closers.length === 0) return false;
    } else if (closers.length === 0 && SCALAR[c] !== 1) return false;
    i++;
  }
  return true;
}

/**
 * A body that starts with the rest of a cut record whose first half is not
 * held: its envelope, and the events after the rest, if any are found.
 *
 * The rest cannot be scanned on its own (it may begin inside a string).
 * The next event begins at a `,{"`, which never occurs inside a JSON string
 * (the quote would be escaped); one inside the record's own structure is
 * told apart because the elements from it do not run to the array's end.
 */
function orphanRest(
  b: Buffer,
  first: number
): { envelope: Buffer; found: Elements | undefined } | undefined {
  const value = envelopeEnd(b, first, b.length);
  if (value < 0) return undefined;
  const envelope = b.subarray(first, value);
  let from = value;
  for (;;) {
    const at = b.indexOf(NEXT_EVENT, from);
    if (at < 0) return { envelope, found: undefined };
    const found = elementsFrom(b, at + 1);
    if (found.failedAt === undefined) return { envelope, found };
    // A candidate inside the record fails within it: the next event (if
    // any) is past where this scan stopped.
    from = Math.max(at + 1, found.failedAt);
  }
}

const RECORD_KEY = Buffer.from('"record"');
const NEXT_EVENT = Buffer.from(',{"');
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Bytes a number, true, false or null can hold. */
const SCALAR = new Uint8Array(256);
for (const c of '0123456789+-.eEtruefalsn') SCALAR[c.charCodeAt(0)] = 1;
