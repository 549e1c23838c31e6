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
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_QUEUE_EVENTS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MIN_BATCH_SIZE,
  DEFAULT_SHUTDOWN_WAIT_MS,
  ENV_PREFIX,
  SANDBOX_HOST,
} from '../constants.js';
import { isLogLevel, type LogLevel } from '../util/log.js';

export type DispatchFormat = 'raw';
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
  queue: { maxEvents: number; maxBytes: number };
  export: { timeoutMs: number; maxRequestBytes: number };
  flushIntervalMs: number;
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
  const bool = (name: string, raw: string | undefined): boolean => {
    if (raw === undefined) return false;
    const v = raw.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    warnings.push(
      `${name}=${JSON.stringify(raw)} is not a boolean; using false`
    );
    return false;
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

  const format: DispatchFormat = 'raw';
  const rawFormat = env.DISPATCH_FORMAT?.trim();
  if (
    rawFormat !== undefined &&
    rawFormat !== '' &&
    rawFormat.toLowerCase() !== 'raw'
  ) {
    warnings.push(
      `DISPATCH_FORMAT=${JSON.stringify(rawFormat)} is not supported (raw); using raw`
    );
  }

  let postUri: string | undefined = env.DISPATCH_POST_URI?.trim() || undefined;
  if (postUri !== undefined) {
    let ok = false;
    try {
      const u = new URL(postUri);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) {
      // The value may carry credentials in its user info or query: name the
      // variable, not the value.
      warnings.push(
        'DISPATCH_POST_URI is not an http(s) URL; telemetry will be discarded'
      );
      postUri = undefined;
    }
  }

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

  const config: Config = {
    logLevel,
    strict: bool(`${ENV_PREFIX}STRICT`, ours('STRICT')),
    managedInstances:
      env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances',
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
      timeoutMs: int(
        `${ENV_PREFIX}EXPORT_TIMEOUT_MS`,
        ours('EXPORT_TIMEOUT_MS'),
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

function deepFreeze<T>(o: T): Readonly<T> {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
