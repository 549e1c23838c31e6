/**
 * What the demo's check should expect under the user's own settings. The
 * settings come from the extension's `effective configuration` line (the
 * only reader of the environment and the YAML file is the extension, and a
 * second reader here could disagree with it); what they mean for each
 * emitted line is worked out here, independently of the extension's code.
 */
import type { LogLine } from './emulator.js';

/** The fields of the extension's `effective configuration` line we use. */
export interface StatedSettings {
  file: string;
  format: 'otlp' | 'raw';
  endpoints: Record<string, string>;
  headers: Record<string, string[]>;
  protocol?: string;
  compression?: string;
  flush: string;
  minBatchSize: number;
  types: string[];
  functionMinSeverity?: string;
  extensionMinSeverity?: string;
  includeEvents?: string[];
  excludeEvents?: string[];
  disabled?: boolean;
}

/** The defaults, for when the line never came (a log level above info). */
export const DEFAULT_SETTINGS: StatedSettings = {
  file: 'none',
  format: 'otlp',
  endpoints: {},
  headers: {},
  flush: 'next-invoke',
  minBatchSize: 1,
  types: ['platform', 'function', 'extension'],
};

/** Reads the line out of the extension's output, if it is that line. */
export function parseStatedSettings(line: string): StatedSettings | undefined {
  if (!line.includes('"effective configuration"')) return undefined;
  try {
    const o = JSON.parse(line) as { msg?: unknown } & StatedSettings;
    return o.msg === 'effective configuration' ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OpenTelemetry severity numbers of the level names the emulator writes
 * (the log data model). Kept apart from the extension's table on purpose:
 * the demo's check is an independent reader of what should arrive, so a
 * mistake in the extension's table cannot also write the expectation.
 */
const SEVERITY: Record<string, number> = {
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  WARN: 13,
  WARNING: 13,
  ERROR: 17,
  FATAL: 21,
  CRITICAL: 21,
};

/** The level a line names as the emulator writes it, if any. */
function lineLevel(line: LogLine): string | undefined {
  switch (line.format ?? 'text') {
    case 'plain':
      return undefined;
    case 'object': {
      const l = line.fields?.level;
      return typeof l === 'string' ? l : undefined;
    }
    case 'record':
      return line.expect?.severityText;
    case 'json':
      return line.level;
    default:
      return line.level ?? 'INFO';
  }
}

/** The same for an event's record as it went over the wire (raw format). */
function recordLevel(record: unknown): string | undefined {
  if (typeof record === 'string') {
    // Node's text format: time \t requestId \t LEVEL \t message.
    const level = record.split('\t')[2];
    return level !== undefined && SEVERITY[level.toUpperCase()] !== undefined
      ? level
      : undefined;
  }
  if (record !== null && typeof record === 'object') {
    const l = (record as { level?: unknown }).level;
    return typeof l === 'string' ? l : undefined;
  }
  return undefined;
}

const matches = (patterns: readonly string[] | undefined, type: string) =>
  (patterns ?? []).some((p) =>
    p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : p === type
  );

/** The platform events an invocation span and the init span are built from. */
const SPAN_SOURCES = [
  'platform.initStart',
  'platform.initRuntimeDone',
  'platform.initReport',
  'platform.restoreStart',
  'platform.restoreRuntimeDone',
  'platform.restoreReport',
  'platform.start',
  'platform.runtimeDone',
  'platform.report',
];

/**
 * The check's expectations under stated settings: which event types,
 * function lines and raw events should reach the receiver, and whether
 * spans can be checked. It follows the README's rules (Configuration:
 * `types`, include / exclude lists with a trailing `*`, the minimum
 * severities; a record naming no known level is kept), not the
 * extension's code.
 */
export class Expectations {
  constructor(readonly settings: StatedSettings) {}

  /** Whether an event of this type reaches the queue at all. */
  keepsType(type: string): boolean {
    const s = this.settings;
    const stream = type.startsWith('platform.') ? 'platform' : type;
    if (
      ['platform', 'function', 'extension'].includes(stream) &&
      !s.types.includes(stream)
    )
      return false;
    if ((s.includeEvents ?? []).length > 0 && !matches(s.includeEvents, type))
      return false;
    return !matches(s.excludeEvents, type);
  }

  private _keepsLevel(type: string, level: string | undefined): boolean {
    const min =
      type === 'function'
        ? this.settings.functionMinSeverity
        : type === 'extension'
          ? this.settings.extensionMinSeverity
          : undefined;
    if (min === undefined || level === undefined) return true;
    const n = SEVERITY[level.toUpperCase()];
    // A record that names no level we know is kept, as the README says.
    return n === undefined || n >= (SEVERITY[min.toUpperCase()] ?? 0);
  }

  /** A function line the emulator wrote: should it arrive? */
  keepsLine(line: LogLine): boolean {
    return (
      this.keepsType('function') &&
      this._keepsLevel('function', lineLevel(line))
    );
  }

  /** An event as Lambda sent it (raw format): should it arrive? */
  keepsEvent(type: string, record: unknown): boolean {
    return this.keepsType(type) && this._keepsLevel(type, recordLevel(record));
  }

  /** False when the settings filter out what spans are made of. */
  get spansExpected(): boolean {
    return SPAN_SOURCES.every((t) => this.keepsType(t));
  }

  /** What the settings change about the check, for the user to read. */
  describe(): string[] {
    const s = this.settings;
    const out: string[] = [];
    if (s.functionMinSeverity)
      out.push(
        `function lines below ${s.functionMinSeverity} are not expected`
      );
    if (s.extensionMinSeverity)
      out.push(
        `extension lines below ${s.extensionMinSeverity} are not expected`
      );
    if (s.includeEvents?.length)
      out.push(`only ${s.includeEvents.join(', ')} events are expected`);
    if (s.excludeEvents?.length)
      out.push(`${s.excludeEvents.join(', ')} events are not expected`);
    if (s.types.length < 3)
      out.push(`only the ${s.types.join(', ')} stream(s) are subscribed`);
    if (!this.spansExpected)
      out.push('spans are not checked: the settings filter platform events');
    return out;
  }
}
