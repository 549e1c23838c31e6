/**
 * The one place that reads the environment. Produces a frozen, typed
 * configuration plus the warnings to log; it never throws, because a bad
 * setting must not take the function down (fail open: warn once, naming the
 * variable and the value, and use the default).
 */
import {
  DEFAULT_CONFIG_FILE,
  DEFAULT_MIN_BATCH_SIZE,
  ENV_PREFIX,
  SANDBOX_HOST,
} from '../constants.js';
import { MIN_SEVERITY_NAMES, SEVERITY_BY_NAME } from '../otel/severity.js';
import type { LogLevel } from '../util/log.js';
import { keyValues, otlpSettings } from './endpoints.js';
import type { FileSettings } from './file.js';
import { setting } from './settings.js';

export { keyValues };

/**
 * DISPATCH_FORMAT: OTLP/HTTP through the OpenTelemetry SDK, or the raw
 * JSON POST of the AWS samples (README, "Configuration").
 */
export type DispatchFormat = 'otlp' | 'raw';
/**
 * `next-invoke`: export at each INVOKE, while the handler runs (the seed's
 * way). `end`: wait for this invocation's runtimeDone, then export before
 * calling /next (fresher data, billed time).
 */
export type FlushPolicy = 'next-invoke' | 'end';
/** OTEL_EXPORTER_OTLP_PROTOCOL: the OTLP/HTTP encoding (README, "Where OTLP goes"). */
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
/** The Telemetry API streams one may subscribe to (lambda-apis.md §2.1). */
export type TelemetryType = 'platform' | 'function' | 'extension';
const TELEMETRY_TYPES: readonly TelemetryType[] = [
  'platform',
  'function',
  'extension',
];

/**
 * What is dropped on receipt, before mapping (lambda/filter.ts; README,
 * "Configuration").
 */
export interface Filters {
  /** Function / extension records below this severity number are dropped on receipt. */
  functionMinSeverity: number | undefined;
  extensionMinSeverity: number | undefined;
  /** Event types (a trailing `*` matches a prefix); empty = all. */
  include: string[];
  exclude: string[];
}

/**
 * The whole configuration, as `loadConfig` returns it (frozen). Durations
 * are ms, sizes bytes, unless a field says otherwise.
 */
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

