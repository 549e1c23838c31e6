/**
 * The one place that reads the environment. Produces a frozen, typed
 * configuration plus the warnings to log; it never throws, because a bad
 * setting must not take the function down (fail open: warn once, naming the
 * variable and the value, and use the default).
 */
import {
  BUFFER_LIMITS,
  DEFAULT_BUFFERING,
  DEFAULT_EXPORT_TIMEOUT_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_LOG_CHARS,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_QUEUE_EVENTS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  DEFAULT_MIN_BATCH_SIZE,
  DEFAULT_SHUTDOWN_WAIT_MS,
  ENV_PREFIX,
  SANDBOX_HOST,
} from '../constants.js';
import { isLogLevel, type LogLevel } from '../util/log.js';

export type DispatchFormat = 'otlp' | 'raw';
/**
 * `next-invoke`: export at each INVOKE, while the handler runs (the seed's
 * way). `end`: wait for this invocation's runtimeDone, then export before
 * calling /next (fresher data, billed time).
 */
export type FlushPolicy = 'next-invoke' | 'end';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface SignalTarget {
  url: string;
  headers: Readonly<Record<string, string>>;
}
export type TelemetryType = 'platform' | 'function' | 'extension';
const TELEMETRY_TYPES: readonly TelemetryType[] = [
  'platform',
  'function',
  'extension',
];

