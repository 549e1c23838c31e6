/**
 * The OTLP/HTTP exporters, composed of the same official parts as
 * `@opentelemetry/exporter-logs-otlp-proto` / `-http` and their trace
 * siblings: `OTLPExporterBase` over otlp-exporter-base's
 * `createOtlpHttpExportDelegate` (node:http(s) with a keep-alive agent,
 * gzip, the RetryingTransport: 429/502/503/504 and network errors retried
 * from 1 s, x1.5, up to 5 retries within `timeoutMillis`, Retry-After
 * honoured; ecosystem.md B.2), configured through the same
 * `convertLegacyHttpOptions` with every option explicit.
 *
 * The one difference from the exporter classes: their delegate serializes
 * the records inside `export()`, ours is handed records already serialized
 * by the same official serializer (otlp-transformer's Protobuf/Json
 * Logs/Trace serializers) when their batch was sealed (MinBatchProcessor),
 * so no record object waits in memory for an export to answer (README,
 * Performance: the exporter classes measured 50 MiB charged and 75,000
 * events/CPU-s in a 128 MiB function, against budgets of 50 and 90,000).
 *
 * The delegate also reads the process's OTEL_EXPORTER_OTLP_* variables
 * whatever it is given (ecosystem.md B.2b): the extension's entry removes
 * those from its own environment once the configuration has read them
 * (main.ts): the function's headers never reach DISPATCH_POST_URI, and its
 * timeout and compression apply only where our configuration says they do
 * (README, Configuration: as fallbacks of our own settings).
 */
import type { MeterProvider } from '@opentelemetry/api';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
  httpAgentFactoryFromOptions,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type {
  MetricsTemporality,
  OtlpProtocol,
  SignalTarget,
} from '../config/config.js';
import type { MetricsExporter } from '../pipeline/metric-reader.js';
import type {
  BatchExporter,
  BatchSerializers,
  SerializedBatch,
} from '../pipeline/min-batch-processor.js';

export type { OtlpProtocol, SignalTarget };
/** The signals our processor exports through OTLPExporterBase. */
export type OtlpSignal = 'logs' | 'traces';

/**
 * Every option of the exporters, passed explicitly (the SDK would otherwise
 * read the function's OTEL_* variables: README, "Where OTLP goes").
 */
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
  /** Where metrics go; none without it. */
  metrics?: SignalTarget | undefined;
  temporality?: MetricsTemporality;
  /**
   * Receives the exporters' own `otel.sdk.exporter.*` metrics (exported,
   * in flight, operation duration, with `error.type`).
   */
  meterProvider?: MeterProvider | undefined;
}

/** The exporters made: one per signal that has an endpoint. */
export interface OtlpExporters {
  logs?: BatchExporter;
  traces?: BatchExporter;
  metrics?: MetricsExporter;
  /**
   * Destroys every socket of the exporters' keep-alive agents (pooled or
   * in use); later requests open new ones. After a SnapStart restore.
   */
  dropConnections(): void;
}

/** What node:http(s).Agent offers that dropConnections() needs. */
interface DestroyableAgent {
  destroy(): void;
}

/** The official serializers for a protocol, as the processor seals batches. */
export function otlpSerializers(protocol: OtlpProtocol): BatchSerializers {
  const json = protocol === 'http/json';
  const logs = json ? JsonLogsSerializer : ProtobufLogsSerializer;
  const traces = json ? JsonTraceSerializer : ProtobufTraceSerializer;
  return {
    logs: (records) => logs.serializeRequest(records),
    traces: (spans) => traces.serializeRequest(spans),
  };
}

/** One exporter per signal that has an endpoint; none for the others. */
export function createOtlpExporters(o: OtlpExporterOptions): OtlpExporters {
  const json = o.protocol === 'http/json';
  // The transport makes its agent on first send, through this factory (the
  // same one the options would make): kept, so its sockets can be dropped.
  const agents: DestroyableAgent[] = [];
  const fromOptions = httpAgentFactoryFromOptions({
    keepAlive: true,
    ...(o.ca.length > 0 ? { ca: [...defaultCAs(), ...o.ca] } : {}),
  });
  const agentFactory = async (protocol: string) => {
    const agent = await fromOptions(protocol);
    agents.push(agent);
    return agent;
  };
  const contentType = json ? 'application/json' : 'application/x-protobuf';
  const make = (target: SignalTarget, signal: OtlpSignal): BatchExporter => {
    const official =
      signal === 'logs'
        ? json
          ? JsonLogsSerializer
          : ProtobufLogsSerializer
        : json
          ? JsonTraceSerializer
          : ProtobufTraceSerializer;
    const delegate = createOtlpHttpExportDelegate<SerializedBatch, unknown>(
      convertLegacyHttpOptions(
        {
          url: target.url,
          headers: { ...target.headers },
          compression: o.compression as never,
          timeoutMillis: o.timeoutMs,
          concurrencyLimit: o.concurrencyLimit,
          // Passing `ca` replaces Node's store: the defaults are added back.
          httpAgentOptions: agentFactory,
        },
        signal === 'logs' ? 'LOGS' : 'TRACES',
        signal === 'logs' ? 'v1/logs' : 'v1/traces',
        { 'Content-Type': contentType }
      ),
      {
        // Serialized when the batch was sealed, by the same serializer.
        serializeRequest: (batch) => batch.body,
        deserializeResponse: (data) => official.deserializeResponse(data),
      },
      signal === 'logs' ? 'otlp_http_log_exporter' : 'otlp_http_span_exporter',
      {
        name: signal === 'logs' ? 'log' : 'span',
        countItems: (batch) => batch.records,
      },
      o.meterProvider
    );
    return new OTLPExporterBase<SerializedBatch>(delegate);
  };
  const out: OtlpExporters = {
    // Node's Agent.destroy() ends its sockets and stays usable.
    dropConnections: () => {
      for (const agent of agents) agent.destroy();
    },
  };
  if (o.logs) out.logs = make(o.logs, 'logs');
  if (o.traces) out.traces = make(o.traces, 'traces');
  if (o.metrics) {
    // The official exporter class: metrics are few (a collection per
    // flush), so serializing inside export() costs nothing worth keeping
    // apart, and the class brings the temporality selectors. Every option
    // is explicit; OTEL_* is gone from the environment by then (main.ts).
    const MetricExporter = json ? JsonMetricExporter : ProtobufMetricExporter;
    out.metrics = new MetricExporter({
      url: o.metrics.url,
      headers: { ...o.metrics.headers },
      compression: o.compression as never,
      timeoutMillis: o.timeoutMs,
      concurrencyLimit: o.concurrencyLimit,
      httpAgentOptions: agentFactory,
      temporalityPreference:
        o.temporality === 'cumulative'
          ? AggregationTemporalityPreference.CUMULATIVE
          : AggregationTemporalityPreference.DELTA,
      ...(o.meterProvider ? { selfObsMeterProvider: o.meterProvider } : {}),
    });
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