/**
 * What `loadConfig` returns: it never throws; every rejected value is a
 * warning and its setting's default.
 */
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
  /** An integer setting of ours, by its row in settings.ts. */
  const intSetting = (key: string): number => {
    const row = setting(key);
    return int(
      nameOf(key),
      ours(key),
      row.default as number,
      row.min ?? 0,
      row.max
    );
  };
  const optionalIntSetting = (key: string): number | undefined => {
    const row = setting(key);
    return optionalInt(
      nameOf(key),
      ours(key),
      row.min ?? 0,
      row.max ?? Number.MAX_SAFE_INTEGER
    );
  };
  const boolSetting = (key: string): boolean =>
    bool(nameOf(key), ours(key), setting(key).default as boolean);
  /**
   * A `choice` setting, any case, checked against its row's `values` in
   * settings.ts. Unset: undefined. Not one of them: a warning naming `name`
   * and the values, and undefined (the caller uses the row's default).
   */
  const choice = <T extends string>(
    key: string,
    name: string,
    raw: string | undefined
  ): T | undefined => {
    if (raw === undefined) return undefined;
    const row = setting(key);
    const values = row.values ?? [];
    const v = raw.toLowerCase();
    if (values.includes(v)) return v as T;
    const allowed =
      values.length === 2
        ? `${values[0]} or ${values[1]}`
        : `one of ${values.join(', ')}`;
    warnings.push(
      `${name}=${JSON.stringify(raw)} is not ${allowed}; using ${String(row.default)}`
    );
    return undefined;
  };
  const choiceDefault = <T extends string>(key: string): T =>
    setting(key).default as T;

  const logLevel =
    choice<LogLevel>('LOG_LEVEL', nameOf('LOG_LEVEL'), ours('LOG_LEVEL')) ??
    choiceDefault<LogLevel>('LOG_LEVEL');

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

  const metricsEnabled = boolSetting('METRICS');
  const otlp = otlpSettings(env, std, file, postUri, url, warnings);
  if (!metricsEnabled) otlp.metrics = undefined;
  let temporality: MetricsTemporality;
  {
    const own = ours('METRICS_TEMPORALITY');
    const name =
      own !== undefined
        ? nameOf('METRICS_TEMPORALITY')
        : (file?.origin.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE ??
          'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE');
    const standard = trimmed(
      std.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
    );
    // The spec's `lowmemory` (delta for counters and histograms, cumulative
    // for up-down counters) is what our delta preference already does.
    const raw =
      own ?? (standard?.toLowerCase() === 'lowmemory' ? 'delta' : standard);
    temporality =
      choice<MetricsTemporality>('METRICS_TEMPORALITY', name, raw) ??
      choiceDefault<MetricsTemporality>('METRICS_TEMPORALITY');
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
  let flush = choiceDefault<FlushPolicy>('FLUSH');
  const chosenFlush = choice<FlushPolicy>(
    'FLUSH',
    nameOf('FLUSH'),
    ours('FLUSH')
  );
  if (chosenFlush === 'end' && managedInstances) {
    // Managed Instances have no INVOKE and no runtimeDone to wait for.
    warnings.push(
      `${nameOf('FLUSH')}=end is not available on Lambda Managed Instances; using next-invoke (with the timer)`
    );
  } else if (chosenFlush !== undefined) {
    flush = chosenFlush;
  }
  const retryMaxMs = intSetting('RETRY_MAX_MS');

  const config: Config = {
    runtimeApi: env.AWS_LAMBDA_RUNTIME_API?.trim() || undefined,
    logLevel,
    strict: boolSetting('STRICT'),
    disabled: boolSetting('DISABLED'),
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
      port: intSetting('LISTENER_PORT'),
    },
    subscription: {
      types,
      maxItems: intSetting('BUFFER_MAX_ITEMS'),
      maxBytes: intSetting('BUFFER_MAX_BYTES'),
      timeoutMs: intSetting('BUFFER_TIMEOUT_MS'),
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
      platform: boolSetting('PLATFORM_LOGS'),
      maxBodyChars: intSetting('MAX_LOG_CHARS'),
    },
    queue: {
      maxEvents: intSetting('MAX_QUEUE_EVENTS'),
      maxBytes: intSetting('MAX_QUEUE_BYTES'),
    },
    export: {
      timeoutMs:
        ours('EXPORT_TIMEOUT_MS') !== undefined
          ? intSetting('EXPORT_TIMEOUT_MS')
          : int(
              file?.origin.OTEL_EXPORTER_OTLP_TIMEOUT ??
                'OTEL_EXPORTER_OTLP_TIMEOUT',
              std.OTEL_EXPORTER_OTLP_TIMEOUT?.trim() || undefined,
              setting('EXPORT_TIMEOUT_MS').default as number,
              setting('EXPORT_TIMEOUT_MS').min ?? 1,
              setting('EXPORT_TIMEOUT_MS').max
            ),
      maxRequestBytes: intSetting('MAX_REQUEST_BYTES'),
      maxBatchItems: intSetting('MAX_EXPORT_BATCH_SIZE'),
      invokeWaitMs: intSetting('INVOKE_EXPORT_WAIT_MS'),
    },
    metrics: { enabled: metricsEnabled, temporality },
    flush,
    retry: {
      baseMs: Math.min(retryMaxMs, intSetting('RETRY_BASE_MS')),
      maxMs: retryMaxMs,
    },
    flushIntervalMs: intSetting('FLUSH_INTERVAL_MS'),
    // Unset: late reports are waited for until the deadline less the
    // final export's reserve (flush-policy.ts); set, the wait ends sooner.
    shutdownWaitMs: optionalIntSetting('SHUTDOWN_WAIT_MS'),
  };
  return { config: deepFreeze(config), warnings };
}

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
