/**
 * `function` and `extension` records, in every shape Lambda delivers them,
 * as OpenTelemetry log records; and the platform events as the lines
 * CloudWatch shows (START, END, REPORT, INIT_*, RESTORE_*, ...).
 *
 * Record shapes (lambda-apis.md §3.3), and the README's "Log records" table:
 * - TEXT: a string. The managed runtimes' own prefixes are read into time,
 *   request id and severity, the body being the rest:
 *   - Node.js and .NET: `time\trequestId\tLEVEL\tmessage` (.NET abbreviates:
 *     trce, dbug, info, warn, fail, crit: Amazon.Lambda.RuntimeSupport
 *     DefaultLogMessageFormatter);
 *   - Python: `[LEVEL]\ttime\trequestId\tmessage` (awslambdaric bootstrap.py
 *     `_setup_logging`), and its unhandled-error record `[ERROR] Type: msg`
 *     followed by `Traceback (most recent call last):` (`log_error`);
 *   - Java: `[LEVEL] message` (aws-lambda-java-runtime-interface-client
 *     TextLogFormatter);
 *   - Ruby: `I, [time #pid]  INFO requestId -- progname: message`
 *     (aws_lambda_ric LambdaLogFormatter).
 *   A message that is itself a JSON object is read as one (below), its own
 *   keys winning over the prefix's. A line that is a JSON object is read as
 *   an object; anything else is the body as it came, severity unspecified.
 * - JSON: an object. Message, level, time, request id and error are read
 *   from the keys the runtimes and common loggers use (MESSAGE_KEYS...);
 *   the other keys are attributes. Without a message or an error, the whole
 *   object is the body (as a map), so nothing is dropped (the OTel
 *   collector layer drops it, issue #2173).
 */
import { SeverityNumber } from '@opentelemetry/api';
import {
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_STACKTRACE,
  ATTR_EXCEPTION_TYPE,
} from '@opentelemetry/semantic-conventions';
import { NUMERIC_LEVEL_NAME, SEVERITY_BY_NAME } from './severity.js';
import { parseLogTimeMs, parseTimeMs } from './time.js';

/**
 * What a `function`/`extension` record says of itself: `timeMs` its own time
 * (epoch ms), the request id and severity when it names them; `body` the
 * message after a recognised text prefix, else the record itself.
 */
export interface ParsedLog {
  body: unknown;
  timeMs?: number;
  requestId?: string;
  severityText?: string;
  severityNumber?: SeverityNumber;
  attributes: Record<string, unknown>;
}

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
    const text = NUMERIC_LEVEL_NAME[level];
    return text === undefined ? undefined : lookup(text);
  }
  return undefined;
}

function lookup(
  text: string
): { text: string; number: SeverityNumber } | undefined {
  const number = SEVERITY_BY_NAME[text] as SeverityNumber | undefined;
  return number === undefined ? undefined : { text, number };
}

// Node.js and .NET: time \t requestId \t LEVEL \t message (may span lines).
const NODE_TEXT =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\t([^\t]*)\t([A-Za-z]+)\t([\s\S]*)$/;
// Python: [LEVEL] \t time \t requestId \t message.
const PYTHON_TEXT =
  /^\[([A-Za-z]+)\]\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\t([^\t]*)\t([\s\S]*)$/;
// Java's `[LEVEL] message`, and Python's unhandled error `[ERROR] ...`.
const BRACKET_TEXT = /^\[([A-Za-z]+)\][ \t]([\s\S]*)$/;
// Ruby: `I, [2025-03-14T11:00:00.230123 #8]  INFO requestId -- progname: msg`.
const RUBY_TEXT =
  /^[A-Z], \[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?) #\d+\] +([A-Z]+) (\S*) -- (.*?): ([\s\S]*)$/;
// Python's traceback header, after the `Type: message` line.
const TRACEBACK = '\nTraceback (most recent call last):';
const PY_ERROR_HEAD = /^([A-Za-z_][\w.]*)(?:: ([^\n]*))?$/;

