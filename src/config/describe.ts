/**
 * The extension's one `effective configuration` line, logged at info once
 * at start. It goes where every extension line goes: the function's log
 * group and, through the Telemetry API `extension` stream, the user's own
 * backend. So it carries no secret: endpoints as scheme://host:port/path
 * only (user info and query strings can hold API keys), header names
 * without their values, and no file contents.
 */
import { severityShortName } from '../otel/severity.js';
import type { Config, SignalTarget } from './config.js';

/**
 * The fields of the `effective configuration` line (see above); optional
 * ones are left out when they do not apply or are unset.
 */
export interface EffectiveConfig {
  /** The configuration file read, or `none`. */
  file: string;
  format: Config['dispatch']['format'];
  /**
   * Per signal (OTLP: logs, traces, metrics) or the one POST URL (raw);
   * `none` = discarded (metrics: not sent); metrics `off` = turned off.
   */
  endpoints: Record<string, string>;
  /** Header names sent, per endpoint; never their values. */
  headers: Record<string, string[]>;
  protocol?: Config['otlp']['protocol'];
  compression?: Config['otlp']['compression'];
  /** OTLP: the metrics' aggregation temporality. */
  metricsTemporality?: Config['metrics']['temporality'];
  flush: Config['flush'];
  flushIntervalMs: number;
  minBatchSize: number;
  maxExportBatchSize: number;
  types: string[];
  platformLogs: boolean;
  functionMinSeverity?: string;
  extensionMinSeverity?: string;
  includeEvents?: string[];
  excludeEvents?: string[];
  strict?: true;
  disabled?: true;
}

/**
 * `url` as scheme://host:port/path: no user info, query or fragment, and
 * the port spelled out even when it is the scheme's default, so the line
 * says where the bytes go without anything that may authenticate them.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Config only keeps http(s) URLs; anything else is not quoted at all.
    return '(not a URL)';
  }
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.protocol}//${u.hostname}:${port}${u.pathname}`;
}

/**
 * The `effective configuration` of `config`; `file` is the path of the
 * configuration file read, undefined when none. Never throws.
 */
export function describeConfig(
  config: Readonly<Config>,
  file: string | undefined
): EffectiveConfig {
  const endpoints: Record<string, string> = {};
  const headers: Record<string, string[]> = {};
  const put = (name: string, target: SignalTarget | undefined): void => {
    endpoints[name] = target ? redactUrl(target.url) : 'none';
    const names = Object.keys(target?.headers ?? {});
    if (names.length > 0) headers[name] = names;
  };
  const raw = config.dispatch.format === 'raw';
  if (raw) {
    // The raw format posts to DISPATCH_POST_URI with our headers only
    // (formats/raw.ts), which the loader put on the logs target.
    const uri = config.dispatch.postUri;
    put(
      'raw',
      uri === undefined
        ? undefined
        : { url: uri, headers: config.otlp.logs?.headers ?? {} }
    );
  } else {
    put('logs', config.otlp.logs);
    put('traces', config.otlp.traces);
    // 'off' when turned off; 'none' when on but no endpoint is configured.
    if (config.metrics.enabled) put('metrics', config.otlp.metrics);
    else endpoints.metrics = 'off';
  }
  const f = config.filters;
  const severity = (n: number | undefined): string | undefined =>
    n === undefined ? undefined : (severityShortName(n) ?? String(n));
  const functionMinSeverity = severity(f.functionMinSeverity);
  const extensionMinSeverity = severity(f.extensionMinSeverity);
  return {
    file: file ?? 'none',
    format: config.dispatch.format,
    endpoints,
    headers,
    ...(raw
      ? {}
      : {
          protocol: config.otlp.protocol,
          compression: config.otlp.compression,
          metricsTemporality: config.metrics.temporality,
        }),
    flush: config.flush,
    flushIntervalMs: config.flushIntervalMs,
    minBatchSize: config.dispatch.minBatchSize,
    maxExportBatchSize: config.export.maxBatchItems,
    types: [...config.subscription.types],
    platformLogs: config.logs.platform,
    ...(functionMinSeverity ? { functionMinSeverity } : {}),
    ...(extensionMinSeverity ? { extensionMinSeverity } : {}),
    ...(f.include.length > 0 ? { includeEvents: [...f.include] } : {}),
    ...(f.exclude.length > 0 ? { excludeEvents: [...f.exclude] } : {}),
    ...(config.strict ? { strict: true as const } : {}),
    ...(config.disabled ? { disabled: true as const } : {}),
  };
}
