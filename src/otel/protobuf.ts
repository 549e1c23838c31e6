/**
 * A protobuf writer over one growable Buffer that is reused: nothing is
 * allocated per field, so encoding a record leaves no garbage behind but
 * its bytes (at 100,000 events/s, garbage is what grows a V8 heap).
 *
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 */

import { discard } from '../util/memory.js';

/** Wire types. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

const TWO_32 = 4_294_967_296;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Forgets what was written; keeps the memory. */
  reset(): void {
    this.pos = 0;
  }

  ensure(more: number): void {
    const need = this.pos + more;
    if (need <= this.buf.length) return;
    let size = Math.max(64, this.buf.length * 2);
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    discard(this.buf);
    this.buf = next;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A non-negative integer below 2^53. */
  varint(value: number): void {
    this.ensure(10);
    const b = this.buf;
    let v = value;
    while (v >= 0x80) {
      b[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.pos++] = v;
  }

  /** int64 as protobuf writes it: a negative value is ten bytes. */
  int64(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    // Two's complement of |v| over 64 bits, as two 32-bit halves.
    const abs = -v;
    let lo = ~(abs % TWO_32) >>> 0;
    let hi = ~Math.floor(abs / TWO_32) >>> 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    this.ensure(10);
    const b = this.buf;
    for (let i = 0; i < 9; i++) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      hi >>>= 7;
    }
    b[this.pos++] = lo & 0x01;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Epoch [seconds, nanoseconds] as fixed64 nanoseconds, exactly. */
  hrTime(t: readonly [number, number]): void {
    // seconds * 1e9 passes 2^53, so it is built in 32-bit halves:
    // seconds = a * 2^16 + b, and every partial product stays exact.
    const seconds = t[0];
    const a = Math.floor(seconds / 65_536);
    const b = seconds - a * 65_536;
    const x = b * 1e9 + t[1];
    const y = a * 1e9;
    const yHi = Math.floor(y / 65_536);
    const low = (y - yHi * 65_536) * 65_536 + x;
    const carry = Math.floor(low / TWO_32);
    this.fixed64(low - carry * TWO_32, yHi + carry);
  }

  string(s: string): void {
    // Short strings (at most 42 UTF-16 units, so at most 126 bytes) get a
    // one-byte length without measuring them first.
    if (s.length <= 42) {
      this.ensure(1 + s.length * 3);
      const at = this.pos++;
      const n = this.buf.write(s, this.pos, 'utf8');
      this.buf[at] = n;
      this.pos += n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** A hex id (trace or span id) as its bytes. */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.varint(n);
    this.ensure(n);
    const written = this.buf.write(hex, this.pos, n, 'hex');
    // A malformed id still takes its declared length (zeros), so the
    // message around it stays well-formed.
    this.buf.fill(0, this.pos + written, this.pos + n);
    this.pos += n;
  }

  bytes(v: Uint8Array): void {
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /**
   * Opens a length-delimited field whose length is known only at the end:
   * one byte is reserved (most messages are short) and `end` moves the
   * content when the length needs more.
   */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  end(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    let size = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) size++;
    this.ensure(size - 1);
    this.buf.copy(this.buf, at + size, at + 1, this.pos);
    this.pos += size - 1;
    let p = at;
    let v = len;
    while (v >= 0x80) {
      this.buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[p] = v;
  }
}
