/**
 * Every setting of the extension, one row each: the environment variable,
 * its key in the configuration file, its kind, default, range and meaning.
 * The loader (config.ts) reads its integers and booleans from these rows,
 * the file reader (file.ts) its key map, and a unit test
 * (test/unit/settings-table.test.ts) checks that the README's settings
 * table and otel-config.example.yaml name the same settings with the same
 * defaults: a setting documented in one place and not the others fails it.
 *
 * To add a setting: add a row here, read it in config.ts (an integer or a
 * boolean needs only `intSetting`/`boolSetting`), add its README row and
 * its example-file line; the test says what is missing.
 */
import {
  BUFFER_LIMITS,
  DEFAULT_BUFFERING,
  DEFAULT_CONFIG_FILE,
  DEFAULT_EXPORT_TIMEOUT_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_INVOKE_EXPORT_WAIT_MS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_LOG_CHARS,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_QUEUE_EVENTS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MIN_BATCH_SIZE,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  ENV_PREFIX,
} from '../constants.js';

/**
 * How a value is read. `integer`: decimal digits only, in `min..max`, else
 * a warning and the default; `optional-integer`: the same, but unset (or
 * invalid) is `undefined`; `boolean`: 1/true/yes/on or 0/false/no/off, any
 * case; `choice`: one of `values`, any case; `megabytes` is read by the
 * launcher script (layer/lambda-telemetry-otel), not the loader; the
 * others have their own rule in config.ts or endpoints.ts.
 */
export type SettingKind =
  | 'integer'
  | 'optional-integer'
  | 'boolean'
  | 'choice'
  | 'types'
  | 'severity'
  | 'event-list'
  | 'url'
  | 'headers'
  | 'path'
  | 'host'
  | 'megabytes';

/** One setting. */
export interface Setting {
  /** The environment variable (it wins over the file). */
  readonly variable: string;
  /**
   * Its key in the configuration file, as a dotted path
   * (`lambda_telemetry_otel.flush`); undefined when the file has none.
   */
  readonly fileKey?: string;
  readonly kind: SettingKind;
  /** The value when unset; undefined: no value ("unset" in the README). */
  readonly default: number | boolean | string | undefined;
  /** Integers: the smallest and largest value taken (inclusive). */
  readonly min?: number;
  readonly max?: number;
  /**
   * Choices: the values taken (lower case); the loader accepts these, any
   * case, and names them in its warning (`choice` in config.ts).
   */
  readonly values?: readonly string[];
  /** A standard OTEL_* variable that applies when ours is unset. */
  readonly standard?: string;
  /** Who reads it: the loader, or the launcher script (layer/). */
  readonly readBy: 'loader' | 'launcher';
  /** One line; the README's row says the rest. */
  readonly meaning: string;
}

const OURS = 'lambda_telemetry_otel';
const ours = (
  key: string,
  row: Omit<Setting, 'variable' | 'fileKey' | 'readBy'> & {
    file?: false;
    readBy?: Setting['readBy'];
  }
): Setting => {
  const { file, readBy, ...rest } = row;
  return {
    variable: ENV_PREFIX + key,
    ...(file === false ? {} : { fileKey: `${OURS}.${key.toLowerCase()}` }),
    readBy: readBy ?? 'loader',
    ...rest,
  };
};
const int = (
  key: string,
  def: number,
  min: number,
  max: number | undefined,
  meaning: string
): Setting =>
  ours(key, {
    kind: 'integer',
    default: def,
    min,
    ...(max === undefined ? {} : { max }),
    meaning,
  });
const bool = (key: string, def: boolean, meaning: string): Setting =>
  ours(key, { kind: 'boolean', default: def, meaning });

