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

export function isSpanId(value: unknown): value is string {
  return (
    typeof value === 'string' && SPAN_ID.test(value) && value !== ZERO_SPAN
  );
}

/**
 * Ids from Math.random, as OpenTelemetry JS's own RandomIdGenerator makes
 * them: they need to be unique, not secret, and node:crypto would cost
 * about 3 MiB of RSS (measured) just to be loaded.
 */
export function newTraceId(): string {
  return randomHex(4);
}

export function newSpanId(): string {
  return randomHex(2);
}

/** `words` x 32 random bits as hex; never all zeros (an invalid id). */
function randomHex(words: number): string {
  for (;;) {
    let hex = '';
    let zero = true;
    for (let i = 0; i < words; i++) {
      const w = Math.floor(Math.random() * 0x1_0000_0000);
      if (w !== 0) zero = false;
      hex += w.toString(16).padStart(8, '0');
    }
    if (!zero) return hex;
  }
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
