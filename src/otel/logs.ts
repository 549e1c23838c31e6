/**
 * `function` and `extension` records, in every shape Lambda delivers them,
 * as OpenTelemetry log records; and the platform events as the lines
 * CloudWatch shows (START, END, REPORT, INIT_*, RESTORE_*, ...).
 *
 * Record shapes (lambda-apis.md §3.3):
 * - TEXT: a string. The Node runtime's `time\trequestId\tLEVEL\tmessage` is
 *   parsed into timestamp, request id, severity and body; a line that is a
 *   JSON object (a JSON logger under the Text format) is read as an object;
 *   anything else is the body as it came, severity unspecified.
 * - JSON: an object. With `message`, the message is the body and the other
 *   keys are attributes; without, the whole object is the body (as a map), so
 *   nothing is dropped (the OTel collector layer drops it, issue #2173).
 */
import { SeverityNumber } from '@opentelemetry/api';
import { parseTimeMs } from './time.js';

export interface ParsedLog {
  body: unknown;
  timeMs?: number;
  requestId?: string;
  severityText?: string;
  severityNumber?: SeverityNumber;
  attributes: Record<string, unknown>;
}

const SEVERITY: Record<string, SeverityNumber> = {
  ALL: SeverityNumber.TRACE,
  TRACE: SeverityNumber.TRACE,
  DEBUG: SeverityNumber.DEBUG,
  INFO: SeverityNumber.INFO,
  INFORMATION: SeverityNumber.INFO,
  NOTICE: SeverityNumber.INFO2,
  WARN: SeverityNumber.WARN,
  WARNING: SeverityNumber.WARN,
  ERROR: SeverityNumber.ERROR,
  ERR: SeverityNumber.ERROR,
  FATAL: SeverityNumber.FATAL,
  CRITICAL: SeverityNumber.FATAL,
  CRIT: SeverityNumber.FATAL,
};

/** pino / bunyan numeric levels, common in Node JSON logs. */
const NUMERIC_LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** The severities of level names seen, any case (a handful in practice). */
const byName = new Map<
  string,
  { text: string; number: SeverityNumber } | null
>();

/**
 * Severity from a level name (any case) or a pino-style number; undefined
 * when the level is not one we know. Names are remembered: every line of a
 * delivery names one of a few levels, and this ran per record.
 */
export function severityOf(
  level: unknown
): { text: string; number: SeverityNumber } | undefined {
  if (typeof level === 'string') {
    const known = byName.get(level);
    if (known !== undefined) return known ?? undefined;
    const found = lookup(level.trim().toUpperCase());
    if (byName.size < 256) byName.set(level, found ?? null);
    return found;
  }
  if (typeof level === 'number') {
    const text = NUMERIC_LEVELS[level];
    return text === undefined ? undefined : lookup(text);
  }
  return undefined;
}

function lookup(
  text: string
): { text: string; number: SeverityNumber } | undefined {
  const number = SEVERITY[text];
  return number === undefined ? undefined : { text, number };
}

// time \t requestId \t LEVEL \t message (the message may span lines).
const NODE_TEXT =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\t([^\t]*)\t([A-Za-z]+)\t([\s\S]*)$/;
const RESERVED = new Set(['message', 'level', 'timestamp', 'requestId']);

export function parseLogRecord(record: unknown): ParsedLog {
  if (typeof record === 'string') return parseText(record);
  if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
    return parseObject(record as Record<string, unknown>);
  }
  return { body: record ?? null, attributes: {} };
}

function parseText(line: string): ParsedLog {
  const text = stripNewline(line);
  const m = NODE_TEXT.exec(text);
  if (m) {
    const severity = severityOf(m[3]);
    if (severity) {
      // Built field by field: this runs for every Node text line.
      const out: ParsedLog = {
        body: stripNewline(m[4] ?? ''),
        severityText: severity.text,
        severityNumber: severity.number,
        attributes: {},
      };
      const timeMs = parseTimeMs(m[1]);
      if (timeMs !== undefined) out.timeMs = timeMs;
      if (m[2] && m[2] !== 'undefined') out.requestId = m[2];
      return out;
    }
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (
        parsed !== null &&
        typeof parsed === 'object' &&
        !Array.isArray(parsed)
      ) {
        return parseObject(parsed as Record<string, unknown>);
      }
    } catch {
      // Not JSON after all: the line is the body.
    }
  }
  return { body: text, attributes: {} };
}

