/**
 * The one place that reads the environment. Produces a frozen, typed
 * configuration plus the warnings to log; it never throws, because a bad
 * setting must not take the function down (fail open: warn once, naming the
 * variable and the value, and use the default).
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
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  DEFAULT_MIN_BATCH_SIZE,
  ENV_PREFIX,
  SANDBOX_HOST,
} from '../constants.js';
import { MIN_SEVERITY_NAMES, SEVERITY_BY_NAME } from '../otel/severity.js';
import { isLogLevel, type LogLevel } from '../util/log.js';
import type { FileSettings } from './file.js';

export type DispatchFormat = 'otlp' | 'raw';
/**
 * `next-invoke`: export at each INVOKE, while the handler runs (the seed's
 * way). `end`: wait for this invocation's runtimeDone, then export before
 * calling /next (fresher data, billed time).
 */
export type FlushPolicy = 'next-invoke' | 'end';
export type OtlpProtocol = 'http/protobuf' | 'http/json';
/**
 * `delta`: each export carries what happened since the previous one
 * (thousands of short-lived environments make poor cumulative series);
 * `cumulative`: totals since the environment started.
 */
export type MetricsTemporality = 'delta' | 'cumulative';

/** Where one OTLP signal goes. */
export interface SignalTarget {
  /** The full per-signal URL (…/v1/logs, …/v1/traces). */
  url: string;
  headers: Readonly<Record<string, string>>;
}
export type TelemetryType = 'platform' | 'function' | 'extension';
const TELEMETRY_TYPES: readonly TelemetryType[] = [
  'platform',
  'function',
  'extension',
];

export interface Filters {
  /** Function / extension records below this severity number are dropped on receipt. */
  functionMinSeverity: number | undefined;
  extensionMinSeverity: number | undefined;
  /** Event types (a trailing `*` matches a prefix); empty = all. */
  include: string[];
  exclude: string[];
}

