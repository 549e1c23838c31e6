/**
 * DISPATCH_FORMAT=raw: POST the Telemetry API events as Lambda sent them, as
 * one JSON array, to the full DISPATCH_POST_URI.
 *
 * Loaded after the first `/next`, with the rest of the export stack.
 */
import { createPostClient } from './http-post.js';
import type { BatchExporter } from './result.js';

export interface RawExporterOptions {
  url: string;
  /** Upper bound of one request, before any deadline applies. */
  timeoutMs: number;
  /** One request body stays under this (a single larger event still goes). */
  maxRequestBytes: number;
  now?: () => number;
}

/** Items are the events' JSON texts, serialized once on receipt. */
export function createRawJsonExporter(
  opts: RawExporterOptions
): BatchExporter<string> {
  const now = opts.now ?? Date.now;
  const client = createPostClient();
  return {
    async export(items, deadlineMs, abort) {
      const budget = Math.min(opts.timeoutMs, deadlineMs - now());
      if (budget <= 0) {
        return {
          status: 'retryable',
          reason: 'no time left before the deadline',
        };
      }
      const body = `[${items.join(',')}]`;
      if (items.length > 1 && Buffer.byteLength(body) > opts.maxRequestBytes) {
        return { status: 'too-large' };
      }
      const timeout = AbortSignal.timeout(budget);
      return client.post(
        opts.url,
        { 'content-type': 'application/json' },
        body,
        abort ? AbortSignal.any([timeout, abort]) : timeout
      );
    },
    async shutdown() {
      client.close();
    },
  };
}