export interface Config {
  logLevel: LogLevel;
  strict: boolean;
  /** AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances: no INVOKE. */
  managedInstances: boolean;
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
  export: { timeoutMs: number; maxRequestBytes: number };
  flush: FlushPolicy;
  flushIntervalMs: number;
  retry: { baseMs: number; maxMs: number };
  shutdownWaitMs: number;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** One clear line each; the caller logs them once. */
  warnings: string[];
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): LoadedConfig {
  const warnings: string[] = [];
  const ours = (key: string): string | undefined => {
    const v = env[ENV_PREFIX + key];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

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
        `${ENV_PREFIX}LOG_LEVEL=${JSON.stringify(rawLevel)} is not one of debug, info, warn, error, silent; using info`
      );
  }

  // DISPATCH_MIN_BATCH_SIZE: a decimal integer >= 1. The AWS samples parse
  // "10abc" or "0x10" leniently or end up never dispatching; we refuse them.
  let minBatchSize = DEFAULT_MIN_BATCH_SIZE;
  const rawMin = env.DISPATCH_MIN_BATCH_SIZE;
  if (rawMin !== undefined) {
    const t = rawMin.trim();
    if (/^\d+$/.test(t) && Number(t) >= 1 && Number.isSafeInteger(Number(t))) {
      minBatchSize = Number(t);
    } else {
      warnings.push(
        `DISPATCH_MIN_BATCH_SIZE=${JSON.stringify(rawMin)} is not a decimal integer >= 1; using ${DEFAULT_MIN_BATCH_SIZE}`
      );
    }
  }

  let format: DispatchFormat = 'otlp';
  const rawFormat = env.DISPATCH_FORMAT?.trim();
  if (rawFormat !== undefined && rawFormat !== '') {
    const v = rawFormat.toLowerCase();
    if (v === 'otlp' || v === 'raw') format = v;
    else
      warnings.push(
        `DISPATCH_FORMAT=${JSON.stringify(rawFormat)} is not otlp or raw; using otlp`
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
  const postUri = url('DISPATCH_POST_URI', env.DISPATCH_POST_URI);

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
        `${ENV_PREFIX}TYPES=${JSON.stringify(rawTypes)} must list platform, function and/or extension; using platform,function,extension`
      );
    } else {
      types = [...new Set(list)] as TelemetryType[];
    }
  }

  const samLocal = env.AWS_SAM_LOCAL === 'true';
  const hostVar = ours('LISTENER_HOST');
  const host = hostVar ?? (samLocal ? '0.0.0.0' : SANDBOX_HOST);

  const otlp = otlpSettings(env, postUri, url, warnings);
  const resourceAttributes = keyValues(
    'OTEL_RESOURCE_ATTRIBUTES',
    env.OTEL_RESOURCE_ATTRIBUTES,
    warnings,
    true
  );
  const memory = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE?.trim();

  const managedInstances =
    env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances';
  let flush: FlushPolicy = 'next-invoke';
  const rawFlush = ours('FLUSH');
  if (rawFlush !== undefined) {
    const v = rawFlush.toLowerCase();
    if (v !== 'next-invoke' && v !== 'end') {
      warnings.push(
        `${ENV_PREFIX}FLUSH=${JSON.stringify(rawFlush)} is not next-invoke or end; using next-invoke`
      );
    } else if (v === 'end' && managedInstances) {
      // Managed Instances have no INVOKE and no runtimeDone to wait for.
      warnings.push(
        `${ENV_PREFIX}FLUSH=end is not available on Lambda Managed Instances; using next-invoke (with the timer)`
      );
    } else {
      flush = v;
    }
  }
  const retryMaxMs = int(
    `${ENV_PREFIX}RETRY_MAX_MS`,
    ours('RETRY_MAX_MS'),
    DEFAULT_RETRY_MAX_MS,
    1,
    60_000
  );

  const config: Config = {
    logLevel,
    strict: bool(`${ENV_PREFIX}STRICT`, ours('STRICT')),
    managedInstances,
    listener: {
      host,
      hostOverridden: hostVar !== undefined || samLocal,
      port: int(
        `${ENV_PREFIX}LISTENER_PORT`,
        ours('LISTENER_PORT'),
        0,
        0,
        65_535
      ),
    },
    subscription: {
      types,
      maxItems: int(
        `${ENV_PREFIX}BUFFER_MAX_ITEMS`,
        ours('BUFFER_MAX_ITEMS'),
        DEFAULT_BUFFERING.maxItems,
        BUFFER_LIMITS.maxItems.min,
        BUFFER_LIMITS.maxItems.max
      ),
      maxBytes: int(
        `${ENV_PREFIX}BUFFER_MAX_BYTES`,
        ours('BUFFER_MAX_BYTES'),
        DEFAULT_BUFFERING.maxBytes,
        BUFFER_LIMITS.maxBytes.min,
        BUFFER_LIMITS.maxBytes.max
      ),
      timeoutMs: int(
        `${ENV_PREFIX}BUFFER_TIMEOUT_MS`,
        ours('BUFFER_TIMEOUT_MS'),
        DEFAULT_BUFFERING.timeoutMs,
        BUFFER_LIMITS.timeoutMs.min,
        BUFFER_LIMITS.timeoutMs.max
      ),
    },
    dispatch: { postUri, minBatchSize, format },
    otlp,
    resource: {
      serviceName: env.OTEL_SERVICE_NAME?.trim() || undefined,
      attributes: resourceAttributes,
    },
    function: {
      name: env.AWS_LAMBDA_FUNCTION_NAME || undefined,
      version: env.AWS_LAMBDA_FUNCTION_VERSION || undefined,
      memoryMb: memory && /^\d+$/.test(memory) ? Number(memory) : undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    },
    logs: {
      platform: bool(`${ENV_PREFIX}PLATFORM_LOGS`, ours('PLATFORM_LOGS'), true),
      maxBodyChars: int(
        `${ENV_PREFIX}MAX_LOG_CHARS`,
        ours('MAX_LOG_CHARS'),
        DEFAULT_MAX_LOG_CHARS,
        64,
        16_777_216
      ),
    },
    queue: {
      maxEvents: int(
        `${ENV_PREFIX}MAX_QUEUE_EVENTS`,
        ours('MAX_QUEUE_EVENTS'),
        DEFAULT_MAX_QUEUE_EVENTS,
        1
      ),
      maxBytes: int(
        `${ENV_PREFIX}MAX_QUEUE_BYTES`,
        ours('MAX_QUEUE_BYTES'),
        DEFAULT_MAX_QUEUE_BYTES,
        1_024
      ),
    },
    export: {
      timeoutMs:
        ours('EXPORT_TIMEOUT_MS') !== undefined
          ? int(
              `${ENV_PREFIX}EXPORT_TIMEOUT_MS`,
              ours('EXPORT_TIMEOUT_MS'),
              DEFAULT_EXPORT_TIMEOUT_MS,
              1,
              600_000
            )
          : int(
              'OTEL_EXPORTER_OTLP_TIMEOUT',
              env.OTEL_EXPORTER_OTLP_TIMEOUT?.trim() || undefined,
              DEFAULT_EXPORT_TIMEOUT_MS,
              1,
              600_000
            ),
      maxRequestBytes: int(
        `${ENV_PREFIX}MAX_REQUEST_BYTES`,
        ours('MAX_REQUEST_BYTES'),
        DEFAULT_MAX_REQUEST_BYTES,
        1_024
      ),
    },
    flush,
    retry: {
      baseMs: Math.min(
        retryMaxMs,
        int(
          `${ENV_PREFIX}RETRY_BASE_MS`,
          ours('RETRY_BASE_MS'),
          DEFAULT_RETRY_BASE_MS,
          1,
          60_000
        )
      ),
      maxMs: retryMaxMs,
    },
    flushIntervalMs: int(
      `${ENV_PREFIX}FLUSH_INTERVAL_MS`,
      ours('FLUSH_INTERVAL_MS'),
      DEFAULT_FLUSH_INTERVAL_MS,
      1,
      3_600_000
    ),
    shutdownWaitMs: int(
      `${ENV_PREFIX}SHUTDOWN_WAIT_MS`,
      ours('SHUTDOWN_WAIT_MS'),
      DEFAULT_SHUTDOWN_WAIT_MS,
      0,
      2_000
    ),
  };
  return { config: deepFreeze(config), warnings };
}