export interface Config {
  /** AWS_LAMBDA_RUNTIME_API (host:port); undefined outside Lambda. */
  runtimeApi: string | undefined;
  logLevel: LogLevel;
  strict: boolean;
  /** LAMBDA_TELEMETRY_OTEL_DISABLED: register and stay idle. */
  disabled: boolean;
  filters: Filters;
  /** AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances: no INVOKE. */
  managedInstances: boolean;
  /**
   * AWS_LAMBDA_INITIALIZATION_TYPE=snap-start: this process is snapshotted
   * after init and restored many times (README, SnapStart).
   */
  snapStart: boolean;
  listener: {
    /** Host to bind; the subscription URI names sandbox.localdomain anyway. */
    host: string;
    /** True when the host came from our variable (no resolution fallback). */
    hostOverridden: boolean;
    port: number;
  };
  subscription: {
    types: TelemetryType[];
    maxItems: number;
    maxBytes: number;
    timeoutMs: number;
  };
  dispatch: {
    postUri: string | undefined;
    minBatchSize: number;
    format: DispatchFormat;
  };
  otlp: {
    logs: SignalTarget | undefined;
    traces: SignalTarget | undefined;
    /** Undefined when metrics are off (LAMBDA_TELEMETRY_OTEL_METRICS=false). */
    metrics: SignalTarget | undefined;
    protocol: OtlpProtocol;
    compression: 'gzip' | 'none';
    /** PEM files with extra CA certificates. */
    certificateFiles: string[];
  };
  resource: {
    serviceName: string | undefined;
    attributes: Record<string, string>;
  };
  function: {
    name: string | undefined;
    version: string | undefined;
    memoryMb: number | undefined;
    region: string | undefined;
  };
  logs: {
    /** START/END/REPORT/INIT_* lines as log records. */
    platform: boolean;
    maxBodyChars: number;
  };
  queue: { maxEvents: number; maxBytes: number };
  export: {
    /** One export's whole budget, retries included (ms). */
    timeoutMs: number;
    /** Raw format: one request body stays under this (bytes). */
    maxRequestBytes: number;
    /** Records (or spans, or raw events) per export request. */
    maxBatchItems: number;
    /** At INVOKE, how long /next may wait for exports (ms). */
    invokeWaitMs: number;
  };
  /** OTLP metrics (README, Metrics); the raw format has none. */
  metrics: {
    /** LAMBDA_TELEMETRY_OTEL_METRICS (default on). */
    enabled: boolean;
    /**
     * LAMBDA_TELEMETRY_OTEL_METRICS_TEMPORALITY, else
     * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; default delta.
     */
    temporality: MetricsTemporality;
  };
  flush: FlushPolicy;
  flushIntervalMs: number;
  retry: { baseMs: number; maxMs: number };
  /**
   * At SHUTDOWN, an optional cap on the wait for late reports (ms from
   * SHUTDOWN); undefined: no cap beyond the deadline less the export reserve.
   */
  shutdownWaitMs: number | undefined;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** One clear line each; the caller logs them once. */
  warnings: string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `file`: the configuration file, already translated (file.ts). Precedence
 * per key: our variables (DISPATCH_*, LAMBDA_TELEMETRY_OTEL_*), then the
 * file; with a file, the standard OTEL_* variables only enter through its
 * `${...}` substitutions (as the declarative spec says); without one, they
 * apply; then the defaults.
 */
export function loadConfig(env: Env, file?: FileSettings): LoadedConfig {
  const warnings: string[] = [...(file?.problems ?? [])];
  const trimmed = (v: string | undefined): string | undefined =>
    v === undefined || v.trim() === '' ? undefined : v.trim();
  const ours = (key: string): string | undefined =>
    trimmed(env[ENV_PREFIX + key]) ?? trimmed(file?.ours[key]);
  /** The name to quote for a key: the variable, or the file key it came from. */
  const nameOf = (key: string): string =>
    trimmed(env[ENV_PREFIX + key]) === undefined && file?.origin[key]
      ? file.origin[key]
      : ENV_PREFIX + key;
  const dispatch = (key: string): string | undefined =>
    env[key] ?? file?.ours[key];
  const dispatchName = (key: string): string =>
    env[key] === undefined && file?.origin[key] ? file.origin[key] : key;
  // With a file, the standard variables come from the file only.
  const std: Env = file ? file.std : env;

  const int = (
    name: string,
    raw: string | undefined,
    def: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER
  ): number => {
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw)) {
      warnings.push(
        `${name}=${JSON.stringify(raw)} is not a decimal integer; using ${def}`
      );
      return def;
    }
    const n = Number(raw);
    if (n < min || n > max) {
      warnings.push(`${name}=${raw} is outside ${min}..${max}; using ${def}`);
      return def;
    }
    return n;
  };
  /** An integer with no default: unset (or invalid) is `undefined`. */
  const optionalInt = (
    name: string,
    raw: string | undefined,
    min: number,
    max: number
  ): number | undefined => {
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      warnings.push(
        `${name}=${JSON.stringify(raw)} is not a decimal integer in ${min}..${max}; left unset`
      );
      return undefined;
    }
    return Number(raw);
  };
  const bool = (
    name: string,
    raw: string | undefined,
    def = false
  ): boolean => {
    if (raw === undefined) return def;
    const v = raw.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    warnings.push(
      `${name}=${JSON.stringify(raw)} is not a boolean; using ${def}`
    );
    return def;
  };

  let logLevel: LogLevel = 'info';
  const rawLevel = ours('LOG_LEVEL');
  if (rawLevel !== undefined) {
    const v = rawLevel.toLowerCase();
    if (isLogLevel(v)) logLevel = v;
    else
      warnings.push(
        `${nameOf('LOG_LEVEL')}=${JSON.stringify(rawLevel)} is not one of debug, info, warn, error, silent; using info`
      );
  }

  // DISPATCH_MIN_BATCH_SIZE: a decimal integer >= 1. The AWS samples parse
  // "10abc" or "0x10" leniently or end up never dispatching; we refuse them.
  let minBatchSize = DEFAULT_MIN_BATCH_SIZE;
  const rawMin = dispatch('DISPATCH_MIN_BATCH_SIZE');
  if (rawMin !== undefined) {
    const t = rawMin.trim();
    if (/^\d+$/.test(t) && Number(t) >= 1 && Number.isSafeInteger(Number(t))) {
      minBatchSize = Number(t);
    } else {
      warnings.push(
        `${dispatchName('DISPATCH_MIN_BATCH_SIZE')}=${JSON.stringify(rawMin)} is not a decimal integer >= 1; using ${DEFAULT_MIN_BATCH_SIZE}`
      );
    }
  }

  let format: DispatchFormat = 'otlp';
  const rawFormat = dispatch('DISPATCH_FORMAT')?.trim();
  if (rawFormat !== undefined && rawFormat !== '') {
    const v = rawFormat.toLowerCase();
    if (v === 'otlp' || v === 'raw') format = v;
    else
      warnings.push(
        `${dispatchName('DISPATCH_FORMAT')}=${JSON.stringify(rawFormat)} is not otlp or raw; using otlp`
      );
  }

  const url = (name: string, raw: string | undefined): string | undefined => {
    const v = raw?.trim();
    if (!v) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol === 'http:' || u.protocol === 'https:') return v;
    } catch {
      // fall through
    }
    // The value may carry credentials in its user info or query: name the
    // variable, not the value.
    warnings.push(`${name} is not an http(s) URL; ignored`);
    return undefined;
  };
  const postUri = url(
    dispatchName('DISPATCH_POST_URI'),
    dispatch('DISPATCH_POST_URI')
  );

  let types: TelemetryType[] = [...TELEMETRY_TYPES];
  const rawTypes = ours('TYPES');
  if (rawTypes !== undefined) {
    const list = rawTypes
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== '');
    const bad = list.filter(
      (s) => !(TELEMETRY_TYPES as readonly string[]).includes(s)
    );
    if (bad.length > 0 || list.length === 0) {
      warnings.push(
        `${nameOf('TYPES')}=${JSON.stringify(rawTypes)} must list platform, function and/or extension; using platform,function,extension`
      );
    } else {
      types = [...new Set(list)] as TelemetryType[];
    }
  }

  const samLocal = env.AWS_SAM_LOCAL === 'true';
  const hostVar = ours('LISTENER_HOST');
  const host = hostVar ?? (samLocal ? '0.0.0.0' : SANDBOX_HOST);

  const metricsEnabled = bool(nameOf('METRICS'), ours('METRICS'), true);
  const otlp = otlpSettings(env, std, file, postUri, url, warnings);
  if (!metricsEnabled) otlp.metrics = undefined;
  let temporality: MetricsTemporality = 'delta';
  {
    const own = ours('METRICS_TEMPORALITY');
    const name =
      own !== undefined
        ? nameOf('METRICS_TEMPORALITY')
        : (file?.origin.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE ??
          'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE');
    const raw =
      own ?? trimmed(std.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE);
    if (raw !== undefined) {
      const v = raw.toLowerCase();
      if (v === 'delta' || v === 'cumulative') temporality = v;
      else
        warnings.push(
          `${name}=${JSON.stringify(raw)} is not delta or cumulative; using delta`
        );
    }
  }
  const resourceAttributes = keyValues(
    'OTEL_RESOURCE_ATTRIBUTES',
    std.OTEL_RESOURCE_ATTRIBUTES,
    warnings,
    true
  );
  const memory = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE?.trim();

  const severity = (key: string): number | undefined => {
    const raw = ours(key);
    if (raw === undefined) return undefined;
    const n = SEVERITY_FLOOR[raw.toUpperCase()];
    if (n === undefined) {
      warnings.push(
        `${nameOf(key)}=${JSON.stringify(raw)} is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL; no minimum`
      );
    }
    return n;
  };
  const list = (key: string): string[] =>
    (ours(key) ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');

  const managedInstances =
    env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances';
  let flush: FlushPolicy = 'next-invoke';
  const rawFlush = ours('FLUSH');
  if (rawFlush !== undefined) {
    const v = rawFlush.toLowerCase();
    if (v !== 'next-invoke' && v !== 'end') {
      warnings.push(
        `${nameOf('FLUSH')}=${JSON.stringify(rawFlush)} is not next-invoke or end; using next-invoke`
      );
    } else if (v === 'end' && managedInstances) {
      // Managed Instances have no INVOKE and no runtimeDone to wait for.
      warnings.push(
        `${nameOf('FLUSH')}=end is not available on Lambda Managed Instances; using next-invoke (with the timer)`
      );
    } else {
      flush = v;
    }
  }
  const retryMaxMs = int(
    nameOf('RETRY_MAX_MS'),
    ours('RETRY_MAX_MS'),
    DEFAULT_RETRY_MAX_MS,
    1,
    60_000
  );

  const config: Config = {
    runtimeApi: env.AWS_LAMBDA_RUNTIME_API?.trim() || undefined,
    logLevel,
    strict: bool(nameOf('STRICT'), ours('STRICT')),
    disabled: bool(nameOf('DISABLED'), ours('DISABLED')),
    filters: {
      functionMinSeverity: severity('FUNCTION_MIN_SEVERITY'),
      extensionMinSeverity: severity('EXTENSION_MIN_SEVERITY'),
      include: list('INCLUDE_EVENTS'),
      exclude: list('EXCLUDE_EVENTS'),
    },
    managedInstances,
    snapStart: env.AWS_LAMBDA_INITIALIZATION_TYPE === 'snap-start',
    listener: {
      host,
      hostOverridden: hostVar !== undefined || samLocal,
      port: int(nameOf('LISTENER_PORT'), ours('LISTENER_PORT'), 0, 0, 65_535),
    },
    subscription: {
      types,
      maxItems: int(
        nameOf('BUFFER_MAX_ITEMS'),
        ours('BUFFER_MAX_ITEMS'),
        DEFAULT_BUFFERING.maxItems,
        BUFFER_LIMITS.maxItems.min,
        BUFFER_LIMITS.maxItems.max
      ),
      maxBytes: int(
        nameOf('BUFFER_MAX_BYTES'),
        ours('BUFFER_MAX_BYTES'),
        DEFAULT_BUFFERING.maxBytes,
        BUFFER_LIMITS.maxBytes.min,
        BUFFER_LIMITS.maxBytes.max
      ),
      timeoutMs: int(
        nameOf('BUFFER_TIMEOUT_MS'),
        ours('BUFFER_TIMEOUT_MS'),
        DEFAULT_BUFFERING.timeoutMs,
        BUFFER_LIMITS.timeoutMs.min,
        BUFFER_LIMITS.timeoutMs.max
      ),
    },
    dispatch: { postUri, minBatchSize, format },
    otlp,
    resource: {
      serviceName: std.OTEL_SERVICE_NAME?.trim() || undefined,
      attributes: resourceAttributes,
    },
    function: {
      name: env.AWS_LAMBDA_FUNCTION_NAME || undefined,
      version: env.AWS_LAMBDA_FUNCTION_VERSION || undefined,
      memoryMb: memory && /^\d+$/.test(memory) ? Number(memory) : undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    },
    logs: {
      platform: bool(nameOf('PLATFORM_LOGS'), ours('PLATFORM_LOGS'), true),
      maxBodyChars: int(
        nameOf('MAX_LOG_CHARS'),
        ours('MAX_LOG_CHARS'),
        DEFAULT_MAX_LOG_CHARS,
        64,
        16_777_216
      ),
    },
    queue: {
      maxEvents: int(
        nameOf('MAX_QUEUE_EVENTS'),
        ours('MAX_QUEUE_EVENTS'),
        DEFAULT_MAX_QUEUE_EVENTS,
        1
      ),
      maxBytes: int(
        nameOf('MAX_QUEUE_BYTES'),
        ours('MAX_QUEUE_BYTES'),
        DEFAULT_MAX_QUEUE_BYTES,
        1_024
      ),
    },
    export: {
      timeoutMs:
        ours('EXPORT_TIMEOUT_MS') !== undefined
          ? int(
              nameOf('EXPORT_TIMEOUT_MS'),
              ours('EXPORT_TIMEOUT_MS'),
              DEFAULT_EXPORT_TIMEOUT_MS,
              1,
              600_000
            )
          : int(
              file?.origin.OTEL_EXPORTER_OTLP_TIMEOUT ??
                'OTEL_EXPORTER_OTLP_TIMEOUT',
              std.OTEL_EXPORTER_OTLP_TIMEOUT?.trim() || undefined,
              DEFAULT_EXPORT_TIMEOUT_MS,
              1,
              600_000
            ),
      maxRequestBytes: int(
        nameOf('MAX_REQUEST_BYTES'),
        ours('MAX_REQUEST_BYTES'),
        DEFAULT_MAX_REQUEST_BYTES,
        1_024
      ),
      maxBatchItems: int(
        nameOf('MAX_EXPORT_BATCH_SIZE'),
        ours('MAX_EXPORT_BATCH_SIZE'),
        DEFAULT_MAX_EXPORT_BATCH_SIZE,
        1
      ),
      invokeWaitMs: int(
        nameOf('INVOKE_EXPORT_WAIT_MS'),
        ours('INVOKE_EXPORT_WAIT_MS'),
        DEFAULT_INVOKE_EXPORT_WAIT_MS,
        0,
        600_000
      ),
    },
    metrics: { enabled: metricsEnabled, temporality },
    flush,
    retry: {
      baseMs: Math.min(
        retryMaxMs,
        int(
          nameOf('RETRY_BASE_MS'),
          ours('RETRY_BASE_MS'),
          DEFAULT_RETRY_BASE_MS,
          1,
          60_000
        )
      ),
      maxMs: retryMaxMs,
    },
    flushIntervalMs: int(
      nameOf('FLUSH_INTERVAL_MS'),
      ours('FLUSH_INTERVAL_MS'),
      DEFAULT_FLUSH_INTERVAL_MS,
      1,
      3_600_000
    ),
    // Unset: late reports are waited for until the deadline less the
    // final export's reserve (flush-policy.ts); set, the wait ends sooner.
    shutdownWaitMs: optionalInt(
      nameOf('SHUTDOWN_WAIT_MS'),
      ours('SHUTDOWN_WAIT_MS'),
      0,
      2_000
    ),
  };
  return { config: deepFreeze(config), warnings };
}

