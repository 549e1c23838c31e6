/**
 * The built layer exporting OTLP under the emulator; what reached the
 * receiver is decoded independently (protobufjs from opentelemetry-proto,
 * or JSON.parse) and compared with what the emulator emitted.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import { runScenario } from '../../src/emulator/scenario.js';
import { Sink } from '../../src/emulator/sink.js';
import {
  FAST_ENV,
  type Harness,
  harnesses,
  LAUNCHER,
  ownLogs,
} from '../helpers/layer.js';

const start = harnesses();

const OTLP = { DISPATCH_FORMAT: 'otlp' };
const lines = [
  { atMs: 1, message: 'one' },
  { atMs: 2, level: 'WARN', message: 'two' },
];

async function shortRun(h: Harness): Promise<void> {
  await h.emu.launch();
  await h.emu.invoke({ handlerMs: 5, lines });
  await h.emu.invoke({
    handlerMs: 5,
    lines,
    status: 'error',
    errorType: 'TypeError',
  });
  await h.emu.shutdown();
}

describe('OTLP over HTTP', () => {
  it('delivers the whole scenario as protobuf: every line, every invocation span, every report figure', async () => {
    const sink = new Sink();
    const url = await sink.start();
    try {
      const emu = await runScenario({
        extensionPath: LAUNCHER,
        invocations: 3,
        env: { DISPATCH_POST_URI: url, ...FAST_ENV },
      });
      expect(
        sink.requests.every(
          (r) => r.headers['content-type'] === 'application/x-protobuf'
        )
      ).toBe(true);
      expect(new Set(sink.requests.map((r) => r.path))).toEqual(
        new Set(['/v1/logs', '/v1/traces', '/v1/metrics'])
      );
      const got = sink.otlp();
      const check = checkOtlp(emu, got);
      expect(check.problems).toEqual([]);
      expect(check.functionLinesFound).toBe(check.functionLines);
      expect(check.duplicateLines).toBe(0);
      expect(check.invocationSpans).toBe(emu.invocations.length);
      // Every platform event is in a log record (platform lines are on),
      // but those of a SnapStart snapshot (README, SnapStart).
      const platformEmitted = emu.deliveries
        .flatMap((d) => d.log)
        .filter((l) => l.type.startsWith('platform.') && !l.snapshot).length;
      const platformLogs = got.logs.filter((l) =>
        String(l.attributes['aws.lambda.event.type']).startsWith('platform.')
      ).length;
      expect(platformLogs).toBe(platformEmitted);
      // The resource, from the environment and the register response.
      const resource = got.logs[0]?.resource ?? {};
      expect(resource).toMatchObject({
        'service.name': 'demo-function',
        'cloud.provider': 'aws',
        'cloud.platform': 'aws_lambda',
        'cloud.region': 'us-east-1',
        'cloud.account.id': '123456789012',
        'faas.name': 'demo-function',
        'faas.version': '$LATEST',
        'faas.max_memory': 128 * 1_048_576,
        'telemetry.sdk.language': 'nodejs',
      });
      const dropped = got.logs.find(
        (l) => l.attributes['aws.lambda.event.type'] === 'platform.logsDropped'
      );
      expect(dropped?.severityText).toBe('WARN');
      expect(dropped?.attributes['aws.lambda.logs_dropped.records']).toBe(12);
    } finally {
      await sink.close();
    }
  });

  it('speaks http/json with gzip to the standard endpoint variables', async () => {
    const h = await start((url) => ({
      ...OTLP,
      DISPATCH_POST_URI: undefined,
      OTEL_EXPORTER_OTLP_ENDPOINT: `${url}/`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    }));
    await shortRun(h);
    expect(h.sink.requests.length).toBeGreaterThan(0);
    for (const r of h.sink.requests) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['content-encoding']).toBe('gzip');
    }
    const check = checkOtlp(h.emu, h.sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(4);
  });

  it('sends its headers, and no header value ever reaches its own output', async () => {
    const secret = 'sk-live-0123456789abcdef';
    const h = await start({
      ...OTLP,
      LAMBDA_TELEMETRY_OTEL_HEADERS: `authorization=Bearer%20${secret},x-tenant=t1`,
      LAMBDA_TELEMETRY_OTEL_LOG_LEVEL: 'debug',
    });
    h.sink.reply = ({ index }) => ({ status: index === 0 ? 401 : 200 });
    await shortRun(h);
    expect(h.sink.requests[0]?.headers.authorization).toBe(`Bearer ${secret}`);
    expect(h.sink.requests[0]?.headers['x-tenant']).toBe('t1');
    expect(h.emu.output.join('\n')).not.toContain(secret);
    expect(h.emu.output.join('\n')).not.toContain('0123456789abcdef');
  });

  it('exports only the signal that has an endpoint', async () => {
    const h = await start((url) => ({
      ...OTLP,
      DISPATCH_POST_URI: undefined,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/custom/traces`,
    }));
    await shortRun(h);
    expect(new Set(h.sink.requests.map((r) => r.path))).toEqual(
      new Set(['/custom/traces'])
    );
    expect(
      ownLogs(h.emu).some((l) =>
        String(l.msg).includes('no OTLP logs endpoint')
      )
    ).toBe(true);
  });
});

describe('OTLP over HTTPS', () => {
  const dir = resolve('test/fixtures/tls');
  const tls = {
    key: readFileSync(`${dir}/server.key`, 'utf8'),
    cert: readFileSync(`${dir}/server.pem`, 'utf8'),
  };

  it('trusts a private CA given by OTEL_EXPORTER_OTLP_CERTIFICATE', async () => {
    const sink = new Sink();
    const url = await sink.start(0, tls);
    const h = await start({
      ...OTLP,
      DISPATCH_POST_URI: url,
      OTEL_EXPORTER_OTLP_CERTIFICATE: `${dir}/ca.pem`,
    });
    try {
      await shortRun(h);
      const check = checkOtlp(h.emu, sink.otlp());
      expect(check.problems).toEqual([]);
      expect(check.invocationSpans).toBe(2);
    } finally {
      await sink.close();
    }
  });

  it('refuses an untrusted certificate, and still leaves in time', async () => {
    const sink = new Sink();
    const url = await sink.start(0, tls);
    const h = await start({ ...OTLP, DISPATCH_POST_URI: url });
    try {
      await shortRun(h);
      expect(sink.requests).toHaveLength(0);
      expect(h.emu.launches[0]?.exitedBeforeDeadline).toBe(true);
      expect(h.emu.invocations.every((i) => !i.extensionTimedOut)).toBe(true);
    } finally {
      await sink.close();
    }
  });
});
