/**
 * Where OTLP goes and with which headers, protocol, compression and CA
 * files: the endpoint rules of the README's "Where OTLP goes", apart from
 * the rest of the loader so they can be read (and changed) as one table.
 * Like the loader, nothing here throws: a bad value is a warning.
 */
import { ENV_PREFIX } from '../constants.js';
import type { Config, OtlpProtocol, SignalTarget } from './config.js';
import type { FileSettings } from './file.js';

type Env = Readonly<Record<string, string | undefined>>;

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
export function otlpSettings(
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