/**
 * Keys read from a JSON record, first present wins. Sources: the Lambda
 * runtimes' JSON format (Node, Python `lambda_runtime_log_utils.py`, .NET
 * `JsonLogMessageFormatter`, Java `JsonLogFormatter`: `AWSRequestId`), pino
 * and bunyan (`msg`, numeric `level`, epoch-ms `time`, `err`), winston,
 * Powertools (`function_request_id`, `exception`, `exception_name`),
 * structlog (`event`), python-json-logger (`levelname`, `asctime`,
 * `exc_info`), logstash-logback-encoder and ECS (`@timestamp`, `log.level`,
 * `stack_trace`, `error.*`), log4j2 JsonLayout (`instant`, `timeMillis`,
 * `thrown`), Serilog CLEF (`@t`, `@m`, `@mt`, `@l`, `@x`) and .NET's JSON
 * console (`LogLevel`, `Message`, `Exception`).
 */
const MESSAGE_KEYS = [
  'message',
  'msg',
  '@m',
  'Message',
  'RenderedMessage',
  '@mt',
  'MessageTemplate',
];
const LEVEL_KEYS = [
  'level',
  'log_level',
  'levelname',
  'severity',
  '@l',
  'Level',
  'LogLevel',
  'log.level',
];
const TIME_KEYS = [
  'timestamp',
  'time',
  '@timestamp',
  '@t',
  'Timestamp',
  'asctime',
  'ts',
  'timeMillis',
  'instant',
];
const REQUEST_ID_KEYS = [
  'requestId',
  'AWSRequestId',
  'aws_request_id',
  'function_request_id',
];

interface Prefix {
  timeMs: number | undefined;
  requestId: string | undefined;
  severity: { text: string; number: SeverityNumber } | undefined;
}

/**
 * Parses one `function`/`extension` record: a text line (the runtimes'
 * prefixes, see above) or a JSON-format object (lambda-apis.md §3.3);
 * anything else becomes the body as it is. Never throws.
 */
export function parseLogRecord(record: unknown): ParsedLog {
  if (typeof record === 'string') return parseText(record);
  if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
    return parseObject(record as Record<string, unknown>, undefined);
  }
  return { body: record ?? null, attributes: {} };
}

function parseText(line: string): ParsedLog {
  const text = stripNewline(line);
  const c = text.charCodeAt(0);
  // The cheap first-character test picks the one pattern that can match.
  if (c >= 48 && c <= 57) {
    const m = NODE_TEXT.exec(text);
    if (m) {
      const severity = severityOf(m[3]);
      if (severity) {
        return prefixed(m[4] ?? '', m[1], m[2], severity);
      }
    }
  } else if (c === 91 /* [ */) {
    const p = PYTHON_TEXT.exec(text);
    if (p) {
      const severity = severityOf(p[1]);
      if (severity) return prefixed(p[4] ?? '', p[2], p[3], severity);
    }
    const b = BRACKET_TEXT.exec(text);
    if (b) {
      const severity = severityOf(b[1]);
      if (severity) {
        const rest = b[2] ?? '';
        const out = prefixed(rest, undefined, undefined, severity);
        if (severity.number >= SeverityNumber.ERROR && out.body === rest) {
          pythonError(rest, out.attributes);
        }
        return out;
      }
    }
  } else if (c >= 65 && c <= 90 && text.charCodeAt(1) === 44 /* , */) {
    const r = RUBY_TEXT.exec(text);
    if (r) {
      // Ruby prints the process's local time, UTC on Lambda.
      const out = prefixed(
        r[5] ?? '',
        `${r[1]}Z`,
        r[3],
        severityOf(r[2]) ?? undefined
      );
      if (r[4]) out.attributes.progname = r[4];
      return out;
    }
  }
  const obj = jsonObject(text);
  if (obj !== undefined) return parseObject(obj, undefined);
  return { body: text, attributes: {} };
}

