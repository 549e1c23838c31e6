/**
 * DISPATCH_FORMAT=otlp wired up: the mapper (events to SDK log records and
 * spans), our MinBatchProcessor with the official serializers, and the OTLP
 * exporters composed of the official parts (export/otlp.ts), from the
 * frozen configuration and the register response. Loaded after the first
 * `/next`, so none of it is init time.
 */
import type { Config } from '../config/config.js';
import {
  EXPORTS_IN_FLIGHT_PER_SIGNAL,
  EXTENSION_VERSION,
} from '../constants.js';
import {
  createOtlpExporters,
  type OtlpExporters,
  otlpSerializers,
} from '../export/otlp.js';
import type { RegisterResult } from '../lambda/extensions-api.js';
import { OtelMapper } from '../otel/mapper.js';
import { FaasMetrics } from '../otel/metrics.js';
import { buildResource, resourceAttributes } from '../otel/resource.js';
import { FlushMetricReader } from '../pipeline/metric-reader.js';
import { MinBatchProcessor } from '../pipeline/min-batch-processor.js';
import { observeProcessor } from '../pipeline/processor-metrics.js';
import type { Format, TelemetryPipeline } from '../pipeline/pipeline.js';
import type { Logger } from '../util/log.js';
import {
  CumulativeTemporalitySelector,
  DeltaTemporalitySelector,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_INSTANCE_ID } from '@opentelemetry/semantic-conventions';

/**
 * The OTLP format for `config`, with register's answer (`registration`,
 * for the account id and function name). Its `pipeline` is undefined when
 * neither logs nor traces have an endpoint; a missing signal's endpoint or
 * an unreadable certificate file is a warning, not an error.
 */
export async function createOtlpFormat(
  config: Readonly<Config>,
  registration: RegisterResult | undefined,
  log: Logger
): Promise<Format> {
  const { otlp } = config;
  if (
    otlp.logs === undefined &&
    otlp.traces === undefined &&
    otlp.metrics === undefined
  ) {
    return { pipeline: undefined, warnings: [] };
  }
  const warnings: string[] = [];
  for (const signal of ['logs', 'traces'] as const) {
    if (otlp[signal] === undefined) {
      warnings.push(
        `no OTLP ${signal} endpoint is configured; ${signal} are discarded`
      );
    }
  }
  // Per-signal endpoints for logs and traces only (variables or a file
  // without meter_provider) leave metrics nowhere: say so once.
  if (config.metrics.enabled && otlp.metrics === undefined) {
    warnings.push(
      "no OTLP metrics endpoint is configured (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, a base endpoint, or the file's meter_provider); metrics are not sent"
    );
  }
  const ca: string[] = [];
  for (const file of otlp.certificateFiles) {
    try {
      const fs = process.getBuiltinModule(
        'node:fs/promises'
      ) as typeof import('node:fs/promises');
      ca.push(await fs.readFile(file, 'utf8'));
    } catch (err) {
      warnings.push(
        `certificate file ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); not trusted`
      );
    }
  }
  const functionName =
    config.function.name ?? registration?.functionName ?? 'lambda-function';
  const attributes = resourceAttributes({
    functionName,
    functionVersion: config.function.version ?? registration?.functionVersion,
    memoryMb: config.function.memoryMb,
    region: config.function.region,
    accountId: registration?.accountId,
    serviceName: config.resource.serviceName,
    attributes: config.resource.attributes,
    distroVersion: EXTENSION_VERSION,
  });
  // Metrics: the reader collects on each flush (metric-reader.ts); the
  // exporters report their own otel.sdk.exporter.* into the same provider.
  let reader: FlushMetricReader | undefined;
  let meterProvider: MeterProvider | undefined;
  if (otlp.metrics !== undefined) {
    reader = new FlushMetricReader({
      temporality:
        config.metrics.temporality === 'cumulative'
          ? CumulativeTemporalitySelector
          : DeltaTemporalitySelector,
      log,
    });
    meterProvider = new MeterProvider({
      // Cumulative series need one identity per environment: this process.
      resource: buildResource({
        [ATTR_SERVICE_INSTANCE_ID]: crypto.randomUUID(),
        ...attributes,
      }),
      readers: [reader],
    });
  }
  const exporters = createOtlpExporters({
    logs: otlp.logs,
    traces: otlp.traces,
    protocol: otlp.protocol,
    compression: otlp.compression,
    timeoutMs: config.export.timeoutMs,
    // Our processor keeps below this; the exporter refuses past it.
    concurrencyLimit: EXPORTS_IN_FLIGHT_PER_SIGNAL + 1,
    ca,
    metrics: otlp.metrics,
    temporality: config.metrics.temporality,
    meterProvider,
  });
  if (reader && exporters.metrics) reader.setExporter(exporters.metrics);
  let mapper: OtelMapper | undefined;
  const processor = new MinBatchProcessor({
    exporters,
    serializers: otlpSerializers(otlp.protocol),
    minBatchSize: config.dispatch.minBatchSize,
    maxQueueEvents: config.queue.maxEvents,
    maxQueueBytes: config.queue.maxBytes,
    maxExportBatchSize: config.export.maxBatchItems,
    maxExportsInFlight: EXPORTS_IN_FLIGHT_PER_SIGNAL,
    retryAfterMs: config.flushIntervalMs,
    heldEvents: () => mapper?.pendingEvents ?? 0,
    log,
  });
  const meter = meterProvider?.getMeter(
    'lambda-telemetry-otel',
    EXTENSION_VERSION
  );
  if (meter) {
    const signals = (['logs', 'traces'] as const).filter(
      (s) => otlp[s] !== undefined
    );
    observeProcessor(meter, processor, signals);
  }
  mapper = new OtelMapper({
    functionName,
    resourceAttributes: attributes,
    managedInstances: config.managedInstances,
    platformLogs: config.logs.platform,
    maxBodyChars: config.logs.maxBodyChars,
    signals: {
      logs: otlp.logs !== undefined,
      traces: otlp.traces !== undefined,
    },
    scopeVersion: EXTENSION_VERSION,
    processor,
    metrics: meter ? new FaasMetrics(meter) : undefined,
  });
  return {
    pipeline: otlpPipeline(mapper, processor, exporters, reader),
    warnings,
  };
}

