/**
 * DISPATCH_FORMAT=raw: POST the Telemetry API events as Lambda sent them, as
 * one JSON array, to the full DISPATCH_POST_URI, over undici.
 *
 * undici is large (about 720 KiB bundled, tens of ms to compile, ~10 MiB of
 * RSS), so this module must only ever be reached through formats/raw.ts,
 * which main.ts imports dynamically after the first `/next`: the static import below then puts undici
 * in a chunk that only this module's chunk loads, and the OTLP format and
 * init never pay for it.
 *
 * Retries are not done here: the Dispatcher retries `retryable` results
 * with backoff and Retry-After, within the deadline (README, "What happens
 * when the receiver fails").
 */
import { Agent, request } from 'undici';
import {
  type BatchExporter,
  type ExportResult,
  resultForError,
  resultForStatus,
} from './result.js';

/** The raw JSON POST exporter's settings. */
export interface RawExporterOptions {
  /** The full http(s) URL of the POST (DISPATCH_POST_URI). */
  url: string;
  /** Upper bound of one request in ms, before any deadline applies. */
  timeoutMs: number;
  /** Extra headers (LAMBDA_TELEMETRY_OTEL_HEADERS); never logged. */
  headers?: Readonly<Record<string, string>>;
  /** One request body stays under this many bytes (a single larger event still goes). */
  maxRequestBytes: number;
  /** Clock in epoch ms (tests). */
  now?: () => number;
}

/**
 * How long `shutdown()` lets a request still in flight finish before it is
 * aborted, and then how long it waits for the sockets to close (ms).
 * Nothing should be in flight by then (the Dispatcher settles before every
 * `/next`); this only bounds the case where something is.
 */
const CLOSE_GRACE_MS = 100;

/**
 * A response body is read and discarded so its socket can be reused; one
 * larger than this (bytes) is not worth reading: the socket is dropped
 * instead.
 */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Errors that say the request itself is malformed (an unparsable URL, one
 * undici refuses): sending it again cannot succeed, so the batch is not
 * kept for a retry.
 */
const NOT_RETRYABLE_CODES = new Set([
  'ERR_INVALID_URL',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
]);

/**
 * Creates the raw-format exporter. Items are the events' JSON texts,
 * serialized once on receipt; `export(items, deadlineMs, signal)` sends them
 * as one `application/json` array and resolves (never rejects) to:
 * `success` on 2xx; `too-large` when more than one item would make a body
 * over `maxRequestBytes`; `retryable` on 429/502/503/504 (with
 * `retryAfterMs` from Retry-After), on any network failure (refused, reset,
 * DNS, socket closed), when `deadlineMs` (epoch ms) or `timeoutMs` passes,
 * or when `signal` aborts; `failure` on any other status, or a request
 * undici refuses to build. Reasons name a status or an error code, never a
 * header or the URL.
 *
 * One keep-alive agent per exporter: successive exports reuse a connection;
 * `dropConnections()` replaces it, destroying the old one's sockets.
 * `shutdown()` closes it within about 2 x 100 ms, aborting a request still
 * in flight; later exports are `retryable` and send nothing.
 */
export function createRawJsonExporter(
  opts: RawExporterOptions
): BatchExporter<string> {
  const now = opts.now ?? Date.now;
  const split = splitUserInfo(opts.url);
  const url = split.url;
  // Configured headers win over the URL's credentials, as node:http (and
  // so the OTLP format) does; names compared whatever their case (two
  // spellings would send the header twice). The content type is ours.
  const headers: Record<string, string> = { ...split.headers };
  for (const [k, v] of Object.entries(opts.headers ?? {}))
    headers[k.toLowerCase()] = v;
  headers['content-type'] = 'application/json';
  const newAgent = (): Agent =>
    new Agent({
      // The Dispatcher sends one request at a time. With more than one
      // connection undici opens a second socket for a request that follows
      // the previous answer too closely (its socket is released a tick after
      // the body ends), so keep-alive would only half work.
      connections: 1,
      // HTTP/1.1 only, as node:http did before: HTTP/2 over TLS would load
      // node:http2 for one request at a time.
      allowH2: false,
    });
  // Replaced by dropConnections(): a destroyed undici Agent refuses
  // requests, so the pool is renewed rather than emptied.
  let agent = newAgent();
  // Aborted by shutdown(): ends requests still in flight. agent.destroy()
  // cannot once agent.close() has begun (undici 8's Agent forgets its
  // origins' pools on close, so a later destroy reaches none of them).
  const closing = new AbortController();
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
      // One signal bounds the connect, the headers and the body read.
      const signal = AbortSignal.any(
        abort ? [timeout, closing.signal, abort] : [timeout, closing.signal]
      );
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          dispatcher: agent,
          method: 'POST',
          headers,
          body,
          signal,
        });
      } catch (err) {
        return errorResult(err);
      }
      const result = resultForStatus(
        res.statusCode,
        res.headers['retry-after']
      );
      try {
        await res.body.dump({ limit: DRAIN_LIMIT_BYTES, signal });
      } catch {
        // The status is the receiver's answer: a body cut short (aborted,
        // reset) only costs the socket. Retrying an accepted batch would
        // send it twice.
      }
      return result;
    },
    dropConnections() {
      const old = agent;
      agent = newAgent();
      old.destroy().catch(() => undefined);
    },
    async shutdown() {
      // Idle keep-alive sockets close at once; a request in flight gets
      // the grace, then is aborted (retryable), and its socket closes.
      const closed = agent.close().then(
        () => true,
        () => true
      );
      if (await within(closed, CLOSE_GRACE_MS)) return;
      closing.abort();
      await within(closed, CLOSE_GRACE_MS);
    },
  };
}

/** Whether `p` settles within `ms`; the timer never outlives the wait. */
async function within(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function errorResult(err: unknown): ExportResult {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && NOT_RETRYABLE_CODES.has(code)) {
    return { status: 'failure', reason: code };
  }
  return resultForError(err);
}

/**
 * undici ignores a URL's user info; node:http sent it as Basic
 * authorization, and DISPATCH_POST_URI may rely on that. So it becomes the
 * header here (decoded as node:http does) and leaves the URL.
 */
function splitUserInfo(raw: string): {
  url: string;
  headers: Record<string, string>;
} {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
  };
  let target: URL;
  try {
    target = new URL(raw);
  } catch {
    // Left for undici to refuse, as a `failure` of each export.
    return { url: raw, headers };
  }
  if (target.username === '' && target.password === '') {
    return { url: raw, headers };
  }
  let auth: string;
  try {
    auth = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
  } catch {
    // Malformed percent-encoding: sent as written.
    auth = `${target.username}:${target.password}`;
  }
  headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  target.username = '';
  target.password = '';
  return { url: target.href, headers };
}