/**
 * The OTLP endpoints, one table (README "Where OTLP goes"), highest first:
 * DISPATCH_POST_URI (a base URL; /v1/logs, /v1/traces and /v1/metrics appended), the
 * per-signal OTEL_EXPORTER_OTLP_{LOGS,TRACES}_ENDPOINT (full URLs), then
 * OTEL_EXPORTER_OTLP_ENDPOINT (a base URL).
 *
 * Headers: the standard OTEL_EXPORTER_OTLP_*HEADERS were written for the
 * function's own collector, so they go only to an endpoint that came from
 * the standard variables; DISPATCH_POST_URI gets ours
 * (LAMBDA_TELEMETRY_OTEL_HEADERS) and never the function's API keys.
 */
function otlpSettings(
  env: Env,
  std: Env,
  file: FileSettings | undefined,
  postUri: string | undefined,
  url: (name: string, raw: string | undefined) => string | undefined,
  warnings: string[]
): Config['otlp'] {
  // Onto the base's path, not its end: a base with a query string (some
  // receivers take a key there) keeps it after /v1/logs.
  const join = (base: string, path: string): string => {
    const u = new URL(base);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/${path}`;
    return u.href;
  };
  const general = url(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    std.OTEL_EXPORTER_OTLP_ENDPOINT
  );
  const ourHeaders = keyValues(
    `${ENV_PREFIX}HEADERS`,
    env[`${ENV_PREFIX}HEADERS`] ?? file?.ours.HEADERS,
    warnings,
    false
  );
  const stdHeaders = keyValues(
    'OTEL_EXPORTER_OTLP_HEADERS',
    std.OTEL_EXPORTER_OTLP_HEADERS,
    warnings,
    false
  );
  const target = (
    signal: 'LOGS' | 'TRACES' | 'METRICS',
    path: string
  ): SignalTarget | undefined => {
    if (postUri !== undefined) {
      return { url: join(postUri, path), headers: ourHeaders };
    }
    const perSignal = url(
      file?.origin[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] ??
        `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`,
      std[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]
    );
    const u =
      perSignal ?? (general !== undefined ? join(general, path) : undefined);
    if (u === undefined) return undefined;
    const own = keyValues(
      `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
      std[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`],
      warnings,
      false
    );
    return { url: u, headers: { ...stdHeaders, ...own } };
  };

  const pick = (
    ourKey: string,
    stdKey: string
  ): [string, string] | undefined => {
    const o = env[ENV_PREFIX + ourKey]?.trim();
    if (o) return [ENV_PREFIX + ourKey, o];
    const s = std[stdKey]?.trim();
    return s ? [file?.origin[stdKey] ?? stdKey, s] : undefined;
  };
  let protocol: OtlpProtocol = 'http/protobuf';
  const p = pick('PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (p) {
    const v = p[1].toLowerCase();
    if (v === 'http/protobuf' || v === 'http/json') protocol = v;
    else
      warnings.push(
        `${p[0]}=${JSON.stringify(p[1])} is not http/protobuf or http/json; using http/protobuf`
      );
  }
  let compression: 'gzip' | 'none' = 'none';
  const c = pick('COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION');
  if (c) {
    const v = c[1].toLowerCase();
    if (v === 'gzip' || v === 'none') compression = v;
    else
      warnings.push(
        `${c[0]}=${JSON.stringify(c[1])} is not gzip or none; using none`
      );
  }
  const certificateFiles = [
    env[`${ENV_PREFIX}CERTIFICATE`] ?? file?.ours.CERTIFICATE,
    std.OTEL_EXPORTER_OTLP_CERTIFICATE,
    std.OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
    std.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    std.OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
  ]
    .map((f) => f?.trim())
    .filter((f): f is string => !!f);
  return {
    logs: target('LOGS', 'v1/logs'),
    traces: target('TRACES', 'v1/traces'),
    metrics: target('METRICS', 'v1/metrics'),
    protocol,
    compression,
    certificateFiles: [...new Set(certificateFiles)],
  };
}

/**
 * `key=value,key2=value2` with percent-encoded values (the OTel spec's
 * format for headers and resource attributes). A bad entry is named by its
 * key only when values are secrets (headers).
 */
export function keyValues(
  name: string,
  raw: string | undefined,
  warnings: string[],
  showValues: boolean
): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return out;
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (eq < 0 || key === '') {
      const what = showValues ? ` (${JSON.stringify(part.trim())})` : '';
      warnings.push(
        `${name} has an entry that is not key=value${what}; skipped`
      );
      continue;
    }
    const value = part.slice(eq + 1).trim();
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent(key);
      v = decodeURIComponent(value);
    } catch {
      warnings.push(
        `${name} entry ${JSON.stringify(key)} is not valid percent-encoding; skipped`
      );
      continue;
    }
    // Headers (the entries whose values are secret): an HTTP client refuses
    // a name that is not a token or a value with a control character, and
    // every export would fail with it (RFC 9110 §5.1, §5.5).
    if (!showValues && (!HEADER_NAME.test(k) || HEADER_VALUE_BAD.test(v))) {
      warnings.push(
        `${name} entry ${HEADER_NAME.test(k) ? JSON.stringify(k) : `#${Object.keys(out).length + 1}`} is not a valid HTTP header; skipped`
      );
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** An HTTP field name: a token (RFC 9110 §5.1). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters other than tab are not allowed in a field value. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the rule
const HEADER_VALUE_BAD = /[\x00-\x08\x0a-\x1f\x7f]/;

/** The severity numbers of the names a minimum may take (otel/severity.ts). */
const SEVERITY_FLOOR: Readonly<Record<string, number | undefined>> =
  Object.fromEntries(MIN_SEVERITY_NAMES.map((n) => [n, SEVERITY_BY_NAME[n]]));

function deepFreeze<T>(o: T): Readonly<T> {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Where the configuration file is: LAMBDA_TELEMETRY_OTEL_CONFIG_FILE, else
 * the documented default path. Never OTEL_CONFIG_FILE: that one belongs to
 * the function's own SDK.
 */
export function configFilePath(env: Env): { path: string; explicit: boolean } {
  const explicit = env[`${ENV_PREFIX}CONFIG_FILE`]?.trim();
  return explicit
    ? { path: explicit, explicit: true }
    : { path: DEFAULT_CONFIG_FILE, explicit: false };
}
