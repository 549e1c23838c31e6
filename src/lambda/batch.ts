/**
 * Reads one Telemetry API POST body: a JSON array of events, up to 10,000
 * of them and 2 MiB.
 *
 * The array is split into its elements first (a scan that checks the
 * structure, so a malformed body is refused before anything is queued), and
 * each element is parsed only when the intake (intake.ts) reads it. Why not one
 * `JSON.parse` of the body: that makes every event of the batch exist at
 * once while they are mapped, so each young-generation collection during
 * the mapping copies and then promotes all of them (V8 grew its heap by
 * tens of MiB under 10,000-event batches). Parsed one at a time, an event
 * is garbage before the next collection. The body's bytes stay in one
 * buffer reused from batch to batch (BatchReader).
 *
 * An element that is not an object, or not valid JSON on its own, cannot be
 * an event: it is counted in `rejected`, and the good ones around it are
 * kept. Missing `time` / `type` / `record` are tolerated: the event is kept
 * as it came.
 */
import { discard } from '../util/memory.js';
import type { TelemetryEvent } from './events.js';

/**
 * A body read: its batch, or why it is not a JSON array of values (the
 * listener answers 400 with `reason`). Reading never throws.
 */
export type ParseResult =
  | { ok: true; batch: EventBatch }
  | { ok: false; reason: string };

/** A batch's events, each parsed when read; readable once, until closed. */
export class EventBatch implements Iterable<TelemetryEvent> {
  /** Elements that turned out not to be events (known once read). */
  rejected = 0;
  private _open = true;

  constructor(
    private readonly _body: Buffer,
    /** [start, end) of each element, in pairs. */
    private readonly _bounds: Int32Array,
    /** Elements in the array. */
    readonly length: number
  ) {}

  *[Symbol.iterator](): Iterator<TelemetryEvent> {
    for (let i = 0; i < this.length && this._open; i++) {
      const text = this._body.toString(
        'utf8',
        this._bounds[2 * i],
        this._bounds[2 * i + 1]
      );
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        this.rejected++;
        continue;
      }
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        yield v as TelemetryEvent;
      } else {
        this.rejected++;
      }
    }
  }

  /** The body's buffer is reused by the next batch: this one ends here. */
  close(): void {
    this._open = false;
  }
}

/** A request body being received: each chunk is copied in as it arrives. */
export class BodyBuffer {
  size = 0;

  constructor(public buf: Buffer) {}

  append(chunk: Buffer): void {
    if (this.size + chunk.length > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(
        Math.max(this.size + chunk.length, 2 * this.buf.length)
      );
      this.buf.copy(grown, 0, 0, this.size);
      discard(this.buf);
      this.buf = grown;
    }
    this.size += chunk.copy(this.buf, this.size);
  }
}

/**
 * Owns the reused memory: one body buffer (a body that arrives while
 * another is still being received gets its own) and the element bounds. A
 * batch is read and closed synchronously, before the next body is parsed.
 *
 * Why copy chunks as they come rather than keep them: a 1-2 MiB body comes
 * in ~30 socket reads, and chunks held until the end of the body outlive a
 * young collection, get promoted, and keep their memory until a full one.
 */
export class BatchReader {
  private _spare: BodyBuffer | undefined = new BodyBuffer(
    Buffer.allocUnsafeSlow(64 * 1024)
  );
  private _bounds = new Int32Array(2 * 1024);

  /** A buffer for a body of (about) `expected` bytes. */
  acquire(expected: number): BodyBuffer {
    const body = this._spare ?? new BodyBuffer(Buffer.allocUnsafeSlow(0));
    this._spare = undefined;
    body.size = 0;
    if (Number.isFinite(expected) && expected > body.buf.length) {
      // With a little room to spare: bodies of similar sizes that each grow
      // by a few bytes would otherwise replace the buffer every time.
      discard(body.buf);
      body.buf = Buffer.allocUnsafeSlow(
        Math.ceil((expected * 1.0625) / 65_536) * 65_536
      );
    }
    return body;
  }

