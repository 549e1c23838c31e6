/**
 * Metrics from the built layer under the emulator: the FaaS metrics the
 * receiver got, decoded independently (protobufjs from opentelemetry-proto,
 * or JSON.parse), against what the emulator emitted; the extension's own
 * health against its drop counts.
 */
import { describe, expect, it } from 'vitest';
import { decodeOtlp } from '../../src/emulator/otlp-decode.js';
import type { DecodedPoint } from '../../src/emulator/otlp-decode.js';
import { harnesses, ownLogs } from '../helpers/layer.js';

const start = harnesses();

const OTLP = { DISPATCH_FORMAT: 'otlp' };
const lines = [
  { atMs: 1, message: 'one' },
  { atMs: 2, level: 'WARN', message: 'two' },
];

const total = (points: DecodedPoint[], name: string): number =>
  points.filter((p) => p.name === name).reduce((n, p) => n + p.value, 0);

/** Points of one series never overlap in time, nor leave a gap. */
function expectContiguous(points: DecodedPoint[]): void {
  const series = new Map<string, DecodedPoint[]>();
  for (const p of points) {
    // Up-down counters (the queue gauges) are cumulative by design.
    if (p.temporality !== 1) continue;
    const key = `${p.name}|${JSON.stringify(p.attributes)}`;
    series.set(key, [...(series.get(key) ?? []), p]);
  }
  for (const [key, list] of series) {
    const sorted = [...list].sort((a, b) =>
      BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1
    );
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as DecodedPoint;
      const cur = sorted[i] as DecodedPoint;
      expect(
        BigInt(cur.startTimeUnixNano) >= BigInt(prev.timeUnixNano),
        key
      ).toBe(true);
    }
  }
}

