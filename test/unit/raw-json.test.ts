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
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
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
