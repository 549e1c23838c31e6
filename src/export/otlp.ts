/**
 * The official OTLP/HTTP exporters, built with every option explicit:
 * `@opentelemetry/exporter-logs-otlp-proto` / `-http` and their trace
 * siblings. They serialize, compress, send over node:http(s) with a
 * keep-alive agent and retry (429/502/503/504 and network errors: from 1 s,
 * x1.5, up to 5 retries within `timeoutMillis`, Retry-After honoured;
 * ecosystem.md B.2).
 *
 * They also read the process's OTEL_EXPORTER_OTLP_* variables whatever they
 * are given (ecosystem.md B.2b): the extension's entry removes those from
 * its own environment once the configuration has read them (main.ts): the
 * function's headers never reach DISPATCH_POST_URI, and its timeout and
 * compression apply only where our configuration says they do (README,
 * Configuration: as fallbacks of our own settings).
 */
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type OtlpSignal = 'logs' | 'traces';

export interface SignalTarget {
  /** The full per-signal URL (…/v1/logs, …/v1/traces). */
  url: string;
  headers: Readonly<Record<string, string>>;
}

export interface OtlpExporterOptions {
  logs: SignalTarget | undefined;
  traces: SignalTarget | undefined;
  protocol: OtlpProtocol;
  compression: 'gzip' | 'none';
  /** The exporter's whole budget for one export, retries included (ms). */
  timeoutMs: number;
  /** Requests of one signal in flight at once (past it export() fails). */
  concurrencyLimit: number;
  /** Extra CA certificates (PEM), on top of Node's defaults. */
  ca: readonly string[];
}

export interface OtlpExporters {
  logs?: LogRecordExporter;
  traces?: SpanExporter;
}

/** One exporter per signal that has an endpoint; none for the others. */
export function createOtlpExporters(o: OtlpExporterOptions): OtlpExporters {
  const json = o.protocol === 'http/json';
  const base = (target: SignalTarget) => ({
    url: target.url,
    headers: { ...target.headers },
    compression: o.compression as never,
    timeoutMillis: o.timeoutMs,
    concurrencyLimit: o.concurrencyLimit,
    // Passing `ca` replaces Node's store: the defaults are added back.
    httpAgentOptions: {
      keepAlive: true,
      ...(o.ca.length > 0 ? { ca: [...defaultCAs(), ...o.ca] } : {}),
    },
  });
  const out: OtlpExporters = {};
  if (o.logs) {
    out.logs = json
      ? new JsonLogExporter(base(o.logs))
      : new ProtoLogExporter(base(o.logs));
  }
  if (o.traces) {
    out.traces = json
      ? new JsonTraceExporter(base(o.traces))
      : new ProtoTraceExporter(base(o.traces));
  }
  return out;
}

/** Node's CA store including NODE_EXTRA_CA_CERTS (passing `ca` replaces it). */
function defaultCAs(): string[] {
  // Loaded here, not at the top: only a custom certificate needs it.
  const tls = process.getBuiltinModule('node:tls') as typeof import('node:tls');
  const get = (tls as { getCACertificates?: (t?: string) => string[] })
    .getCACertificates;
  return get ? get('default') : [...tls.rootCertificates];
}
