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
import { resourceAttributes } from '../otel/resource.js';
import { MinBatchProcessor } from '../pipeline/min-batch-processor.js';
import type { Format, TelemetryPipeline } from '../pipeline/pipeline.js';
import type { Logger } from '../util/log.js';

export async function createOtlpFormat(
  config: Readonly<Config>,
  registration: RegisterResult | undefined,
  log: Logger
): Promise<Format> {
  const { otlp } = config;
  if (otlp.logs === undefined && otlp.traces === undefined) {
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
  const exporters = createOtlpExporters({
    logs: otlp.logs,
    traces: otlp.traces,
    protocol: otlp.protocol,
    compression: otlp.compression,
    timeoutMs: config.export.timeoutMs,
    // Our processor keeps below this; the exporter refuses past it.
    concurrencyLimit: EXPORTS_IN_FLIGHT_PER_SIGNAL + 1,
    ca,
  });
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
  const functionName =
    config.function.name ?? registration?.functionName ?? 'lambda-function';
  mapper = new OtelMapper({
    functionName,
    resourceAttributes: resourceAttributes({
      functionName,
      functionVersion: config.function.version ?? registration?.functionVersion,
      memoryMb: config.function.memoryMb,
      region: config.function.region,
      accountId: registration?.accountId,
      serviceName: config.resource.serviceName,
      attributes: config.resource.attributes,
      distroVersion: EXTENSION_VERSION,
    }),
    managedInstances: config.managedInstances,
    platformLogs: config.logs.platform,
    maxBodyChars: config.logs.maxBodyChars,
    signals: {
      logs: otlp.logs !== undefined,
      traces: otlp.traces !== undefined,
    },
    scopeVersion: EXTENSION_VERSION,
    processor,
  });
  return { pipeline: otlpPipeline(mapper, processor, exporters), warnings };
}

function otlpPipeline(
  mapper: OtelMapper,
  processor: MinBatchProcessor,
  exporters: OtlpExporters
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
      await processor.forceFlush({ deadlineMs });
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
      };
    },
    get slowestExportMs() {
      return processor.slowestExportMs;
    },
    shutdown: (deadlineMs) => processor.shutdown({ deadlineMs }),
  };
}
