/**
 * The X-Ray trace header Lambda puts in `tracing.value`
 * (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>[;Lineage=...]`)
 * as OpenTelemetry ids, following AWS's mapping guidance: the Root without
 * its `1-` and dash is the 32-hex trace id, Parent the parent span id,
 * Sampled the trace flags.
 */
export interface XRayContext {
  traceId: string;
  parentSpanId?: string;
  sampled?: boolean;
}

const ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/i;
const SPAN_ID = /^[0-9a-f]{16}$/i;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The ids of an X-Ray header, lower case; undefined when it is not a
 * string or has no valid, non-zero Root. A bad or zero Parent is left out.
 */
export function parseXRayHeader(value: unknown): XRayContext | undefined {
  if (typeof value !== 'string') return undefined;
  let traceId: string | undefined;
  let parentSpanId: string | undefined;
  let sampled: boolean | undefined;
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 'Root') {
      const m = ROOT.exec(val);
      if (m) traceId = `${m[1]}${m[2]}`.toLowerCase();
    } else if (key === 'Parent') {
      if (SPAN_ID.test(val) && val !== ZERO_SPAN)
        parentSpanId = val.toLowerCase();
    } else if (key === 'Sampled') {
      if (val === '1') sampled = true;
      else if (val === '0') sampled = false;
    }
  }
  if (traceId === undefined || traceId === ZERO_TRACE) return undefined;
  return {
    traceId,
    ...(parentSpanId !== undefined ? { parentSpanId } : {}),
    ...(sampled !== undefined ? { sampled } : {}),
  };
}

/** True for 16 hex digits, not all zero (a valid OTel span id). */
export function isSpanId(value: unknown): value is string {
  return (
    typeof value === 'string' && SPAN_ID.test(value) && value !== ZERO_SPAN
  );
}

/**
 * Ids the extension makes itself: span ids (a span without `tracing.spanId`,
 * every child and init/restore span) and trace ids where no X-Ray trace
 * exists. They need to be unique, not secret (OpenTelemetry JS's own
 * RandomIdGenerator uses Math.random), so a small PRNG does: xoshiro128**
 * (Blackman and Vigna), whose whole state is these four words, in reach of
 * `reseed()`.
 *
 * Why not Math.random: with SnapStart Lambda snapshots the whole
 * environment after init, this process included, and restores many
 * environments from one snapshot (AWS, "Handling uniqueness with Lambda
 * SnapStart"): every restored copy starts from the same generator state and
 * would make the same ids. V8's Math.random cannot be reseeded from
 * JavaScript; this one is, after the restore, from the kernel's entropy,
 * which is not part of the process image the restore copies (the guest
 * kernel's pool is reseeded on restore). node:crypto is not used for it: it
 * costs about 3 MiB of RSS to load, and OpenSSL's generator state lives in
 * the process image too (Node seeds it at start), so a copy of it would only
 * reseed itself once its own reseed interval has passed.
 */
export class IdGenerator {
  private readonly _s = new Uint32Array(4);

  /** `seed`: four 32-bit words (tests); default from Math.random. */
  constructor(seed?: ArrayLike<number>) {
    if (seed) this._set(seed);
    else {
      const w = new Uint32Array(4);
      for (let i = 0; i < 4; i++) w[i] = Math.random() * 0x1_0000_0000;
      this._set(w);
    }
  }

  /** The generator's whole state (four 32-bit words): what a snapshot copies. */
  state(): number[] {
    return [...this._s];
  }

  /**
   * After a SnapStart restore: a new state from `entropy` (default: 16 bytes
   * of the kernel's, see `osEntropy`), mixed with the current state and the
   * monotonic clock so a failing source still moves every copy apart by
   * their restore times.
   */
  reseed(entropy: (out: Uint8Array) => void = osEntropy): void {
    const bytes = new Uint8Array(16);
    try {
      entropy(bytes);
    } catch {
      // Leaves zeros: the clock below still separates the copies.
    }
    const fresh = new Uint32Array(bytes.buffer);
    const t = process.hrtime.bigint();
    const next = new Uint32Array(4);
    for (let i = 0; i < 4; i++)
      next[i] = (this._s[i] as number) ^ (fresh[i] as number);
    next[0] = (next[0] as number) ^ Number(t & 0xffff_ffffn);
    next[1] = (next[1] as number) ^ Number((t >> 32n) & 0xffff_ffffn);
    this._set(next);
    // Moves away from the raw seed (xoshiro mixes slowly from sparse states).
    for (let i = 0; i < 16; i++) this._next();
  }

  /** 32 random hex digits, never all zeros (an invalid trace id). */
  traceId(): string {
    return this._hex(4);
  }

  /** 16 random hex digits, never all zeros (an invalid span id). */
  spanId(): string {
    return this._hex(2);
  }

  private _hex(words: number): string {
    for (;;) {
      let hex = '';
      let zero = true;
      for (let i = 0; i < words; i++) {
        const w = this._next();
        if (w !== 0) zero = false;
        hex += w.toString(16).padStart(8, '0');
      }
      if (!zero) return hex;
    }
  }

  /** xoshiro128**: one 32-bit output (unsigned). */
  private _next(): number {
    const s = this._s;
    const s0 = s[0] as number;
    const s1 = s[1] as number;
    const s2 = s[2] as number;
    const s3 = s[3] as number;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  }

  private _set(seed: ArrayLike<number>): void {
    for (let i = 0; i < 4; i++) this._s[i] = (seed[i] ?? 0) >>> 0;
    // The all-zero state is the one xoshiro never leaves.
    if (this._s.every((w) => w === 0)) this._s[0] = 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * 16 bytes from the kernel (/dev/urandom, outside the process image a
 * snapshot copies); where it cannot be read, Web Crypto's generator.
 */
export function osEntropy(out: Uint8Array): void {
  try {
    const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      let got = 0;
      while (got < out.length)
        got += fs.readSync(fd, out, got, out.length - got, null);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    globalThis.crypto.getRandomValues(out);
  }
}

/** The process's generator: the mapper's ids, reseeded after a restore. */
export const processIds = new IdGenerator();

/** A trace id from `processIds` (32 hex digits); only the tests call it. */
export function newTraceId(): string {
  return processIds.traceId();
}

/** A span id from `processIds` (16 hex digits); only the tests call it. */
export function newSpanId(): string {
  return processIds.spanId();
}

const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_IS_REMOTE = 0x200;

/**
 * OTLP's Span.flags / Link.flags: the W3C trace flags in the low byte, plus
 * whether the parent is remote (and that this is known).
 */
export function otlpSpanFlags(
  traceFlags: number,
  isRemote: boolean | undefined
): number {
  return (
    (traceFlags & 0xff) |
    SPAN_FLAGS_HAS_IS_REMOTE |
    (isRemote ? SPAN_FLAGS_IS_REMOTE : 0)
  );
}
