import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { describeConfig, redactUrl } from '../../src/config/describe.js';
import { parseConfigFile } from '../../src/config/file.js';

const P = 'LAMBDA_TELEMETRY_OTEL_';
/** Every secret below contains this, so one search finds any leak. */
const SECRET = 's3cr3t';

const line = (env: Record<string, string>, file?: string): string =>
  JSON.stringify(describeConfig(loadConfig(env).config, file));

describe('redactUrl', () => {
  it.each([
    [
      `https://user:${SECRET}@collector.example.com/otlp/v1/logs?api_key=${SECRET}#${SECRET}`,
      'https://collector.example.com:443/otlp/v1/logs',
    ],
    ['http://127.0.0.1:4318/v1/traces', 'http://127.0.0.1:4318/v1/traces'],
    ['http://collector', 'http://collector:80/'],
    [`https://${SECRET}@[::1]:8443/x?k=${SECRET}`, 'https://[::1]:8443/x'],
  ])('%s -> %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('the effective configuration line', () => {
  it('names the endpoint per signal without user info or query, and header names without values', () => {
    const out = describeConfig(
      loadConfig({
        DISPATCH_POST_URI: `https://me:${SECRET}@otlp.example.com:4318/base?token=${SECRET}`,
        [`${P}HEADERS`]: `authorization=Bearer%20${SECRET},x-team=${SECRET}`,
      }).config,
      undefined
    );
    expect(out.endpoints).toEqual({
      logs: 'https://otlp.example.com:4318/base/v1/logs',
      traces: 'https://otlp.example.com:4318/base/v1/traces',
      metrics: 'https://otlp.example.com:4318/base/v1/metrics',
    });
    expect(out.headers).toEqual({
      logs: ['authorization', 'x-team'],
      traces: ['authorization', 'x-team'],
      metrics: ['authorization', 'x-team'],
    });
    expect(out.metricsTemporality).toBe('delta');
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('standard variables: per-signal endpoints and merged header names, no values', () => {
    const text = line({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://collector:4318?key=${SECRET}`,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `https://u:${SECRET}@traces.example.com/v1/traces`,
      OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${SECRET}`,
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: `x-trace-key=${SECRET}`,
    });
    expect(text).not.toContain(SECRET);
    const out = JSON.parse(text);
    expect(out.endpoints.traces).toBe(
      'https://traces.example.com:443/v1/traces'
    );
    expect(out.headers.traces).toEqual(['x-api-key', 'x-trace-key']);
    expect(out.headers.logs).toEqual(['x-api-key']);
  });

  it('says `off` for metrics turned off', () => {
    const out = describeConfig(
      loadConfig({
        DISPATCH_POST_URI: 'https://otlp.example.com:4318',
        [`${P}METRICS`]: 'false',
      }).config,
      undefined
    );
    expect(out.endpoints.metrics).toBe('off');
  });

  it('says `none` for a signal with no endpoint', () => {
    expect(describeConfig(loadConfig({}).config, undefined)).toMatchObject({
      file: 'none',
      format: 'otlp',
      endpoints: { logs: 'none', traces: 'none', metrics: 'none' },
      protocol: 'http/protobuf',
      compression: 'none',
      flush: 'next-invoke',
      minBatchSize: 1,
    });
  });

  it('raw format: the one POST URL, redacted, and no OTLP-only fields', () => {
    const out = describeConfig(
      loadConfig({
        DISPATCH_FORMAT: 'raw',
        DISPATCH_POST_URI: `https://h.example.com/in?sig=${SECRET}`,
        [`${P}HEADERS`]: `x-key=${SECRET}`,
      }).config,
      undefined
    );
    expect(out.endpoints).toEqual({ raw: 'https://h.example.com:443/in' });
    expect(out.headers).toEqual({ raw: ['x-key'] });
    expect(out).not.toHaveProperty('protocol');
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('the settings that decide what leaves and when', () => {
    const out = describeConfig(
      loadConfig({
        DISPATCH_MIN_BATCH_SIZE: '20',
        [`${P}FLUSH`]: 'end',
        [`${P}COMPRESSION`]: 'gzip',
        [`${P}PROTOCOL`]: 'http/json',
        [`${P}FUNCTION_MIN_SEVERITY`]: 'warning',
        [`${P}EXCLUDE_EVENTS`]: 'platform.report',
      }).config,
      '/var/task/lambda-telemetry-otel.yaml'
    );
    expect(out).toMatchObject({
      file: '/var/task/lambda-telemetry-otel.yaml',
      minBatchSize: 20,
      flush: 'end',
      compression: 'gzip',
      protocol: 'http/json',
      functionMinSeverity: 'WARN',
      excludeEvents: ['platform.report'],
    });
  });

  it('a configuration file: its endpoint and headers, redacted the same way', () => {
    const file = parseConfigFile(
      `file_format: "1.0"
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_http:
            endpoint: https://k:${SECRET}@logs.example.com/v1/logs?dd-api-key=${SECRET}
            headers:
              - name: api-key
                value: ${SECRET}
`,
      'x.yaml',
      {}
    );
    const out = describeConfig(loadConfig({}, file).config, 'x.yaml');
    expect(out.endpoints.logs).toBe('https://logs.example.com:443/v1/logs');
    expect(out.headers.logs).toEqual(['api-key']);
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });
});
