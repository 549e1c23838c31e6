import {
  createServer as createHttpServer,
  type RequestListener,
} from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRawJsonExporter } from '../../src/export/raw-json.js';
import { parseRetryAfter } from '../../src/export/result.js';
import { Sink } from '../../src/emulator/sink.js';
import { freePort } from '../helpers/net.js';

const sinks: Sink[] = [];
async function sink(): Promise<Sink> {
  const s = new Sink();
  await s.start();
  sinks.push(s);
  return s;
}

/**
 * A loopback server that counts its connections (the Sink does not expose
 * them). With no `handler`, a bare TCP server: it accepts and never answers.
 */
interface Counted {
  url: string;
  /** Every connection accepted, in order. */
  sockets: Socket[];
  /** Connections the peer or we have closed. */
  closed: Set<Socket>;
}
const closers: (() => Promise<void>)[] = [];
async function counted(handler?: RequestListener): Promise<Counted> {
  const server = handler ? createHttpServer(handler) : createNetServer();
  const out: Counted = { url: '', sockets: [], closed: new Set() };
  server.on('connection', (socket: Socket) => {
    out.sockets.push(socket);
    socket.on('close', () => out.closed.add(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  out.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of out.sockets) s.destroy();
        server.close(() => resolve());
      })
  );
  return out;
}

/** Resolves true once `predicate` holds, false after `timeoutMs`. */
async function until(
  predicate: () => boolean,
  timeoutMs: number
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

afterEach(async () => {
  await Promise.all([
    ...sinks.splice(0).map((s) => s.close()),
    ...closers.splice(0).map((c) => c()),
  ]);
});

const events = [
  { time: '2026-01-01T00:00:00.000Z', type: 'function', record: 'héllo\n' },
  {
    time: '2026-01-01T00:00:00.001Z',
    type: 'platform.report',
    record: { metrics: { durationMs: 1.5 } },
  },
];
const items = events.map((e) => JSON.stringify(e));

describe('raw JSON exporter', () => {
  it('POSTs one JSON array of the events, JSON-equal and in order', async () => {
    const s = await sink();
    const exporter = createRawJsonExporter({
      url: `${s.url}/ingest?x=1`,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    const result = await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect(result).toEqual({ status: 'success' });
    expect(s.requests).toHaveLength(1);
    const req = s.requests[0];
    expect(req?.path).toBe('/ingest?x=1');
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body.toString('utf8') ?? '')).toEqual(events);
  });

  it('sends the configured headers (LAMBDA_TELEMETRY_OTEL_HEADERS), keeping its JSON content type', async () => {
    const s = await sink();
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
      headers: { 'x-api-key': 'k1', 'content-type': 'text/plain' },
    });
    const result = await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect(result).toEqual({ status: 'success' });
    expect(s.requests[0]?.headers['x-api-key']).toBe('k1');
    expect(s.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('sends each header once, whatever case the configured names use; a configured authorization wins over the URL credentials, as in the OTLP format', async () => {
    const s = await sink();
    const u = new URL(s.url);
    u.username = 'user';
    u.password = 'pw';
    const exporter = createRawJsonExporter({
      url: u.href,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
      headers: {
        Authorization: 'Bearer configured',
        'Content-Type': 'text/plain',
      },
    });
    await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    const raw = s.requests[0]?.rawHeaders ?? [];
    const names = raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === 'authorization')).toHaveLength(1);
    expect(names.filter((n) => n === 'content-type')).toHaveLength(1);
    expect(s.requests[0]?.headers.authorization).toBe('Bearer configured');
    expect(s.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it.each([429, 502, 503, 504])('treats %i as retryable', async (status) => {
    const s = await sink();
    s.reply = () => ({ status, headers: { 'retry-after': '3' } });
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    const result = await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect(result).toEqual({
      status: 'retryable',
      reason: `HTTP ${status}`,
      retryAfterMs: 3_000,
    });
  });

  it.each([400, 401, 403, 404, 413, 500, 501])(
    'treats %i as final',
    async (status) => {
      const s = await sink();
      s.reply = () => ({ status });
      const exporter = createRawJsonExporter({
        url: s.url,
        timeoutMs: 2_000,
        maxRequestBytes: 1_048_576,
      });
      const result = await exporter.export(items, Date.now() + 2_000);
      await exporter.shutdown();
      expect(result).toEqual({
        status: 'failure',
        reason: `HTTP ${status}`,
        httpStatus: status,
      });
    }
  );

  it('reports a refused connection as retryable', async () => {
    const port = await freePort();
    const exporter = createRawJsonExporter({
      url: `http://127.0.0.1:${port}/`,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    const result = await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect(result.status).toBe('retryable');
    expect(result.status === 'retryable' && result.reason).toBe('ECONNREFUSED');
  });

  it('gives up on a receiver that never answers by the deadline', async () => {
    const s = await sink();
    s.reply = () => ({ status: 200, hang: true });
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 10_000,
      maxRequestBytes: 1_048_576,
    });
    const started = Date.now();
    const result = await exporter.export(items, started + 300);
    const took = Date.now() - started;
    await exporter.shutdown();
    expect(result.status).toBe('retryable');
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2_000);
  });

  it('does not send when the deadline has passed', async () => {
    const s = await sink();
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 1_000,
      maxRequestBytes: 1_048_576,
    });
    const result = await exporter.export(items, Date.now() - 1);
    await exporter.shutdown();
    expect(result.status).toBe('retryable');
    expect(s.requests).toHaveLength(0);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['7', 7_000],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10_000],
    ['soon', undefined],
    [undefined, undefined],
  ])('%j -> %j ms', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('2026-01-01T00:00:00Z'))).toBe(
      expected
    );
  });
});

