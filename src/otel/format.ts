/**
 * DISPATCH_FORMAT=otlp wired up: the mapper (events to log records and
 * spans) and the OTLP/HTTP exporter, from the frozen configuration and the
 * register response. Loaded after the first `/next`.
 */
import type { Config } from '../config/config.js';
import { EXTENSION_VERSION } from '../constants.js';
import { createOtlpExporter } from '../export/otlp.js';
import type { RegisterResult } from '../lambda/extensions-api.js';
import type { Format } from '../lifecycle.js';
import {
  ChunkingMapper,
  DEFAULT_CHUNK_LIMITS,
  type OtlpChunk,
} from './chunks.js';
import { OtelMapper } from './mapper.js';
import { resourceAttributes } from './resource.js';

export async function createOtlpFormat(
  config: Readonly<Config>,
  registration: RegisterResult | undefined
): Promise<Format<OtlpChunk>> {
  const { otlp } = config;
  const functionName =
    config.function.name ?? registration?.functionName ?? 'lambda-function';
  const otel = new OtelMapper({
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
  });
  // A chunk is the smallest thing a request holds and the queue drops: it
  // stays well under the request and queue bounds, or small settings of
  // those could not be kept (or would drop everything).
  const mapper = new ChunkingMapper(otel, otlp.protocol, {
    maxRecords: Math.max(
      1,
      Math.min(
        DEFAULT_CHUNK_LIMITS.maxRecords,
        config.export.maxBatchItems,
        Math.floor(config.queue.maxEvents / 4)
      )
    ),
    maxBytes: Math.min(
      DEFAULT_CHUNK_LIMITS.maxBytes,
      Math.floor(config.export.maxRequestBytes / 4),
      Math.floor(config.queue.maxBytes / 4)
    ),
  });
  if (otlp.logs === undefined && otlp.traces === undefined) {
    return { mapper, exporter: undefined, warnings: [] };
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
  const exporter = createOtlpExporter({
    logs: otlp.logs,
    traces: otlp.traces,
    protocol: otlp.protocol,
    compression: otlp.compression,
    timeoutMs: config.export.timeoutMs,
    maxRequestBytes: config.export.maxRequestBytes,
    ca,
  });
  warmUp(exporter, functionName, otlp.protocol);
  return {
    mapper,
    warnings,
    exporter,
  };
}

/** One throwaway invocation through a throwaway mapper and the encoders. */
function warmUp(
  exporter: ReturnType<typeof createOtlpExporter>,
  functionName: string,
  protocol: Config['otlp']['protocol']
): void {
  const otel = new OtelMapper({
    functionName,
    resourceAttributes: {},
    managedInstances: false,
    platformLogs: true,
    maxBodyChars: 1_024,
    signals: { logs: true, traces: true },
    scopeVersion: EXTENSION_VERSION,
  });
  const scratch = new ChunkingMapper(otel, protocol);
  const items: OtlpChunk[] = [];
  const keep = (i: { value: OtlpChunk }) => items.push(i.value);
  const t = new Date().toISOString();
  const rid = '00000000-0000-4000-8000-000000000000';
  for (const [type, record] of [
    ['platform.start', { requestId: rid }],
    ['function', `${t}\t${rid}\tINFO\twarm-up\n`],
    [
      'platform.report',
      { requestId: rid, status: 'success', metrics: { durationMs: 1 } },
    ],
  ] as const) {
    scratch.map({ time: t, type, record }, keep);
  }
  scratch.seal(keep);
  try {
    exporter.warmUp?.(items);
  } catch {
    // Only a warm-up: the real export reports its own errors.
  }
}
