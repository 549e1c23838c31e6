/**
 * DISPATCH_FORMAT=raw: POST the Telemetry API events as Lambda sent them, as
 * one JSON array, to the full DISPATCH_POST_URI.
 *
 * Loaded after the first `/next` (undici costs about 100 ms to load,
 * ecosystem.md B.6), so it never adds to the extension's init time.
 */
import { Agent, request } from 'undici';
import {
  type BatchExporter,
  resultForError,
  resultForStatus,
} from './result.js';

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
  const agent = new Agent({
    connections: 2,
    // A socket kept across a freeze is often dead at thaw; a short idle
    // timeout avoids paying a failed write for it.
    keepAliveTimeout: 1_000,
    keepAliveMaxTimeout: 5_000,
  });
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
      try {
        const res = await request(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          dispatcher: agent,
          signal: abort
            ? AbortSignal.any([AbortSignal.timeout(budget), abort])
            : AbortSignal.timeout(budget),
        });
        // Drain the body so the socket can be reused (the Go sample leaks it).
        await res.body.dump({ limit: 65_536 });
        return resultForStatus(res.statusCode, res.headers['retry-after']);
      } catch (err) {
        return resultForError(err);
      }
    },
    async shutdown() {
      await agent.destroy().catch(() => undefined);
    },
  };
}