describe('metrics', () => {
  it.each([
    ['http/protobuf', 'application/x-protobuf'],
    ['http/json', 'application/json'],
  ])(
    'FaaS metrics over %s: N invocations, one error, one timeout',
    async (protocol, contentType) => {
      const { emu, sink } = await start({
        ...OTLP,
        LAMBDA_TELEMETRY_OTEL_PROTOCOL: protocol,
      });
      await emu.launch();
      const n = 6;
      for (let i = 0; i < n - 2; i++) await emu.invoke({ handlerMs: 5, lines });
      await emu.invoke({
        handlerMs: 5,
        lines,
        status: 'error',
        errorType: 'TypeError',
      });
      // Last: a timeout resets the environment (SHUTDOWN comes with it),
      // so all N ran in one environment.
      await emu.invoke({ lines, status: 'timeout', timeoutMs: 300 });
      expect(emu.launches.length).toBe(1);
      const metricRequests = sink.requests.filter(
        (r) => r.path === '/v1/metrics'
      );
      expect(metricRequests.length).toBeGreaterThan(0);
      expect(
        metricRequests.every((r) => r.headers['content-type'] === contentType)
      ).toBe(true);
      const points = sink.metrics();
      // One environment: one series identity.
      expect(
        new Set(points.map((p) => p.resource['service.instance.id'])).size
      ).toBe(1);
      // Delta by default.
      expect(
        points
          .filter((p) => p.name.startsWith('faas.'))
          .every((p) => p.temporality === 1)
      ).toBe(true);
      expect(total(points, 'faas.invocations')).toBe(n - 2);
      expect(total(points, 'faas.errors')).toBe(1);
      expect(total(points, 'faas.timeouts')).toBe(1);
      expect(total(points, 'faas.coldstarts')).toBe(1);
      const cold = points.filter(
        (p) => p.name === 'faas.invocations' && p.attributes['faas.coldstart']
      );
      expect(cold.reduce((s, p) => s + p.value, 0)).toBe(1);
      const durations = points.filter((p) => p.name === 'faas.invoke_duration');
      expect(durations.every((p) => p.unit === 's')).toBe(true);
      expect(durations.reduce((s, p) => s + p.count, 0)).toBe(n);
      const reported = emu.invocations.reduce(
        (s, i) => s + (i.reportMetrics?.durationMs ?? 0),
        0
      );
      expect(durations.reduce((s, p) => s + p.sum, 0)).toBeCloseTo(
        reported / 1000,
        6
      );
      const mem = points.filter((p) => p.name === 'faas.mem_usage');
      expect(mem.reduce((s, p) => s + p.count, 0)).toBe(n);
      expect(mem.every((p) => p.unit === 'By')).toBe(true);
      const init = points.filter((p) => p.name === 'faas.init_duration');
      expect(init.reduce((s, p) => s + p.count, 0)).toBe(1);
      expect(total(points, 'aws.lambda.billed_duration')).toBe(0);
      expect(
        points
          .filter((p) => p.name === 'aws.lambda.billed_duration')
          .reduce((s, p) => s + p.count, 0)
      ).toBe(n);
      expectContiguous(points);
      // Nothing per request.
      expect(points.some((p) => 'faas.invocation.id' in p.attributes)).toBe(
        false
      );
      // The extension's own health beside them: every record it sent.
      const processed = points.filter(
        (p) =>
          p.name === 'otel.sdk.processor.log.processed' &&
          p.attributes['error.type'] === undefined
      );
      expect(processed.reduce((s, p) => s + p.value, 0)).toBe(
        sink.otlp().logs.length
      );
      expect(
        points.some((p) => p.name === 'otel.sdk.exporter.log.exported')
      ).toBe(true);
    }
  );

  it('a timer flush every 20 ms on Managed Instances collects metrics at most once a second, and at SHUTDOWN; every invocation is counted', async () => {
    const { emu, sink } = await start(
      {
        ...OTLP,
        LAMBDA_TELEMETRY_OTEL_FLUSH_INTERVAL_MS: '20',
        DISPATCH_MIN_BATCH_SIZE: '1',
      },
      { managedInstances: true }
    );
    await emu.launch();
    const began = Date.now();
    for (let i = 0; i < 8; i++) await emu.invoke({ handlerMs: 40, lines });
    await emu.shutdown();
    const seconds = (Date.now() - began) / 1000;
    const metricRequests = sink.requests.filter(
      (r) => r.path === '/v1/metrics'
    ).length;
    // Dozens of flushes ran; collections: one a second at most, plus SHUTDOWN's.
    expect(metricRequests).toBeGreaterThan(0);
    expect(metricRequests).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    const points = sink.metrics();
    expect(total(points, 'faas.invocations')).toBe(8);
    expectContiguous(points);
  });

  it('cumulative on request (the standard variable)', async () => {
    const { emu, sink } = await start({
      ...OTLP,
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative',
    });
    await emu.launch();
    for (let i = 0; i < 3; i++) await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    const inv = sink.metrics().filter((p) => p.name === 'faas.invocations');
    expect(inv.length).toBeGreaterThan(0);
    expect(inv.every((p) => p.temporality === 2)).toBe(true);
    // The last cumulative point of each series (cold, warm) holds them all.
    const last = new Map<string, number>();
    for (const p of inv) {
      const key = JSON.stringify(p.attributes);
      last.set(key, Math.max(last.get(key) ?? 0, p.value));
    }
    expect([...last.values()].reduce((a, b) => a + b, 0)).toBe(3);
    expect(inv[0]?.resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('off with LAMBDA_TELEMETRY_OTEL_METRICS=false: no /v1/metrics request', async () => {
    const { emu, sink } = await start({
      ...OTLP,
      LAMBDA_TELEMETRY_OTEL_METRICS: 'false',
    });
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    expect(sink.requests.some((r) => r.path === '/v1/metrics')).toBe(false);
    expect(sink.otlp().logs.length).toBeGreaterThan(0);
  });

  it('per-signal endpoints for logs and traces only: one warning that metrics go nowhere, logs still arrive', async () => {
    const { emu, sink } = await start((url) => ({
      ...OTLP,
      DISPATCH_POST_URI: '',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${url}/v1/logs`,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/v1/traces`,
    }));
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    expect(sink.requests.some((r) => r.path === '/v1/metrics')).toBe(false);
    expect(sink.otlp().logs.length).toBeGreaterThan(0);
    const warned = ownLogs(emu).filter((l) =>
      String(l.msg).includes('no OTLP metrics endpoint')
    );
    expect(warned.length).toBeGreaterThan(0);
  });

  it('a metrics endpoint alone: metrics are sent, logs and traces discarded and counted', async () => {
    const { emu, sink } = await start((url) => ({
      ...OTLP,
      DISPATCH_POST_URI: '',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${url}/v1/metrics`,
    }));
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    expect(total(sink.metrics(), 'faas.invocations')).toBe(1);
    expect(sink.requests.every((r) => r.path === '/v1/metrics')).toBe(true);
  });

  it.each([404, 415, 501])(
    'an endpoint without metrics (%i): one WARN, metrics off, nothing counted as dropped',
    async (status) => {
      const { emu, sink } = await start(OTLP);
      sink.reply = ({ path }) =>
        path === '/v1/metrics' ? { status } : { status: 200 };
      await emu.launch();
      for (let i = 0; i < 3; i++) await emu.invoke({ handlerMs: 5, lines });
      const last = await emu.shutdown();
      expect(last?.exitCode).toBe(0);
      expect(sink.requests.filter((r) => r.path === '/v1/metrics').length).toBe(
        1
      );
      const warns = ownLogs(emu).filter((l) =>
        String(l.msg).includes('takes no metrics')
      );
      expect(warns.length).toBe(1);
      const summary = ownLogs(emu).find((l) => l.msg === 'shutdown');
      expect(summary?.rejected).toBe(0);
      expect(
        sink
          .otlp()
          .logs.some(
            (l) =>
              l.attributes['aws.lambda.event.type'] ===
              'lambda-telemetry-otel.drops'
          )
      ).toBe(false);
    }
  );

  it('refused batches: otel.sdk.processor.*.processed with error.type = the status equals what was refused', async () => {
    const { emu, sink } = await start(OTLP);
    // The first two log/trace requests are refused for good.
    let refusedSoFar = 0;
    sink.reply = ({ path }) => {
      if (path === '/v1/metrics') return { status: 200 };
      return refusedSoFar++ < 2 ? { status: 400 } : { status: 200 };
    };
    await emu.launch();
    for (let i = 0; i < 4; i++) await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    const refused = sink.requests
      .filter((r) => r.status === 400)
      .map((r) =>
        decodeOtlp(r.path, String(r.headers['content-type']), r.body)
      );
    const points = sink.metrics();
    const refusedLogs = points.filter(
      (p) =>
        p.name === 'otel.sdk.processor.log.processed' &&
        p.attributes['error.type'] === '400'
    );
    const refusedSpans = points.filter(
      (p) =>
        p.name === 'otel.sdk.processor.span.processed' &&
        p.attributes['error.type'] === '400'
    );
    expect(refused.flatMap((d) => d.logs).length).toBeGreaterThan(0);
    expect(refusedLogs.reduce((s, p) => s + p.value, 0)).toBe(
      refused.flatMap((d) => d.logs).length
    );
    expect(refusedSpans.reduce((s, p) => s + p.value, 0)).toBe(
      refused.flatMap((d) => d.spans).length
    );
    const summary = ownLogs(emu).find((l) => l.msg === 'shutdown');
    expect(
      refusedLogs.reduce((s, p) => s + p.value, 0) +
        refusedSpans.reduce((s, p) => s + p.value, 0)
    ).toBe(summary?.rejectedRecords);
    // The exporters' own view: the refused exports, with their error.
    expect(
      points
        .filter(
          (p) =>
            p.name === 'otel.sdk.exporter.log.exported' &&
            p.attributes['error.type'] !== undefined
        )
        .reduce((s, p) => s + p.value, 0)
    ).toBe(refused.flatMap((d) => d.logs).length);
  });

  it('queue overflow: otel.sdk.processor.*.processed with error.type = queue_full equals the records dropped', async () => {
    const { emu, sink } = await start({
      ...OTLP,
      LAMBDA_TELEMETRY_OTEL_MAX_QUEUE_EVENTS: '20',
    });
    // Logs and traces fail (transiently) until SHUTDOWN; metrics get through.
    let down = true;
    sink.reply = ({ path }) =>
      path === '/v1/metrics' || !down
        ? { status: 200 }
        : { status: 503, headers: { 'retry-after': '0' } };
    await emu.launch();
    const many = Array.from({ length: 15 }, (_, i) => ({
      atMs: 1 + i,
      message: `line ${i}`,
    }));
    for (let i = 0; i < 4; i++) await emu.invoke({ handlerMs: 5, lines: many });
    down = false;
    await emu.shutdown();
    const summary = ownLogs(emu).find((l) => l.msg === 'shutdown');
    expect(Number(summary?.overflowRecords)).toBeGreaterThan(0);
    const points = sink.metrics();
    const queueFull = points
      .filter(
        (p) =>
          p.name.startsWith('otel.sdk.processor.') &&
          p.name.endsWith('.processed') &&
          p.attributes['error.type'] === 'queue_full'
      )
      .reduce((s, p) => s + p.value, 0);
    expect(queueFull).toBe(summary?.overflowRecords);
    // The queue's capacity is told beside it.
    expect(
      points.find((p) => p.name === 'otel.sdk.processor.log.queue.capacity')
        ?.value
    ).toBe(20);
  });
});
