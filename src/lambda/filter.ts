/**
 * Filters applied on receipt, before anything is queued: a filtered event
 * costs no memory and does not count toward DISPATCH_MIN_BATCH_SIZE.
 * Kept tiny and free of OpenTelemetry imports: it runs in the entry chunk.
 */
import type { Filters } from '../config/config.js';
import { SEVERITY_BY_NAME, severityNumberOf } from '../otel/severity.js';
import { eventType, type TelemetryEvent } from './events.js';

const NODE_TEXT_LEVEL = /^\d{4}-\d\d-\d\dT[^\t]*\t[^\t]*\t([A-Za-z]+)\t/;

/** The severity number of a function/extension record, if it names one. */
export function recordSeverity(record: unknown): number | undefined {
  if (typeof record === 'string') {
    const m = NODE_TEXT_LEVEL.exec(record);
    if (m?.[1]) return SEVERITY_BY_NAME[m[1].toUpperCase()];
    if (record.trimStart().startsWith('{')) {
      try {
        return severityNumberOf(
          (JSON.parse(record) as { level?: unknown }).level
        );
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
  if (record !== null && typeof record === 'object') {
    return severityNumberOf((record as { level?: unknown }).level);
  }
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
