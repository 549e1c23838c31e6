/**
 * Each configuration route checked for its effect on the built layer under
 * the emulator, not only for its parsing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import { type Harness, harnesses, ownLogs } from '../helpers/layer.js';

const start = harnesses();
const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(yaml: string): string {
  const path = join(dir, `config-${n++}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

const lines = [
  { atMs: 1, level: 'DEBUG', message: 'noise' },
  { atMs: 2, level: 'INFO', message: 'info' },
  { atMs: 3, level: 'WARN', message: 'warned' },
  { atMs: 4, level: 'ERROR', message: 'failed' },
];

async function run(h: Harness, invocations = 2): Promise<void> {
  await h.emu.launch();
  for (let i = 0; i < invocations; i++)
    await h.emu.invoke({ handlerMs: 5, lines });
  const last = await h.emu.shutdown();
  expect(last?.exitCode).toBe(0);
}

describe("the function's own OpenTelemetry settings do not steer us", () => {
  it('OTEL_SDK_DISABLED, OTEL_CONFIG_FILE and OTEL_EXPORTER_OTLP_ENDPOINT set for its SDK: we stay on and export to DISPATCH_POST_URI', async () => {
    const sdkFile = file(`file_format: "1.0"
disabled: true
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_http:
            endpoint: http://127.0.0.1:9/v1/logs
`);
    const h = await start({
      DISPATCH_FORMAT: 'otlp',
      OTEL_SDK_DISABLED: 'true',
      OTEL_CONFIG_FILE: sdkFile,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_LOG_LEVEL: 'none',
    });
    await run(h);
    const check = checkOtlp(h.emu, h.sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(8);
    expect(ownLogs(h.emu).some((l) => l.msg === 'shutdown')).toBe(true);
  });
});

describe('the configuration file', () => {
  it('is found through LAMBDA_TELEMETRY_OTEL_CONFIG_FILE, substituted, and each key takes effect', async () => {
    const path = file(`file_format: "1.0"
resource:
  attributes:
    - name: deployment.environment.name
      value: \${STAGE:-dev}
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_http:
            endpoint: \${SINK}/custom/logs
            encoding: json
            headers:
              - name: x-api-key
                value: \${API_KEY}
lambda_telemetry_otel:
  flush: end
  platform_logs: false
  function_min_severity: WARN
  exclude_events: [platform.extension, platform.telemetrySubscription]
`);
    const h = await start((url) => ({
      DISPATCH_FORMAT: 'otlp',
      DISPATCH_POST_URI: undefined,
      LAMBDA_TELEMETRY_OTEL_CONFIG_FILE: path,
      SINK: url,
      STAGE: 'prod',
      API_KEY: 'k-123',
    }));
    await h.emu.launch();
    const inv = await h.emu.invoke({ handlerMs: 5, lines });
    // flush: end -> this invocation's lines are out before /next.
    const now = h.sink
      .otlp()
      .logs.filter((l) => l.attributes['faas.invocation.id'] === inv.requestId);
    expect(now.map((l) => l.body)).toEqual(['warned', 'failed']);
    await h.emu.shutdown();
    const got = h.sink.otlp();
    expect(new Set(h.sink.requests.map((r) => r.path))).toEqual(
      new Set(['/custom/logs'])
    );
    expect(h.sink.requests[0]?.headers['content-type']).toBe(
      'application/json'
    );
    expect(h.sink.requests[0]?.headers['x-api-key']).toBe('k-123');
    // The severity filter: only WARN and ERROR lines; no platform lines.
    const types = new Set(
      got.logs.map((l) => l.attributes['aws.lambda.event.type'])
    );
    expect(types).toEqual(new Set(['function']));
    expect(got.logs.map((l) => l.body)).toEqual(['warned', 'failed']);
    expect(got.logs[0]?.resource['deployment.environment.name']).toBe('prod');
    const summary = ownLogs(h.emu).find((l) => l.msg === 'shutdown');
    // 2 lines below WARN + the two excluded platform events, never queued.
    expect(summary?.filtered).toBe(4);
  });

  it('fail-open: a bad value is one clear line, the rest applies', async () => {
    const path = file(
      'lambda_telemetry_otel:\n  buffer_timeout_ms: 3\n  flush: end\n'
    );
    const h = await start({
      DISPATCH_FORMAT: 'otlp',
      LAMBDA_TELEMETRY_OTEL_CONFIG_FILE: path,
    });
    await run(h, 1);
    const warns = ownLogs(h.emu).filter((l) =>
      String(l.msg).includes('buffer_timeout_ms')
    );
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toBe(
      `lambda_telemetry_otel.buffer_timeout_ms in ${path}=3 is outside 25..30000; using 25`
    );
    expect(h.emu.extension?.subscription?.buffering.timeoutMs).toBe(25);
    expect(checkOtlp(h.emu, h.sink.otlp()).problems).toEqual([]);
  });

  it('strict: a bad configuration fails init through /init/error, without its secrets', async () => {
    const secret = 'sk-4b3c2d1e0f';
    const path = file(
      `lambda_telemetry_otel:\n  strict: true\n  flush: whenever\nlogger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: "not a url ${secret}"\n            headers: [{name: authorization, value: "${secret}"}]\n`
    );
    const h = await start(
      { LAMBDA_TELEMETRY_OTEL_CONFIG_FILE: path },
      { initTimeoutMs: 3_000 }
    );
    const launch = await h.emu.launch();
    expect(launch.exitCode).toBe(1);
    expect(h.emu.extension?.initError).toContain('Extension.ConfigInvalid');
    expect(h.emu.extension?.initError).not.toContain(secret);
    const output = h.emu.output.join('\n');
    expect(output).toContain('flush');
    expect(output).not.toContain(secret);
  });

  it('an explicit file that cannot be read is one line, and the extension runs', async () => {
    const h = await start({
      DISPATCH_FORMAT: 'otlp',
      LAMBDA_TELEMETRY_OTEL_CONFIG_FILE: join(dir, 'missing.yaml'),
    });
    await run(h, 1);
    expect(
      ownLogs(h.emu).filter((l) => String(l.msg).includes('missing.yaml'))
    ).toHaveLength(1);
    expect(checkOtlp(h.emu, h.sink.otlp()).problems).toEqual([]);
  });
});

describe('LAMBDA_TELEMETRY_OTEL_DISABLED', () => {
  it('registers, answers /next, sends nothing, exits 0', async () => {
    const h = await start({ LAMBDA_TELEMETRY_OTEL_DISABLED: 'true' });
    await run(h, 2);
    expect(h.emu.extension?.subscription).toBeUndefined();
    expect(h.sink.requests).toHaveLength(0);
    expect(
      h.emu.invocations.every((i) => i.extensionOverheadMs !== undefined)
    ).toBe(true);
  });
});