/** The settings, in the README's order. */
export const SETTINGS: readonly Setting[] = [
  {
    variable: 'DISPATCH_POST_URI',
    fileKey: `${OURS}.dispatch.post_uri`,
    kind: 'url',
    default: undefined,
    readBy: 'loader',
    meaning: 'where to send: an OTLP base URL, or the raw POST URL',
  },
  {
    variable: 'DISPATCH_MIN_BATCH_SIZE',
    fileKey: `${OURS}.dispatch.min_batch_size`,
    kind: 'integer',
    default: DEFAULT_MIN_BATCH_SIZE,
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    readBy: 'loader',
    meaning: 'dispatch on INVOKE once this many events wait',
  },
  {
    variable: 'DISPATCH_FORMAT',
    fileKey: `${OURS}.dispatch.format`,
    kind: 'choice',
    default: 'otlp',
    values: ['otlp', 'raw'],
    readBy: 'loader',
    meaning: 'OTLP, or the events as Lambda sent them',
  },
  bool('METRICS', true, 'OTLP metrics of the platform and the extension'),
  ours('METRICS_TEMPORALITY', {
    kind: 'choice',
    default: 'delta',
    values: ['delta', 'cumulative'],
    standard: 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
    meaning: 'metric temporality',
  }),
  ours('HEADERS', {
    kind: 'headers',
    default: undefined,
    meaning: 'headers for DISPATCH_POST_URI',
  }),
  ours('PROTOCOL', {
    kind: 'choice',
    file: false,
    default: 'http/protobuf',
    values: ['http/protobuf', 'http/json'],
    standard: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    meaning: 'OTLP encoding (in the file: the exporter’s encoding)',
  }),
  ours('COMPRESSION', {
    kind: 'choice',
    file: false,
    default: 'none',
    values: ['gzip', 'none'],
    standard: 'OTEL_EXPORTER_OTLP_COMPRESSION',
    meaning: 'OTLP compression (in the file: the exporter’s compression)',
  }),
  ours('CERTIFICATE', {
    kind: 'path',
    default: undefined,
    meaning: 'a PEM file of extra CA certificates',
  }),
  bool('PLATFORM_LOGS', true, 'platform events as log records'),
  int(
    'MAX_LOG_CHARS',
    DEFAULT_MAX_LOG_CHARS,
    64,
    16_777_216,
    'longer bodies are cut and marked truncated (UTF-16 code units)'
  ),
  ours('LOG_LEVEL', {
    kind: 'choice',
    default: 'info',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    meaning: "the extension's own log",
  }),
  ours('LISTENER_HOST', {
    kind: 'host',
    default: 'sandbox.localdomain',
    meaning: 'host the Telemetry API listener binds',
  }),
  int('LISTENER_PORT', 0, 0, 65_535, 'listener port; 0: ephemeral'),
  ours('TYPES', {
    kind: 'types',
    default: 'platform,function,extension',
    values: ['platform', 'function', 'extension'],
    meaning: 'Telemetry API streams to subscribe to',
  }),
  int(
    'BUFFER_MAX_ITEMS',
    DEFAULT_BUFFERING.maxItems,
    BUFFER_LIMITS.maxItems.min,
    BUFFER_LIMITS.maxItems.max,
    'Telemetry API buffering: events per delivery'
  ),
  int(
    'BUFFER_MAX_BYTES',
    DEFAULT_BUFFERING.maxBytes,
    BUFFER_LIMITS.maxBytes.min,
    BUFFER_LIMITS.maxBytes.max,
    'Telemetry API buffering: bytes per delivery'
  ),
  int(
    'BUFFER_TIMEOUT_MS',
    DEFAULT_BUFFERING.timeoutMs,
    BUFFER_LIMITS.timeoutMs.min,
    BUFFER_LIMITS.timeoutMs.max,
    'Telemetry API buffering: ms before a delivery'
  ),
  ours('EXPORT_TIMEOUT_MS', {
    kind: 'integer',
    default: DEFAULT_EXPORT_TIMEOUT_MS,
    min: 1,
    max: 600_000,
    standard: 'OTEL_EXPORTER_OTLP_TIMEOUT',
    meaning: "one export's whole budget, retries included (ms)",
  }),
  int(
    'INVOKE_EXPORT_WAIT_MS',
    DEFAULT_INVOKE_EXPORT_WAIT_MS,
    0,
    600_000,
    'OTLP: at INVOKE, the longest /next waits for exports (ms)'
  ),
  int(
    'MAX_REQUEST_BYTES',
    DEFAULT_MAX_REQUEST_BYTES,
    1_024,
    undefined,
    'raw format: one request body stays under this (bytes)'
  ),
  int(
    'MAX_QUEUE_EVENTS',
    DEFAULT_MAX_QUEUE_EVENTS,
    1,
    undefined,
    'queue bound in Telemetry API events'
  ),
  int(
    'MAX_QUEUE_BYTES',
    DEFAULT_MAX_QUEUE_BYTES,
    1_024,
    undefined,
    'queue bound in bytes'
  ),
  ours('FLUSH', {
    kind: 'choice',
    default: 'next-invoke',
    values: ['next-invoke', 'end'],
    meaning: 'when telemetry leaves',
  }),
  int(
    'FLUSH_INTERVAL_MS',
    DEFAULT_FLUSH_INTERVAL_MS,
    1,
    3_600_000,
    'the dispatch timer period (ms)'
  ),
  int(
    'RETRY_BASE_MS',
    DEFAULT_RETRY_BASE_MS,
    1,
    60_000,
    'raw format: first retry wait (ms)'
  ),
  int(
    'RETRY_MAX_MS',
    DEFAULT_RETRY_MAX_MS,
    1,
    60_000,
    'raw format: longest retry wait (ms)'
  ),
  ours('MAX_HEAP_MB', {
    kind: 'megabytes',
    file: false,
    default: undefined,
    readBy: 'launcher',
    min: 64,
    max: 4_096,
    meaning: "an opt-in V8 heap cap (the launcher's --max-old-space-size)",
  }),
  ours('SHUTDOWN_WAIT_MS', {
    kind: 'optional-integer',
    default: undefined,
    min: 0,
    max: 2_000,
    meaning: 'a cap on the wait for late reports at SHUTDOWN (ms)',
  }),
  bool('STRICT', false, 'a bad configuration fails init'),
  bool('DISABLED', false, 'register and stay idle'),
  ours('CONFIG_FILE', {
    kind: 'path',
    file: false,
    default: DEFAULT_CONFIG_FILE,
    meaning: 'the configuration file',
  }),
  ours('FUNCTION_MIN_SEVERITY', {
    kind: 'severity',
    default: undefined,
    meaning: 'function records below this level are dropped on receipt',
  }),
  ours('EXTENSION_MIN_SEVERITY', {
    kind: 'severity',
    default: undefined,
    meaning: 'extension records below this level are dropped on receipt',
  }),
  ours('INCLUDE_EVENTS', {
    kind: 'event-list',
    default: undefined,
    meaning: 'event types to keep',
  }),
  ours('EXCLUDE_EVENTS', {
    kind: 'event-list',
    default: undefined,
    meaning: 'event types to drop',
  }),
  int(
    'MAX_EXPORT_BATCH_SIZE',
    DEFAULT_MAX_EXPORT_BATCH_SIZE,
    1,
    undefined,
    'records per export request'
  ),
];

/**
 * The row of a setting by its variable, or by its name after
 * `LAMBDA_TELEMETRY_OTEL_`. Throws (a programming error) when there is none.
 */
export function setting(name: string): Setting {
  const row =
    SETTINGS.find((s) => s.variable === name) ??
    SETTINGS.find((s) => s.variable === ENV_PREFIX + name);
  if (row === undefined) throw new Error(`no setting ${name}`);
  return row;
}

/**
 * The file's keys of one section (`lambda_telemetry_otel` or
 * `lambda_telemetry_otel.dispatch`) to the name config.ts reads them by:
 * the variable after `LAMBDA_TELEMETRY_OTEL_`, or the whole `DISPATCH_*`.
 */
export function fileKeys(section: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of SETTINGS) {
    if (s.fileKey === undefined) continue;
    const dot = s.fileKey.lastIndexOf('.');
    if (s.fileKey.slice(0, dot) !== section) continue;
    out[s.fileKey.slice(dot + 1)] = s.variable.startsWith(ENV_PREFIX)
      ? s.variable.slice(ENV_PREFIX.length)
      : s.variable;
  }
  return out;
}
