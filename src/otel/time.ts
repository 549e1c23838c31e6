/**
 * Times as epoch milliseconds (a double keeps ~0.2 µs at today's epoch),
 * turned into OpenTelemetry's [seconds, nanoseconds] only at the edge.
 */
import type { HrTime } from '@opentelemetry/api';

const FRACTION = /\.(\d+)(?:Z|[+-]\d\d:?\d\d)$/;

let lastText: string | undefined;
let lastMs: number | undefined;

/**
 * ISO-8601 to epoch ms, keeping sub-millisecond digits; undefined if
 * invalid. The last answer is kept: the events of one delivery often share
 * their time to the millisecond, and Date.parse was 3 % of the extension's
 * CPU under 10,000-event batches (npm run bench, profiled).
 */
export function parseTimeMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (value === lastText) return lastMs;
  lastText = value;
  lastMs = parseUncached(value);
  return lastMs;
}

/**
 * OTLP times are unsigned 64-bit nanoseconds, and many receivers read them
 * as signed: a time outside 1970 to 2262 would wrap around on the wire (a
 * year-2600 timestamp arrived as 2015). Such a time is treated as invalid.
 */
const MAX_TIME_MS = 2 ** 63 / 1e6;

function parseUncached(value: string): number | undefined {
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms < 0 || ms >= MAX_TIME_MS) return undefined;
  const m = FRACTION.exec(value);
  if (m?.[1] && m[1].length > 3) {
    return ms + Number(`0.${m[1].slice(3)}`);
  }
  return ms;
}

/**
 * Epoch ms (fractions kept to the nanosecond) as OpenTelemetry's
 * [seconds, nanoseconds].
 */
export function toHrTime(ms: number): HrTime {
  let seconds = Math.floor(ms / 1_000);
  let nanos = Math.round((ms - seconds * 1_000) * 1_000_000);
  if (nanos >= 1_000_000_000) {
    seconds += 1;
    nanos -= 1_000_000_000;
  }
  return [seconds, nanos];
}

// A date and time as loggers print them: ISO 8601 with `T` or a space, a
// `.` or `,` (Python's asctime) before the fraction, and a zone that is
// `Z`, `+hh:mm`, `+hhmm` (Powertools for Python) or absent.
const LOOSE_TIME =
  /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/;

/**
 * A log record's own time, as epoch ms, in the encodings loggers use:
 * - ISO 8601 text (`2025-03-14T11:00:00.230Z`), also with a space for `T`,
 *   a comma before the fraction, `+hhmm`, or no zone at all. A time without
 *   a zone is read as UTC: Lambda runs functions with `TZ=UTC` and the
 *   runtimes print UTC (Python's `time.gmtime`, Ruby's Logger in a UTC
 *   process). Other text Date.parse reads (RFC 2822) is taken as it reads it.
 * - a number: epoch seconds, milliseconds, microseconds or nanoseconds, told
 *   apart by magnitude (below 1e11 seconds, below 1e14 ms, below 1e17 µs,
 *   else ns): pino's `time` is ms, structlog's and zap's are seconds.
 * - log4j2's `instant` object `{epochSecond, nanoOfSecond}`.
 * Undefined when it is none of these, or outside 1970..2262 (OTLP's range);
 * a number, or text other than ISO 8601, also when it is before 2000 (a
 * duration or a count, not a time) or text that does not look like a date
 * and a time.
 */
export function parseLogTimeMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    // The common case first: strict ISO with Z, no allocation.
    if (value.length >= 20 && value.charCodeAt(10) === 84 /* T */) {
      const last = value.charCodeAt(value.length - 1);
      if (last === 90 /* Z */) return parseTimeMs(value);
    }
    const m = LOOSE_TIME.exec(value);
    if (m) {
      const zone = m[4]
        ? m[4].length === 5
          ? `${m[4].slice(0, 3)}:${m[4].slice(3)}`
          : m[4]
        : 'Z';
      return parseTimeMs(`${m[1]}T${m[2]}${m[3] ? `.${m[3]}` : ''}${zone}`);
    }
    // Other text only when it looks like a date and a time (RFC 2822 and
    // the like): V8's Date.parse reads "42" as 2042 and "step 3" as 2001.
    return value.length <= 64 && LOOKS_LIKE_DATE.test(value)
      ? plausible(parseTimeMs(value))
      : undefined;
  }
  if (typeof value === 'number') return plausible(epochMs(value));
  if (value !== null && typeof value === 'object') {
    const { epochSecond, nanoOfSecond } = value as Record<string, unknown>;
    if (typeof epochSecond === 'number') {
      const ms =
        epochSecond * 1_000 +
        (typeof nanoOfSecond === 'number' ? nanoOfSecond / 1e6 : 0);
      return ms >= 0 && ms < MAX_TIME_MS ? ms : undefined;
    }
  }
  return undefined;
}

/** A 4-digit year and an hh:mm time somewhere in the text. */
const LOOKS_LIKE_DATE =
  /\b\d{4}\b[\s\S]*\b\d\d:\d\d|\b\d\d:\d\d[\s\S]*\b\d{4}\b/;

/**
 * 2000-01-01 (epoch ms). A record's own time before it, from a number or
 * loose text, is a duration, a count or a misread, not a Lambda log's
 * time (Lambda began in 2014): it is kept as an attribute instead.
 */
const EARLIEST_LOG_MS = 946_684_800_000;

function plausible(ms: number | undefined): number | undefined {
  return ms !== undefined && ms >= EARLIEST_LOG_MS ? ms : undefined;
}

function epochMs(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  const ms =
    n < 1e11 ? n * 1_000 : n < 1e14 ? n : n < 1e17 ? n / 1_000 : n / 1e6;
  return ms < MAX_TIME_MS ? ms : undefined;
}