/**
 * The OTLP endpoints, one table (README "Where OTLP goes"), highest first:
 * DISPATCH_POST_URI (a base URL; /v1/logs and /v1/traces appended), the
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
  postUri: string | undefined,
  url: (name: string, raw: string | undefined) => string | undefined,
  warnings: string[]
): Config['otlp'] {
  const join = (base: string, path: string): string =>
    `${base.replace(/\/+$/, '')}/${path}`;
  const general = url(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    env.OTEL_EXPORTER_OTLP_ENDPOINT
  );
  const ourHeaders = keyValues(
    `${ENV_PREFIX}HEADERS`,
    env[`${ENV_PREFIX}HEADERS`],
    warnings,
    false
  );
  const stdHeaders = keyValues(
    'OTEL_EXPORTER_OTLP_HEADERS',
    env.OTEL_EXPORTER_OTLP_HEADERS,
    warnings,
    false
  );
  const target = (
    signal: 'LOGS' | 'TRACES',
    path: string
  ): SignalTarget | undefined => {
    if (postUri !== undefined) {
      return { url: join(postUri, path), headers: ourHeaders };
    }
    const perSignal = url(
      `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`,
      env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]
    );
    const u =
      perSignal ?? (general !== undefined ? join(general, path) : undefined);
    if (u === undefined) return undefined;
    const own = keyValues(
      `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
      env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`],
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
    const s = env[stdKey]?.trim();
    return s ? [stdKey, s] : undefined;
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
    env[`${ENV_PREFIX}CERTIFICATE`],
    env.OTEL_EXPORTER_OTLP_CERTIFICATE,
    env.OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
    env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
  ]
    .map((f) => f?.trim())
    .filter((f): f is string => !!f);
  return {
    logs: target('LOGS', 'v1/logs'),
    traces: target('TRACES', 'v1/traces'),
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
    try {
      out[decodeURIComponent(key)] = decodeURIComponent(value);
    } catch {
      warnings.push(
        `${name} entry ${JSON.stringify(key)} is not valid percent-encoding; skipped`
      );
    }
  }
  return out;
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