/** A runtime prefix's fields, and its message (which may be JSON). */
function prefixed(
  message: string,
  time: string | undefined,
  requestId: string | undefined,
  severity: { text: string; number: SeverityNumber } | undefined
): ParsedLog {
  const timeMs = time === undefined ? undefined : parseTimeMs(time);
  const rid =
    requestId && requestId !== 'undefined' && requestId !== 'null'
      ? requestId
      : undefined;
  const body = stripNewline(message);
  // A structured document after the prefix: its own keys win.
  if (body.charCodeAt(0) === 123 /* { */) {
    const obj = jsonObject(body);
    if (obj !== undefined) {
      return parseObject(obj, { timeMs, requestId: rid, severity });
    }
  }
  // Built field by field, in one shape: this runs for every text line.
  const out: ParsedLog = severity
    ? {
        body,
        severityText: severity.text,
        severityNumber: severity.number,
        attributes: {},
      }
    : { body, attributes: {} };
  if (timeMs !== undefined) out.timeMs = timeMs;
  if (rid) out.requestId = rid;
  return out;
}

/**
 * Python's unhandled-error record, `Type: message` then its traceback
 * (awslambdaric bootstrap.py `log_error`): the exception's attributes; the
 * body stays whole.
 */
function pythonError(text: string, attributes: Record<string, unknown>): void {
  const at = text.indexOf(TRACEBACK);
  if (at < 0) return;
  const head = PY_ERROR_HEAD.exec(text.slice(0, at));
  if (!head) return;
  attributes[ATTR_EXCEPTION_TYPE] = head[1];
  if (head[2]) attributes[ATTR_EXCEPTION_MESSAGE] = head[2];
  attributes[ATTR_EXCEPTION_STACKTRACE] = text.slice(at + 1);
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      !Array.isArray(parsed)
    ) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: the line is the body.
  }
  return undefined;
}

