/**
 * DISPATCH_FORMAT=otlp: log records and spans over OTLP/HTTP. The records
 * arrive already encoded, in chunks (otel/chunks.ts); a request is those
 * chunks under their resource and scope, sent by our own small transport
 * (http-post.ts).
 *
 * Why not the OTLP exporters' own transport: it reads the function's
 * inherited OTEL_EXPORTER_OTLP_* variables behind our back, has no per-call
 * deadline (its timeout is fixed at construction) and retries on its own
 * schedule (ecosystem.md B.2). Here every option is explicit and every
 * request ends by the deadline the lifecycle passes down.
 */
import type { OtlpChunk, OtlpProtocol, OtlpSignal } from '../otel/chunks.js';
import { OtlpRequestEncoder } from '../otel/request.js';
import { createPostClient } from './http-post.js';
import type { BatchExporter, ExportResult } from './result.js';

/**
 * node:zlib loads only when gzip is configured; like every built-in module
 * after the first /next it is reached through getBuiltinModule, not an ES
 * module import (whose namespace set-up costs memory, see util/http.ts).
 */
function gzip(body: Uint8Array): Promise<Buffer> {
  const zlib = process.getBuiltinModule(
    'node:zlib'
  ) as typeof import('node:zlib');
  return new Promise((resolve, reject) =>
    zlib.gzip(body, (err, out) => (err ? reject(err) : resolve(out)))
  );
}

export type { OtlpProtocol, OtlpSignal };

export interface SignalTarget {
  url: string;
  headers: Readonly<Record<string, string>>;
}

export interface OtlpExporterOptions {
  logs: SignalTarget | undefined;
  traces: SignalTarget | undefined;
  protocol: OtlpProtocol;
  compression: 'gzip' | 'none';
  timeoutMs: number;
  /** One request body (before compression) stays under this. */
  maxRequestBytes: number;
  /** Extra CA certificates (PEM), on top of Node's defaults. */
  ca: readonly string[];
  now?: () => number;
}

export function createOtlpExporter(
  o: OtlpExporterOptions
): BatchExporter<OtlpChunk> {
  const now = o.now ?? Date.now;
  const client = createPostClient(
    o.ca.length > 0 ? { ca: [...defaultCAs(), ...o.ca] } : {}
  );
  const json = o.protocol === 'http/json';
  const requests = new OtlpRequestEncoder(o.protocol);

  return {
    channel: (item) => item.signal,

    warmUp(items) {
      // The first request of a process runs cold code; assembling one while
      // the runtime still initialises keeps that off the first invocation.
      for (const signal of ['logs', 'traces'] as const) {
        const chunks = items.filter((i) => i.signal === signal);
        if (chunks.length > 0) requests.parts(signal, chunks);
      }
    },

    async export(items, deadlineMs, abort): Promise<ExportResult> {
      const signal = items[0]?.signal;
      if (signal === undefined) return { status: 'success' };
      const target = o[signal];
      if (target === undefined) {
        return { status: 'failure', reason: `no ${signal} endpoint` };
      }
      const budget = Math.min(o.timeoutMs, deadlineMs - now());
      if (budget <= 0)
        return {
          status: 'retryable',
          reason: 'no time left before the deadline',
        };
      let body: Uint8Array | Uint8Array[];
      try {
        body = requests.parts(signal, items);
      } catch (err) {
        return {
          status: 'failure',
          reason: `could not serialize ${signal}: ${String(err).slice(0, 200)}`,
        };
      }
      // Backends refuse bodies of a few MiB: the dispatcher halves the batch.
      let length = 0;
      for (const part of body) length += part.length;
      if (length > o.maxRequestBytes && items.length > 1) {
        return { status: 'too-large' };
      }
      const headers: Record<string, string> = {
        ...target.headers,
        'content-type': json ? 'application/json' : 'application/x-protobuf',
      };
      if (o.compression === 'gzip') {
        body = await gzip(Buffer.concat(body));
        headers['content-encoding'] = 'gzip';
      }
      const left = Math.min(o.timeoutMs, deadlineMs - now());
      if (left <= 0)
        return {
          status: 'retryable',
          reason: 'no time left before the deadline',
        };
      const timeout = AbortSignal.timeout(left);
      return client.post(
        target.url,
        headers,
        body,
        abort ? AbortSignal.any([timeout, abort]) : timeout
      );
    },

    async shutdown() {
      client.close();
    },
  };
}

/** Node's CA store including NODE_EXTRA_CA_CERTS (passing `ca` replaces it). */
function defaultCAs(): string[] {
  // Loaded here, not at the top: only a custom certificate needs it.
  const tls = process.getBuiltinModule('node:tls') as typeof import('node:tls');
  const get = (tls as { getCACertificates?: (t?: string) => string[] })
    .getCACertificates;
  return get ? get('default') : [...tls.rootCertificates];
}
