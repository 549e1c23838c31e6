/**
 * The HTTP server Lambda posts Telemetry API batches to.
 *
 * Answers every POST as soon as the body is parsed and queued: Lambda holds
 * the next batch while one is in flight, and drops telemetry when a
 * subscriber falls behind (lambda-apis.md §2.2). Nothing here writes per
 * batch to stdout, because stdout comes back to us as `extension` events.
 *
 * A record Lambda cut across two bodies is joined here (stitch.ts): the
 * complete events of both bodies go on at once. A body past what Lambda
 * sends is answered 413 as soon as that is known, and the rest of it is
 * read and discarded (within bounds), so the sender sees the answer rather
 * than a reset.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HOST_LOOKUP_TIMEOUT_MS,
  LISTENER_BODY_SLACK_BYTES,
  LISTENER_DRAIN_MAX_BYTES,
  LISTENER_DRAIN_MAX_MS,
  LOOPBACK_HOST,
} from '../constants.js';
import { nodeHttp } from '../util/http.js';
import type { Logger } from '../util/log.js';
import { BatchReader, type EventBatch } from './batch.js';
import { CutRecords } from './stitch.js';

const requireBuiltin = createRequire(import.meta.url);
const dns = requireBuiltin('node:dns') as typeof import('node:dns');

/** How to listen; `maxBytes` is the subscription's buffering `maxBytes`. */
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

/** What the listener refused or joined, for the shutdown line. */
export interface ListenerStats {
  /** Bodies answered 400: not a JSON array, nor part of a cut record. */
  refusedBodies: number;
  /** Bodies answered 413: past 2 x maxBytes + slack (bytes). */
  tooLargeBodies: number;
  /** Records Lambda cut across two bodies, joined whole (events). */
  cutRecordsJoined: number;
  /** Cut records whose halves could not be joined (events lost). */
  cutRecordsDropped: number;
}

/**
 * A listening server: `port` is the one bound (the OS's pick when asked for
 * 0), `host` the address after the fallback.
 */
export interface Listener {
  readonly port: number;
  readonly host: string;
  stats(): ListenerStats;
  /** Stops listening; a half of a cut record still held counts as dropped. */
  close(): Promise<void>;
}

/**
 * Binds the listener. A host that does not resolve (unless overridden) falls
 * back to 127.0.0.1 with a warning; rejects only when the bind fails
 * (EADDRINUSE and the like). Answers 405 to anything but POST, 400 to a body
 * that is not a batch, 413 past 2 x maxBytes + LISTENER_BODY_SLACK_BYTES,
 * else 200 after `onEvents`.
 */
export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const { log } = opts;
  const limit = 2 * opts.maxBytes + LISTENER_BODY_SLACK_BYTES;
  const host = opts.hostOverridden
    ? opts.host
    : await resolveOrLoopback(opts.host, log);

  const reader = new BatchReader();
  // A held half is bounded like a body: a record up to about the body
  // limit is joined, a longer one dropped and counted.
  const cuts = new CutRecords(reader, limit);
  let refusedBodies = 0;
  let tooLargeBodies = 0;
  const server = nodeHttp.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      tooLarge(req, res, declared);
      return;
    }
    const body = reader.acquire(declared);
    let size = 0;
    let refused = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // A chunked body (or a false Content-Length) past the bound.
        refused = true;
        req.off('data', onData);
        reader.recycle(body);
        tooLarge(req, res, size);
        return;
      }
      body.append(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (refused) return;
      const result = cuts.read(body);
      if (!result.ok) {
        reader.recycle(body);
        refusedBodies++;
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
  });

  /**
   * 413 now, then the rest of the body is read and discarded: closing a
   * socket the sender is still writing to resets it (EPIPE/ECONNRESET, no
   * answer seen). Past LISTENER_DRAIN_MAX_BYTES or _MS the connection is
   * closed anyway.
   */
  function tooLarge(
    req: IncomingMessage,
    res: ServerResponse,
    bytes: number
  ): void {
    tooLargeBodies++;
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
    res.writeHead(413, {
      'content-type': 'text/plain',
      'content-length': TOO_LARGE.length,
      connection: 'close',
    });
    res.write(TOO_LARGE);
    if (req.complete) {
      res.end();
      return;
    }
    let drained = 0;
    const finish = (): void => {
      clearTimeout(timer);
      req.off('data', onDrain);
      res.end();
    };
    const onDrain = (chunk: Buffer): void => {
      drained += chunk.length;
      if (drained > LISTENER_DRAIN_MAX_BYTES) {
        finish();
        req.socket.destroy();
      }
    };
    const timer = setTimeout(() => {
      finish();
      req.socket.destroy();
    }, LISTENER_DRAIN_MAX_MS);
    timer.unref();
    req.on('data', onDrain);
    req.once('end', finish);
    req.once('close', () => clearTimeout(timer));
    req.resume();
  }
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
    stats: () => ({
      refusedBodies,
      tooLargeBodies,
      cutRecordsJoined: cuts.joined,
      cutRecordsDropped: cuts.dropped,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        cuts.release();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const TOO_LARGE = Buffer.from('body too large');

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