function parseObject(obj: Record<string, unknown>): ParsedLog {
  const severity = severityOf(obj.level);
  const timeMs = parseTimeMs(obj.timestamp);
  const requestId =
    typeof obj.requestId === 'string' ? obj.requestId : undefined;
  const base = {
    ...(timeMs !== undefined ? { timeMs } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(severity
      ? { severityText: severity.text, severityNumber: severity.number }
      : {}),
  };
  if (!Object.hasOwn(obj, 'message')) {
    return { body: obj, ...base, attributes: {} };
  }
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!RESERVED.has(k) && v !== undefined && v !== null) attributes[k] = v;
  }
  const message = obj.message;
  return {
    body: typeof message === 'string' ? stripNewline(message) : message,
    ...base,
    attributes,
  };
}

function stripNewline(s: string): string {
  return s.endsWith('\n') ? s.slice(0, s.endsWith('\r\n') ? -2 : -1) : s;
}

/** The CloudWatch-style line for a platform event, or undefined if none. */
export function platformLine(
  type: string,
  r: Record<string, unknown>
): string | undefined {
  const ms = (v: unknown): string =>
    typeof v === 'number' ? `${round(v)} ms` : '-';
  const metrics = (r.metrics ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'platform.start':
      return `START RequestId: ${str(r.requestId)} Version: ${str(r.version)}`;
    case 'platform.runtimeDone':
      return `END RequestId: ${str(r.requestId)}${statusSuffix(r)}`;
    case 'platform.report': {
      const parts = [
        `REPORT RequestId: ${str(r.requestId)}`,
        `Duration: ${ms(metrics.durationMs)}`,
      ];
      if (metrics.billedDurationMs !== undefined)
        parts.push(`Billed Duration: ${ms(metrics.billedDurationMs)}`);
      if (metrics.memorySizeMB !== undefined)
        parts.push(`Memory Size: ${str(metrics.memorySizeMB)} MB`);
      if (metrics.maxMemoryUsedMB !== undefined)
        parts.push(`Max Memory Used: ${str(metrics.maxMemoryUsedMB)} MB`);
      if (metrics.initDurationMs !== undefined)
        parts.push(`Init Duration: ${ms(metrics.initDurationMs)}`);
      if (metrics.restoreDurationMs !== undefined)
        parts.push(`Restore Duration: ${ms(metrics.restoreDurationMs)}`);
      if (typeof r.status === 'string' && r.status !== 'success')
        parts.push(`Status: ${r.status}`);
      if (typeof r.errorType === 'string')
        parts.push(`Error Type: ${r.errorType}`);
      return parts.join('\t');
    }
    case 'platform.initStart':
      return `INIT_START Runtime Version: ${str(r.runtimeVersion)}\tRuntime Version ARN: ${str(r.runtimeVersionArn)}`;
    case 'platform.initRuntimeDone':
      return `INIT_RUNTIME_DONE Status: ${str(r.status)}${typeof r.errorType === 'string' ? `\tError Type: ${r.errorType}` : ''}`;
    case 'platform.initReport':
      return `INIT_REPORT Init Duration: ${ms(metrics.durationMs)}\tPhase: ${str(r.phase)}\tStatus: ${str(r.status)}${typeof r.errorType === 'string' ? `\tError Type: ${r.errorType}` : ''}`;
    case 'platform.restoreStart':
      return `RESTORE_START Runtime Version: ${str(r.runtimeVersion)}\tRuntime Version ARN: ${str(r.runtimeVersionArn)}`;
    case 'platform.restoreRuntimeDone':
      return `RESTORE_RUNTIME_DONE Status: ${str(r.status)}`;
    case 'platform.restoreReport':
      return `RESTORE_REPORT Restore Duration: ${ms(metrics.durationMs)}\tStatus: ${str(r.status)}`;
    case 'platform.extension':
      return `EXTENSION Name: ${str(r.name)} State: ${str(r.state)} Events: [${Array.isArray(r.events) ? r.events.map(str).join(', ') : ''}]`;
    case 'platform.telemetrySubscription':
      return `TELEMETRY Name: ${str(r.name)} State: ${str(r.state)} Types: [${Array.isArray(r.types) ? r.types.map(str).join(', ') : ''}]`;
    case 'platform.logsDropped':
      return `LOGS_DROPPED DroppedRecords: ${str(r.droppedRecords)} DroppedBytes: ${str(r.droppedBytes)} Reason: ${str(r.reason)}`;
    default:
      return undefined;
  }
}

function statusSuffix(r: Record<string, unknown>): string {
  if (typeof r.status !== 'string' || r.status === 'success') return '';
  return ` Status: ${r.status}${typeof r.errorType === 'string' ? ` Error Type: ${r.errorType}` : ''}`;
}

/** Any value as text, never throwing (a record may hold `{toString: null}`). */
function str(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v;
  if (
    typeof v === 'number' ||
    typeof v === 'boolean' ||
    typeof v === 'bigint'
  ) {
    return String(v);
  }
  try {
    return JSON.stringify(v) ?? '-';
  } catch {
    return '-';
  }
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