describe('request size', () => {
  it('asks for a split when several events would pass the bound, sends a single large one', async () => {
    const s = await sink();
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 2_000,
      maxRequestBytes: 100,
    });
    const big = JSON.stringify({ type: 'function', record: 'x'.repeat(200) });
    expect(await exporter.export([big, big], Date.now() + 2_000)).toEqual({
      status: 'too-large',
    });
    expect(await exporter.export([big], Date.now() + 2_000)).toEqual({
      status: 'success',
    });
    await exporter.shutdown();
    expect(s.requests).toHaveLength(1);
  });

  it('stops at once when the caller aborts', async () => {
    const s = await sink();
    s.reply = () => ({ status: 200, hang: true });
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 10_000,
      maxRequestBytes: 1_048_576,
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const result = await exporter.export(
      items,
      started + 10_000,
      controller.signal
    );
    await exporter.shutdown();
    expect(result.status).toBe('retryable');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('transport', () => {
  it('reuses one keep-alive connection across exports, draining each answer', async () => {
    const server = await counted((req, res) => {
      req.resume();
      // A body the exporter must read off the socket before reusing it.
      req.on('end', () => res.writeHead(200).end('x'.repeat(10_000)));
    });
    const exporter = createRawJsonExporter({
      url: server.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    const first = await exporter.export(items, Date.now() + 2_000);
    const second = await exporter.export(items, Date.now() + 2_000);
    const third = await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect([first, second, third]).toEqual([
      { status: 'success' },
      { status: 'success' },
      { status: 'success' },
    ]);
    expect(server.sockets).toHaveLength(1);
  });

  it('aborts a request the receiver never answers within 500 ms of a close deadline', async () => {
    // Accepts the connection, reads nothing, answers nothing.
    const server = await counted();
    const exporter = createRawJsonExporter({
      url: server.url,
      timeoutMs: 30_000,
      maxRequestBytes: 1_048_576,
    });
    const deadline = Date.now() + 50;
    const result = await exporter.export(items, deadline);
    const after = Date.now() - deadline;
    await exporter.shutdown();
    expect(result).toEqual({ status: 'retryable', reason: 'TimeoutError' });
    expect(server.sockets).toHaveLength(1);
    expect(after).toBeGreaterThanOrEqual(-5);
    expect(after).toBeLessThan(500);
  });

  it("aborts a request in flight when the caller's signal aborts, and drops its socket", async () => {
    const server = await counted((req) => {
      req.resume(); // and never answer
    });
    const exporter = createRawJsonExporter({
      url: server.url,
      timeoutMs: 30_000,
      maxRequestBytes: 1_048_576,
    });
    const controller = new AbortController();
    const pending = exporter.export(
      items,
      Date.now() + 30_000,
      controller.signal
    );
    // In flight: the receiver has the connection before the abort.
    expect(await until(() => server.sockets.length === 1, 2_000)).toBe(true);
    const aborted = Date.now();
    controller.abort();
    const result = await pending;
    expect(Date.now() - aborted).toBeLessThan(500);
    expect(result).toEqual({ status: 'retryable', reason: 'AbortError' });
    // The half-sent request's connection is not kept for the next one.
    expect(await until(() => server.closed.size === 1, 2_000)).toBe(true);
    await exporter.shutdown();
  });

  it('does not start a request when the caller has already aborted', async () => {
    const server = await counted();
    const exporter = createRawJsonExporter({
      url: server.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    const result = await exporter.export(
      items,
      Date.now() + 2_000,
      AbortSignal.abort()
    );
    await exporter.shutdown();
    expect(result.status).toBe('retryable');
    expect(server.sockets).toHaveLength(0);
  });

  it('shutdown closes the kept-alive connection', async () => {
    const s = await sink();
    const server = await counted((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    const exporter = createRawJsonExporter({
      url: server.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    expect(await exporter.export(items, Date.now() + 2_000)).toEqual({
      status: 'success',
    });
    expect(server.closed.size).toBe(0);
    await exporter.shutdown();
    expect(await until(() => server.closed.size === 1, 1_000)).toBe(true);
    // Afterwards an export fails as retryable rather than throwing, and
    // opens nothing.
    const late = createRawJsonExporter({
      url: s.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    await late.shutdown();
    expect((await late.export(items, Date.now() + 2_000)).status).toBe(
      'retryable'
    );
    expect(s.requests).toHaveLength(0);
  });

  it('shutdown returns within a bound while a request hangs, which ends retryable', async () => {
    const s = await sink();
    s.reply = () => ({ status: 200, hang: true });
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 30_000,
      maxRequestBytes: 1_048_576,
    });
    const pending = exporter.export(items, Date.now() + 30_000);
    expect(await s.waitFor(() => s.requests.length === 1, 2_000)).toBe(true);
    const started = Date.now();
    await exporter.shutdown();
    expect(Date.now() - started).toBeLessThan(500);
    const result = await Promise.race([
      pending,
      new Promise((r) => setTimeout(() => r('still pending'), 1_000)),
    ]);
    expect(result).toMatchObject({ status: 'retryable' });
  });

  it('sends the URL user info as Basic authorization, not in the request line', async () => {
    const s = await sink();
    const exporter = createRawJsonExporter({
      url: `${s.url.replace('http://', 'http://us%20er:p%40ss@')}/in?k=v`,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    const result = await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect(result).toEqual({ status: 'success' });
    expect(s.requests[0]?.path).toBe('/in?k=v');
    expect(s.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('us er:p@ss').toString('base64')}`
    );
  });

  it('sends no authorization header for a URL without user info', async () => {
    const s = await sink();
    const exporter = createRawJsonExporter({
      url: s.url,
      timeoutMs: 2_000,
      maxRequestBytes: 1_048_576,
    });
    await exporter.export(items, Date.now() + 2_000);
    await exporter.shutdown();
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]?.headers.authorization).toBeUndefined();
  });

  it.each(['not a url', 'ftp://127.0.0.1/'])(
    'reports a request that cannot be built (%s) as final',
    async (url) => {
      const exporter = createRawJsonExporter({
        url,
        timeoutMs: 2_000,
        maxRequestBytes: 1_048_576,
      });
      const result = await exporter.export(items, Date.now() + 2_000);
      await exporter.shutdown();
      expect(result.status).toBe('failure');
    }
  );
});
