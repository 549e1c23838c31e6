/**
 * The HTTP server Lambda posts Telemetry API batches to.
 *
 * Answers every POST as soon as the body is parsed and queued: Lambda holds
 * the next batch while one is in flight, and drops telemetry when a
 * subscriber falls behind (lambda-apis.md §2.2). Nothing here writes per
 * batch to stdout, because stdout comes back to us as `extension` events.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  HOST_LOOKUP_TIMEOUT_MS,
  LISTENER_BODY_SLACK_BYTES,
  LOOPBACK_HOST,
} from '../constants.js';
import { nodeHttp } from '../util/http.js';
import type { Logger } from '../util/log.js';
import { BatchReader, type EventBatch } from './batch.js';

const requireBuiltin = createRequire(import.meta.url);
const dns = requireBuiltin('node:dns') as typeof import('node:dns');

export interface ListenerOptions {
  host: string;
  /** When false, a host that does not resolve falls back to 127.0.0.1. */
  hostOverridden: boolean;
  port: number;
  /** The subscribed maxBytes: Lambda's bodies stay within 2x plus slack. */
  maxBytes: number;
  log: Logger;
  /**
   * Receives each accepted batch, in arrival order. Must not throw, and must
   * read the batch before returning: its buffer is reused by the next one.
   */
  onEvents: (batch: EventBatch, bodyBytes: number) => void;
}

export interface Listener {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const { log } = opts;
  const limit = 2 * opts.maxBytes + LISTENER_BODY_SLACK_BYTES;
  const host = opts.hostOverridden
    ? opts.host
    : await resolveOrLoopback(opts.host, log);

  const reader = new BatchReader();
  const server = nodeHttp.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject413(declared);
      return;
    }
    const body = reader.acquire(declared);
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) body.append(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        reader.recycle(body);
        reject413(size);
        return;
      }
      const result = reader.read(body);
      if (!result.ok) {
        reader.recycle(body);
        log.limited('warn', 'listener.400', 'telemetry batch rejected', {
          status: 400,
          reason: result.reason,
          bytes: size,
        });
        res.writeHead(400, { 'content-type': 'text/plain' }).end(result.reason);
        return;
      }
      const { batch } = result;
      try {
        opts.onEvents(batch, size);
      } catch (err) {
        log.limited('error', 'listener.onEvents', 'failed to queue telemetry', {
          error: String(err),
        });
      }
      batch.close();
      reader.recycle(body);
      if (batch.rejected > 0) {
        log.limited(
          'warn',
          'listener.item',
          'telemetry items that are not events were skipped',
          {
            skipped: batch.rejected,
          }
        );
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    });
    req.on('error', () => {
      // The peer went away mid-body; nothing was queued from it.
    });

    function reject413(bytes: number): void {
      log.limited(
        'warn',
        'listener.413',
        'telemetry batch larger than Lambda sends; rejected',
        {
          status: 413,
          bytes,
          limit,
        }
      );
      res
        .writeHead(413, { 'content-type': 'text/plain', connection: 'close' })
        .end('body too large');
    }
  });
  // Lambda reuses connections between batches; keep them across freezes.
  server.keepAliveTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) =>
    log.limited('error', 'listener.server', 'listener error', {
      error: String(err),
    })
  );
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Lambda's /etc/hosts maps sandbox.localdomain; a laptop or CI machine may
 * not, and a lookup with no DNS server can hang, so it is bounded.
 */
async function resolveOrLoopback(host: string, log: Logger): Promise<string> {
  const found = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), HOST_LOOKUP_TIMEOUT_MS);
    dns.lookup(host, { family: 4 }, (err, address) => {
      clearTimeout(timer);
      resolve(err ? undefined : address);
    });
  });
  if (found !== undefined) return found;
  log.warn(`${host} does not resolve; listening on ${LOOPBACK_HOST}`, {
    host,
  });
  return LOOPBACK_HOST;
}