function firstKey(
  obj: Record<string, unknown>,
  keys: string[],
  accept: (v: unknown) => boolean
): string | undefined {
  for (const k of keys) {
    if (Object.hasOwn(obj, k) && accept(obj[k])) return k;
  }
  return undefined;
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

interface ErrorFields {
  type?: string;
  message?: string;
  stacktrace?: string;
  /** Keys of the record the error was read from (not kept as attributes). */
  keys: string[];
  /** What is left of an error object once read (kept under its key). */
  rest?: { key: string; value: Record<string, unknown> };
}

/** The error a record carries, under any of the keys loggers use. */
function errorOf(obj: Record<string, unknown>): ErrorFields | undefined {
  const e: ErrorFields = { keys: [] };
  const take = (
    key: string,
    field: 'type' | 'message' | 'stacktrace'
  ): void => {
    if (!Object.hasOwn(obj, key)) return;
    const text = stackText(obj[key]);
    if (text === undefined) return;
    e.keys.push(key);
    if (e[field] === undefined && text !== '') e[field] = text;
  };
  // The Lambda runtimes' own keys (Node, Python, .NET, Ruby).
  take('errorType', 'type');
  take('errorMessage', 'message');
  take('stackTrace', 'stacktrace');
  // Powertools for Python, python-json-logger, logstash, ECS, Serilog, .NET.
  take('exception_name', 'type');
  take('exception', 'stacktrace');
  take('exc_info', 'stacktrace');
  take('stack_trace', 'stacktrace');
  take('error.type', 'type');
  take('error.message', 'message');
  take('error.stack_trace', 'stacktrace');
  take('@x', 'stacktrace');
  take('Exception', 'stacktrace');
  // pino (`err`), bunyan, Powertools for TypeScript (`error`), log4j2.
  for (const key of ['err', 'error', 'thrown']) {
    const v = obj[key];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
    const o = v as Record<string, unknown>;
    const type = typeof o.type === 'string' ? o.type : o.name;
    const message = o.message;
    const stack = o.stack ?? o.stackTrace;
    if (typeof message !== 'string' && typeof stack !== 'string') continue;
    e.keys.push(key);
    if (e.type === undefined && typeof type === 'string') e.type = type;
    if (e.message === undefined && typeof message === 'string' && message)
      e.message = message;
    const st = stackText(stack);
    if (e.stacktrace === undefined && st) e.stacktrace = st;
    const rest: Record<string, unknown> = {};
    let left = false;
    for (const k in o) {
      if (k === 'type' || k === 'name' || k === 'message' || k === 'stack')
        continue;
      if (k === 'stackTrace' && st) continue;
      rest[k] = o[k];
      left = true;
    }
    if (left) e.rest = { key, value: rest };
    break;
  }
  if (e.keys.length === 0) return undefined;
  if (e.type === undefined && e.message === undefined && !e.stacktrace)
    return undefined;
  return e;
}

/** A stack as text: an array of frames (Lambda's `stackTrace`) joined. */
function stackText(v: unknown): string | undefined {
  if (typeof v === 'string') return stripNewline(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    return v.map(stripNewline).join('\n');
  }
  return undefined;
}

function parseObject(
  obj: Record<string, unknown>,
  prefix: Prefix | undefined
): ParsedLog {
  const levelKey = firstKey(
    obj,
    LEVEL_KEYS,
    (v) => severityOf(v) !== undefined
  );
  const timeKey = firstKey(
    obj,
    TIME_KEYS,
    (v) => parseLogTimeMs(v) !== undefined
  );
  const ridKey = firstKey(
    obj,
    REQUEST_ID_KEYS,
    (v) => typeof v === 'string' && v !== ''
  );
  let severity = levelKey ? severityOf(obj[levelKey]) : prefix?.severity;
  // Serilog's compact JSON leaves `@l` out for Information (CLEF).
  if (
    !severity &&
    Object.hasOwn(obj, '@t') &&
    (Object.hasOwn(obj, '@mt') || Object.hasOwn(obj, '@m'))
  ) {
    severity = severityOf('Information');
  }
  const timeMs = timeKey ? parseLogTimeMs(obj[timeKey]) : prefix?.timeMs;
  const requestId = ridKey ? (obj[ridKey] as string) : prefix?.requestId;
  const out: ParsedLog = { body: obj, attributes: {} };
  if (timeMs !== undefined) out.timeMs = timeMs;
  if (requestId !== undefined) out.requestId = requestId;
  if (severity) {
    out.severityText = severity.text;
    out.severityNumber = severity.number;
  }

  // structlog names its message `event` (a string; an object there is data).
  const messageKey =
    firstKey(obj, MESSAGE_KEYS, present) ??
    (typeof obj.event === 'string' ? 'event' : undefined);
  const error = errorOf(obj);
  if (messageKey === undefined && error === undefined) return out;

  const attributes = out.attributes;
  for (const k in obj) {
    if (
      k === messageKey ||
      k === levelKey ||
      k === timeKey ||
      k === ridKey ||
      (error?.keys.includes(k) ?? false)
    )
      continue;
    const v = obj[k];
    if (v !== undefined && v !== null) attributes[k] = v;
  }
  let body: unknown = messageKey === undefined ? undefined : obj[messageKey];
  if (typeof body === 'string') body = stripNewline(body);
  if (error) {
    if (error.type !== undefined) attributes[ATTR_EXCEPTION_TYPE] = error.type;
    if (error.message !== undefined)
      attributes[ATTR_EXCEPTION_MESSAGE] = error.message;
    if (error.stacktrace)
      attributes[ATTR_EXCEPTION_STACKTRACE] = error.stacktrace;
    if (error.rest) attributes[error.rest.key] = error.rest.value;
    // A record that carries an error never ends with an empty body.
    if (body === undefined || body === null || body === '') {
      body = error.message ?? error.type ?? error.stacktrace ?? '';
    }
  }
  out.body = body;
  return out;
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
