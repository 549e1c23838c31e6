/**
 * Filters applied on receipt, before anything is queued: a filtered event
 * costs no memory and does not count toward DISPATCH_MIN_BATCH_SIZE.
 * Kept tiny and free of OpenTelemetry imports: it runs in the entry chunk.
 */
import type { Filters } from '../config/config.js';
import { eventType, type TelemetryEvent } from './events.js';

const LEVELS: Record<string, number> = {
  ALL: 1,
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  INFORMATION: 9,
  NOTICE: 10,
  WARN: 13,
  WARNING: 13,
  ERROR: 17,
  ERR: 17,
  FATAL: 21,
  CRITICAL: 21,
  CRIT: 21,
};
const PINO: Record<number, number> = {
  10: 1,
  20: 5,
  30: 9,
  40: 13,
  50: 17,
  60: 21,
};
const NODE_TEXT_LEVEL = /^\d{4}-\d\d-\d\dT[^\t]*\t[^\t]*\t([A-Za-z]+)\t/;

/** The severity number of a function/extension record, if it names one. */
export function recordSeverity(record: unknown): number | undefined {
  if (typeof record === 'string') {
    const m = NODE_TEXT_LEVEL.exec(record);
    if (m?.[1]) return LEVELS[m[1].toUpperCase()];
    if (record.trimStart().startsWith('{')) {
      try {
        return levelOf((JSON.parse(record) as { level?: unknown }).level);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
  if (record !== null && typeof record === 'object') {
    return levelOf((record as { level?: unknown }).level);
  }
  return undefined;
}

function levelOf(level: unknown): number | undefined {
  if (typeof level === 'string') return LEVELS[level.trim().toUpperCase()];
  if (typeof level === 'number') return PINO[level];
  return undefined;
}

function matches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) =>
    p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : p === type
  );
}

/** Null when nothing filters, so the hot path skips the work. */
export function createFilter(
  f: Readonly<Filters>
): ((event: TelemetryEvent) => boolean) | null {
  if (
    f.functionMinSeverity === undefined &&
    f.extensionMinSeverity === undefined &&
    f.include.length === 0 &&
    f.exclude.length === 0
  ) {
    return null;
  }
  return (event) => {
    const type = eventType(event);
    if (f.include.length > 0 && !matches(f.include, type)) return false;
    if (matches(f.exclude, type)) return false;
    const min =
      type === 'function'
        ? f.functionMinSeverity
        : type === 'extension'
          ? f.extensionMinSeverity
          : undefined;
    if (min === undefined) return true;
    // A record that names no level is kept: we cannot tell it is noise.
    const sev = recordSeverity(event.record);
    return sev === undefined || sev >= min;
  };
}