  /** The body's buffer may serve the next body (its batch must be closed). */
  recycle(body: BodyBuffer): void {
    if (this._spare === undefined || body.buf.length > this._spare.buf.length) {
      if (this._spare) discard(this._spare.buf);
      this._spare = body;
    } else {
      discard(body.buf);
    }
  }

  read(body: BodyBuffer): ParseResult {
    const bytes = body.buf.subarray(0, body.size);
    const count = this._split(bytes);
    if (count < 0) return refuse(bytes);
    return { ok: true, batch: new EventBatch(bytes, this._bounds, count) };
  }

  /** Element bounds into `_bounds`; the element count, or -1 if malformed. */
  private _split(b: Buffer): number {
    const n = b.length;
    let i = skipSpace(b, 0);
    if (b[i] !== OPEN_ARRAY) return -1;
    i = skipSpace(b, i + 1);
    let count = 0;
    if (b[i] === CLOSE_ARRAY) return skipSpace(b, i + 1) === n ? 0 : -1;
    for (;;) {
      const end = valueEnd(b, i);
      if (end <= i) return -1;
      if (2 * count + 2 > this._bounds.length) {
        const more = new Int32Array(2 * this._bounds.length);
        more.set(this._bounds);
        this._bounds = more;
      }
      this._bounds[2 * count] = i;
      this._bounds[2 * count + 1] = end;
      count++;
      i = skipSpace(b, end);
      if (b[i] === COMMA) {
        i = skipSpace(b, i + 1);
        continue;
      }
      if (b[i] === CLOSE_ARRAY) return skipSpace(b, i + 1) === n ? count : -1;
      return -1;
    }
  }
}

/** A body that is one string (tests, and the odd caller). */
export function parseBatch(body: string | Buffer): ParseResult {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return new BatchReader().read(
    Object.assign(new BodyBuffer(buf), { size: buf.length })
  );
}

/**
 * Not an array, or not JSON: the whole body goes through JSON.parse once to
 * say which. Should the scan ever disagree with JSON.parse about a valid
 * array, the parsed array is used: the scan may only make reading cheaper.
 */
function refuse(body: Buffer): ParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return {
      ok: false,
      reason: `body is not JSON: ${(err as Error).message.slice(0, 120)}`,
    };
  }
  if (!Array.isArray(parsed)) {
    return {
      ok: false,
      reason: `body is a JSON ${parsed === null ? 'null' : typeof parsed}, not an array`,
    };
  }
  const texts = parsed.map((e) => JSON.stringify(e) ?? 'null');
  const bounds = new Int32Array(2 * texts.length);
  let at = 0;
  texts.forEach((t, k) => {
    bounds[2 * k] = at;
    at += Buffer.byteLength(t);
    bounds[2 * k + 1] = at;
  });
  return {
    ok: true,
    batch: new EventBatch(Buffer.from(texts.join('')), bounds, texts.length),
  };
}

/** The JSON bytes the scanners look for (also used by stitch.ts). */
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const COMMA = 0x2c;
export const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Index of the first byte at or after `from` that is not JSON whitespace
 * (`b.length` when none).
 */
export function skipSpace(b: Buffer, from: number): number {
  let i = from;
  while (i < b.length) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the JSON value starting at `i`; <= i if malformed. */
export function valueEnd(b: Buffer, from: number): number {
  let i = from;
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i];
      if (d === QUOTE) {
        i = stringEnd(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
      else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let j = i;
  while (j < b.length) {
    const d = b[j];
    if (
      d === COMMA ||
      d === CLOSE_ARRAY ||
      d === CLOSE_OBJECT ||
      d === 0x20 ||
      d === 0x0a ||
      d === 0x0d ||
      d === 0x09
    )
      break;
    j++;
  }
  return j;
}

/**
 * Index just past the string whose opening quote is at `i`, or -1. The
 * search for the closing quote is Buffer.indexOf (native): a quote is
 * escaped when an odd number of backslashes precede it. UTF-8 never puts
 * these ASCII bytes inside a multi-byte character.
 */
export function stringEnd(b: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) return -1;
    let k = q - 1;
    while (k > i && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}