function otlpPipeline(
  mapper: OtelMapper,
  processor: MinBatchProcessor,
  exporters: OtlpExporters,
  reader: FlushMetricReader | undefined
): TelemetryPipeline {
  return {
    map: (event) => mapper.map(event),
    seal: () => processor.seal(),
    noteInvoke: (rid, arn) => mapper.noteInvoke(rid, arn),
    get waitingEvents() {
      return processor.waitingEvents;
    },
    get inFlightEvents() {
      return processor.inFlightEvents;
    },
    due: () => processor.due(),
    async flush(deadlineMs, final) {
      if (final) mapper.drain();
      // Metrics ride on the flush, beside logs and spans, never ahead of
      // them: both resolve by the deadline, and a failing /v1/metrics
      // delays neither (README, Metrics). The reader decides whether this
      // flush collects (metric-reader.ts: at most once a second).
      await Promise.all([
        processor.forceFlush({ deadlineMs }),
        reader?.onFlush(deadlineMs, final),
      ]);
    },
    // The exporters cannot be aborted: what runs carries on after /next.
    settle: async () => undefined,
    afterRestore() {
      mapper.afterRestore();
      exporters.dropConnections();
    },
    reportDrops: (counts) => mapper.reportDrops(counts),
    get stats() {
      const s = processor.stats;
      return {
        sentEvents: s.sentEvents,
        rejectedEvents: s.rejectedEvents,
        overflowEvents: s.overflowEvents,
        discardedEvents: s.discardedEvents + mapper.discardedEvents,
        failedExports: s.failedExports,
        overflowRecords: s.overflowRecords,
        rejectedRecords: s.rejectedRecords,
      };
    },
    get slowestExportMs() {
      return processor.slowestExportMs;
    },
    async shutdown(deadlineMs) {
      await processor.shutdown({ deadlineMs });
      // Last: what the final exports' answers added to the processor's
      // counts is collected now, so nothing is lost at SHUTDOWN.
      await reader?.finish(deadlineMs);
    },
  };
}
