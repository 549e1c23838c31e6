/**
 * A local receiver for what the extension exports: keeps every request and
 * can be told to answer with other statuses (for the fault tests). Decoding
 * of each format lives beside it, independent of the extension's code.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  type DecodedLog,
  type DecodedPoint,
  type DecodedSpan,
  decodeMetrics,
  decodeOtlp,
} from './otlp-decode.js';

/** One request the sink received. */
export interface ReceivedRequest {
  /** When its body had arrived (epoch ms). */
  at: number;
  method: string;
  /** As requested, query string included. */
  path: string;
  headers: IncomingMessage['headers'];
  /** Names and values as sent, alternating (a repeated header shows twice). */
  rawHeaders: string[];
  /** Gunzipped when sent with `content-encoding: gzip`. */
  body: Buffer;
  /** Status we answered (0: held, never answered). */
  status: number;
}

/** How the sink answers one request (what Sink.reply returns). */
export interface SinkReply {
  status: number;
  headers?: Record<string, string>;
  /** Never answer (the connection is held until the sink closes). */
  hang?: boolean;
  /** Answer only after this long (ms). */
  delayMs?: number;
}

/**
 * The receiver above: `start()` listens on loopback, each request is kept in
 * `requests`, `reply` decides its answer.
 */
export class Sink {
  readonly requests: ReceivedRequest[] = [];
  /** Decides each answer; default 200. */
  reply: (req: { path: string; index: number }) => SinkReply = () => ({
    status: 200,
  });
  private _server: Server | undefined;
  private _url = '';
  private readonly _waiters = new Set<() => void>();

  get url(): string {
    return this._url;
  }

  /** Listens on loopback; with `tls` ({key, cert} PEM), over HTTPS. */
  async start(port = 0, tls?: { key: string; cert: string }): Promise<string> {
    const handler: RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const path = req.url ?? '/';
        const reply = this.reply({ path, index: this.requests.length });
        this.requests.push({
          at: Date.now(),
          method: req.method ?? '',
          path,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body,
          status: reply.hang ? 0 : reply.status,
        });
        for (const w of this._waiters) w();
        if (reply.hang) return;
        const answer = (): void => {
          res.writeHead(reply.status, reply.headers).end();
        };
        if (reply.delayMs) setTimeout(answer, reply.delayMs);
        else answer();
      });
    };
    const server = tls ? createTlsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) =>
      server.listen(port, '127.0.0.1', resolve)
    );
    this._server = server;
    this._url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this._url;
  }

  /** Resolves when `predicate` holds, or false after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this._waiters.delete(check);
        resolve(v);
      };
      this._waiters.add(check);
    });
  }

  /** Events of every accepted raw-format request, in arrival order. */
  rawEvents(): unknown[] {
    const out: unknown[] = [];
    for (const r of this.requests) {
      if (r.status < 200 || r.status >= 300) continue;
      if (
        !String(r.headers['content-type'] ?? '').startsWith('application/json')
      )
        continue;
      const parsed: unknown = JSON.parse(r.body.toString('utf8'));
      if (Array.isArray(parsed)) out.push(...parsed);
    }
    return out;
  }

  /**
   * Log records and spans of every accepted OTLP request, in arrival order;
   * with `all`, also of requests that were refused or never answered.
   */
  otlp(all = false): { logs: DecodedLog[]; spans: DecodedSpan[] } {
    const logs: DecodedLog[] = [];
    const spans: DecodedSpan[] = [];
    for (const r of this.requests) {
      if (!all && (r.status < 200 || r.status >= 300)) continue;
      const d = decodeOtlp(
        r.path,
        String(r.headers['content-type'] ?? ''),
        r.body
      );
      logs.push(...d.logs);
      spans.push(...d.spans);
    }
    return { logs, spans };
  }

  /** Metric data points of every accepted OTLP metrics request, in arrival order. */
  metrics(): DecodedPoint[] {
    const out: DecodedPoint[] = [];
    for (const r of this.requests) {
      if (r.status < 200 || r.status >= 300) continue;
      out.push(
        ...decodeMetrics(
          r.path,
          String(r.headers['content-type'] ?? ''),
          r.body
        )
      );
    }
    return out;
  }

  async close(): Promise<void> {
    const server = this._server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
