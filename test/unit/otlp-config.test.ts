import { describe, expect, it } from 'vitest';
import { keyValues, loadConfig } from '../../src/config/config.js';
import { EXTENSION_VERSION } from '../../src/constants.js';
import { resourceAttributes } from '../../src/otel/resource.js';
import pkg from '../../package.json' with { type: 'json' };

describe('where OTLP goes (highest first)', () => {
  it.each([
    [
      'DISPATCH_POST_URI is a base URL',
      {
        DISPATCH_POST_URI: 'https://c.example/otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://fn-collector:4318',
      },
      'https://c.example/otlp/v1/logs',
      'https://c.example/otlp/v1/traces',
    ],
    [
      'a trailing slash is handled',
      { DISPATCH_POST_URI: 'http://127.0.0.1:4318/' },
      'http://127.0.0.1:4318/v1/logs',
      'http://127.0.0.1:4318/v1/traces',
    ],
    [
      'per-signal endpoints are full URLs',
      {
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs.example/ingest',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/t',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://general.example',
      },
      'https://logs.example/ingest',
      'https://traces.example/t',
    ],
    [
      'the general endpoint fills a missing signal',
      {
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs.example/ingest',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://general.example/',
      },
      'https://logs.example/ingest',
      'https://general.example/v1/traces',
    ],
    ['nothing set: no endpoint', {}, undefined, undefined],
    [
      'one signal only',
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t.example/v1/traces' },
      undefined,
      'http://t.example/v1/traces',
    ],
  ])('%s', (_n, env, logs, traces) => {
    const { otlp } = loadConfig(env).config;
    expect(otlp.logs?.url).toBe(logs);
    expect(otlp.traces?.url).toBe(traces);
  });

  it('skips an endpoint that is not an http(s) URL, naming the variable only', () => {
    const { config, warnings } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://user:hunter2@host:4317',
    });
    expect(config.otlp.logs).toBeUndefined();
    expect(warnings.join()).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(warnings.join()).not.toContain('hunter2');
  });
});

describe('OTLP headers', () => {
  it('are URL-decoded, per-signal ones winning', () => {
    const { otlp } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c.example',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D%3D,x-team=core',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=traces',
    }).config;
    expect(otlp.logs?.headers).toEqual({
      'api-key': 'abc==',
      'x-team': 'core',
    });
    expect(otlp.traces?.headers).toEqual({
      'api-key': 'abc==',
      'x-team': 'traces',
    });
  });

  it("never send the function's own headers to DISPATCH_POST_URI", () => {
    const { otlp } = loadConfig({
      DISPATCH_POST_URI: 'https://ours.example',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=the-functions-vendor-key',
      LAMBDA_TELEMETRY_OTEL_HEADERS: 'authorization=Bearer%20ours',
    }).config;
    expect(otlp.logs?.headers).toEqual({ authorization: 'Bearer ours' });
    expect(otlp.traces?.headers).toEqual({ authorization: 'Bearer ours' });
  });

  it('reports a bad entry without its value', () => {
    const warnings: string[] = [];
    const out = keyValues(
      'OTEL_EXPORTER_OTLP_HEADERS',
      'good=1,secret-token-without-equals,bad=%E0%A4%A',
      warnings,
      false
    );
    expect(out).toEqual({ good: '1' });
    expect(warnings).toHaveLength(2);
    expect(warnings.join()).not.toContain('secret-token');
  });

  it('skips a header an HTTP client would refuse (every export would fail), without its value or a bad name', () => {
    const warnings: string[] = [];
    const out = keyValues(
      'LAMBDA_TELEMETRY_OTEL_HEADERS',
      'x-key=SECRET4%0D%0Ainjected: 1,bad name SECRET5=v,x-tab=a%09b,ok=1',
      warnings,
      false
    );
    expect(out).toEqual({ 'x-tab': 'a\tb', ok: '1' });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"x-key"');
    expect(warnings.join()).not.toMatch(/SECRET4|SECRET5|injected/);
  });
});

describe('protocol, compression, timeout: ours win over the standard ones', () => {
  it.each([
    [{}, 'http/protobuf', 'none', 5_000],
    [
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      },
      'http/json',
      'gzip',
      2_000,
    ],
    [
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        LAMBDA_TELEMETRY_OTEL_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        LAMBDA_TELEMETRY_OTEL_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        LAMBDA_TELEMETRY_OTEL_EXPORT_TIMEOUT_MS: '700',
      },
      'http/protobuf',
      'none',
      700,
    ],
  ])('%j', (env, protocol, compression, timeout) => {
    const { config } = loadConfig(env);
    expect(config.otlp.protocol).toBe(protocol);
    expect(config.otlp.compression).toBe(compression);
    expect(config.export.timeoutMs).toBe(timeout);
  });

  it('warns about grpc and uses http/protobuf', () => {
    const { config, warnings } = loadConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(config.otlp.protocol).toBe('http/protobuf');
    expect(warnings[0]).toContain('OTEL_EXPORTER_OTLP_PROTOCOL="grpc"');
  });
});

describe('resource', () => {
  const base = {
    functionName: 'orders',
    functionVersion: '$LATEST',
    memoryMb: 128,
    region: 'eu-west-1',
    accountId: '123456789012',
    serviceName: undefined,
    attributes: {},
    distroVersion: '1.2.3',
  };

  it('describes the function in semantic-convention keys', () => {
    expect(resourceAttributes(base)).toMatchObject({
      'service.name': 'orders',
      'cloud.provider': 'aws',
      'cloud.platform': 'aws_lambda',
      'cloud.region': 'eu-west-1',
      'cloud.account.id': '123456789012',
      'cloud.resource_id':
        'arn:aws:lambda:eu-west-1:123456789012:function:orders',
      'faas.name': 'orders',
      'faas.version': '$LATEST',
      'faas.max_memory': 134_217_728,
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.distro.name': 'lambda-telemetry-otel',
    });
  });

  it('takes OTEL_RESOURCE_ATTRIBUTES, and OTEL_SERVICE_NAME over all', () => {
    const { config } = loadConfig({
      OTEL_RESOURCE_ATTRIBUTES:
        'service.name=from-attrs,deployment.environment.name=prod%20eu',
    });
    expect(
      resourceAttributes({ ...base, attributes: config.resource.attributes })
    ).toMatchObject({
      'service.name': 'from-attrs',
      'deployment.environment.name': 'prod eu',
    });
    expect(
      resourceAttributes({
        ...base,
        serviceName: 'svc',
        attributes: config.resource.attributes,
      })['service.name']
    ).toBe('svc');
  });

  it('keeps our version constant equal to package.json', () => {
    expect(EXTENSION_VERSION).toBe(pkg.version);
  });
});
