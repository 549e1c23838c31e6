import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configFilePath, loadConfig } from '../../src/config/config.js';
import { parseConfigFile, substitute } from '../../src/config/file.js';
import { createFilter } from '../../src/lambda/filter.js';
import type { TelemetryEvent } from '../../src/lambda/events.js';

const load = (yaml: string, env: Record<string, string> = {}) =>
  loadConfig(env, parseConfigFile(yaml, '/var/task/x.yaml', env));

describe('substitution (declarative config spec)', () => {
  it.each([
    ['${A}', { A: 'a' }, 'a'],
    ['${env:A}', { A: 'a' }, 'a'],
    ['${UNSET}', {}, ''],
    ['${UNSET:-fallback}', {}, 'fallback'],
    ['${EMPTY:-fallback}', { EMPTY: '' }, 'fallback'],
    ['${A:-fallback}', { A: 'set' }, 'set'],
    ['${URL:-http://h:4318/v1?x=1&y=2}', {}, 'http://h:4318/v1?x=1&y=2'],
    ['price $$5', {}, 'price $5'],
    ['$${A}', { A: 'a' }, '${A}'],
    ['$$$${A}', { A: 'a' }, '$${A}'],
    ['pre-${A}-${B}-post', { A: '1', B: '2' }, 'pre-1-2-post'],
    ['no substitution', {}, 'no substitution'],
  ])('%s -> %s', (input, env, expected) => {
    const problems: string[] = [];
    expect(substitute(input, env, problems, 'f')).toBe(expected);
    expect(problems).toEqual([]);
  });

  it('leaves an invalid reference as it is and says where, without quoting it (it may hold a secret typed in the wrong place)', () => {
    const problems: string[] = [];
    expect(substitute('${1BAD-s3cret}', {}, problems, 'f')).toBe(
      '${1BAD-s3cret}'
    );
    expect(problems[0]).toMatch(/^f: .*not a valid substitution/);
    expect(problems[0]).not.toContain('s3cret');
  });

  it('substitutes in scalars only, after parsing (a value cannot inject YAML)', () => {
    const { config } = load('lambda_telemetry_otel:\n  log_level: ${L}\n', {
      L: 'warn\nstrict: true',
    });
    expect(config.strict).toBe(false);
  });
});

describe('the example file', () => {
  const text = readFileSync('otel-config.example.yaml', 'utf8');
  const env = {
    OTLP_ENDPOINT: 'https://collector.example',
    OTLP_TOKEN: 's3cret-token',
  };

  it('parses with no problem, every key known', () => {
    const file = parseConfigFile(text, 'otel-config.example.yaml', env);
    expect(file.problems).toEqual([]);
  });

  it('says the defaults: loading it changes no default setting', () => {
    const withFile = loadConfig(
      {},
      parseConfigFile(text, 'otel-config.example.yaml', env)
    ).config;
    const defaults = loadConfig({}).config;
    for (const key of [
      'logLevel',
      'strict',
      'disabled',
      'subscription',
      'dispatch',
      'queue',
      'export',
      'flush',
      'flushIntervalMs',
      'retry',
      'shutdownWaitMs',
      'logs',
      'filters',
    ] as const) {
      expect([key, withFile[key]]).toEqual([key, defaults[key]]);
    }
  });

  it('gives the per-signal endpoints and headers, substituted', () => {
    const { otlp, resource } = loadConfig(
      {},
      parseConfigFile(text, 'x', env)
    ).config;
    expect(otlp.logs).toEqual({
      url: 'https://collector.example/v1/logs',
      headers: { authorization: 'Bearer s3cret-token' },
    });
    expect(otlp.traces?.url).toBe('https://collector.example/v1/traces');
    // meter_provider's reader exporter: without it a file that names the
    // logs and traces endpoints sent metrics nowhere, silently.
    expect(otlp.metrics).toEqual({
      url: 'https://collector.example/v1/metrics',
      headers: { authorization: 'Bearer s3cret-token' },
    });
    expect(otlp.protocol).toBe('http/protobuf');
    expect(resource.attributes).toEqual({
      'deployment.environment.name': 'production',
    });
  });
});

describe('precedence, per key', () => {
  const yaml = `file_format: "1.0"
lambda_telemetry_otel:
  flush: end
  buffer_timeout_ms: 100
  dispatch:
    min_batch_size: 5
logger_provider:
  processors:
    - batch:
        schedule_delay: 250
        exporter:
          otlp_http:
            endpoint: https://file.example/v1/logs
            encoding: json
`;

  it('our variables win over the file', () => {
    const { config } = load(yaml, {
      LAMBDA_TELEMETRY_OTEL_FLUSH: 'next-invoke',
      DISPATCH_MIN_BATCH_SIZE: '9',
    });
    expect(config.flush).toBe('next-invoke');
    expect(config.dispatch.minBatchSize).toBe(9);
    expect(config.subscription.timeoutMs).toBe(100);
  });

  it('the file wins over the standard variables, which only enter through ${...}', () => {
    const { config } = load(yaml, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://function-sdk.example',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'the-functions-own-name',
    });
    expect(config.otlp.logs?.url).toBe('https://file.example/v1/logs');
    expect(config.otlp.traces).toBeUndefined();
    expect(config.otlp.protocol).toBe('http/json');
    expect(config.resource.serviceName).toBeUndefined();
  });

  it('the standard batch keys map onto ours, our own key winning', () => {
    expect(load(yaml).config.flushIntervalMs).toBe(250);
    const both = load(
      `${yaml}\n`.replace(
        '  flush: end',
        '  flush: end\n  flush_interval_ms: 40'
      )
    );
    expect(both.config.flushIntervalMs).toBe(40);
  });

  it('DISPATCH_POST_URI wins over the file endpoints', () => {
    const { config } = load(yaml, { DISPATCH_POST_URI: 'http://ours.example' });
    expect(config.otlp.logs?.url).toBe('http://ours.example/v1/logs');
    expect(config.otlp.traces?.url).toBe('http://ours.example/v1/traces');
  });

  it('reads our file variable, never OTEL_CONFIG_FILE', () => {
    expect(configFilePath({ OTEL_CONFIG_FILE: '/var/task/sdk.yaml' })).toEqual({
      path: '/var/task/lambda-telemetry-otel.yaml',
      explicit: false,
    });
    expect(
      configFilePath({ LAMBDA_TELEMETRY_OTEL_CONFIG_FILE: '/opt/mine.yaml' })
    ).toEqual({
      path: '/opt/mine.yaml',
      explicit: true,
    });
  });

  it('ignores OTEL_SDK_DISABLED and OTEL_LOG_LEVEL, and has its own switches', () => {
    const { config } = loadConfig({
      OTEL_SDK_DISABLED: 'true',
      OTEL_LOG_LEVEL: 'none',
    });
    expect(config.disabled).toBe(false);
    expect(config.logLevel).toBe('info');
    expect(
      loadConfig({ LAMBDA_TELEMETRY_OTEL_DISABLED: 'true' }).config.disabled
    ).toBe(true);
  });
});

describe('validation: one clear line, fail-open, secrets kept out', () => {
  it.each([
    [
      'lambda_telemetry_otel:\n  buffer_max_items: 5\n',
      'lambda_telemetry_otel.buffer_max_items in /var/task/x.yaml=5',
    ],
    [
      'lambda_telemetry_otel:\n  flush: sometimes\n',
      'lambda_telemetry_otel.flush in /var/task/x.yaml="sometimes"',
    ],
    [
      'lambda_telemetry_otel:\n  dispatch:\n    format: xml\n',
      'lambda_telemetry_otel.dispatch.format in /var/task/x.yaml="xml"',
    ],
    [
      'lambda_telemetry_otel:\n  function_min_severity: LOUD\n',
      'lambda_telemetry_otel.function_min_severity in /var/task/x.yaml="LOUD"',
    ],
    [
      'lambda_telemetry_otel:\n  colour: blue\n',
      'unknown key lambda_telemetry_otel.colour',
    ],
    [
      'logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            encoding: xml\n',
      'logger_provider.processors[0].batch.exporter.otlp_http.encoding in /var/task/x.yaml="xml"',
    ],
    [
      'lambda_telemetry_otel: [1, 2]\n',
      'lambda_telemetry_otel must be a mapping',
    ],
    ['key: [unclosed\n', 'not valid YAML'],
  ])('%j', (yaml, line) => {
    const { warnings } = load(yaml);
    expect(warnings.join('\n')).toContain(line);
  });

  it('never quotes a header value, even in an error', () => {
    const secret = 'tok-9f8e7d6c5b4a';
    const { warnings } = load(
      `lambda_telemetry_otel:\n  headers:\n    - name: authorization\n    - value: Bearer ${secret}\n  certificate: 5\nlogger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: "ftp://user:${secret}@h"\n`
    );
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.join('\n')).not.toContain(secret);
  });

  it('keeps what is valid', () => {
    const { config } = load(
      'lambda_telemetry_otel:\n  flush: end\n  buffer_max_items: 5\n'
    );
    expect(config.flush).toBe('end');
    expect(config.subscription.maxItems).toBe(1_000);
  });
});

describe('filters', () => {
  const ev = (type: string, record: unknown): TelemetryEvent => ({
    time: '',
    type,
    record,
  });
  const keep = (yaml: string, e: TelemetryEvent) => {
    const f = createFilter(load(yaml).config.filters);
    return f === null ? true : f(e);
  };

  it.each([
    [
      'function_min_severity: WARN',
      ev('function', '2026-01-01T00:00:00.000Z\tr\tINFO\tx\n'),
      false,
    ],
    [
      'function_min_severity: WARN',
      ev('function', '2026-01-01T00:00:00.000Z\tr\tERROR\tx\n'),
      true,
    ],
    [
      'function_min_severity: WARN',
      ev('function', { level: 'debug', message: 'x' }),
      false,
    ],
    [
      'function_min_severity: WARN',
      ev('function', { level: 50, msg: 'pino error' }),
      true,
    ],
    [
      'function_min_severity: WARN',
      ev('function', 'a line with no level\n'),
      true,
    ],
    [
      'function_min_severity: WARN',
      ev('extension', '2026-01-01T00:00:00.000Z\tr\tINFO\tx\n'),
      true,
    ],
    [
      'extension_min_severity: ERROR',
      ev('extension', '{"level":"warn","message":"x"}'),
      false,
    ],
    [
      'exclude_events: [platform.extension, "platform.telemetry*"]',
      ev('platform.telemetrySubscription', {}),
      false,
    ],
    ['exclude_events: [platform.extension]', ev('platform.start', {}), true],
    ['include_events: [function]', ev('platform.start', {}), false],
    ['include_events: ["platform.*"]', ev('platform.report', {}), true],
  ])('%s: %j kept %s', (setting, e, kept) => {
    expect(keep(`lambda_telemetry_otel:\n  ${setting}\n`, e)).toBe(kept);
  });

  it('is no work at all when nothing filters', () => {
    expect(createFilter(loadConfig({}).config.filters)).toBeNull();
  });
});

describe('a header value YAML would misread', () => {
  const secret = 'Qw3rtyS3cret';
  it.each([
    ['a tag (!)', `!${secret}`],
    ['an alias (*)', `*${secret}`],
  ])('%s: the file is refused, where is said, the value never', (_n, v) => {
    const yaml = `logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: https://h/v1/logs\n            headers:\n              - name: authorization\n                value: ${v}\n`;
    const parsed = parseConfigFile(yaml, 'x.yaml', {});
    expect(parsed.problems.length).toBeGreaterThan(0);
    expect(parsed.problems.join('\n')).not.toContain(secret);
    expect(parsed.problems[0]).toMatch(/quote/);
    expect(parsed.std.OTEL_EXPORTER_OTLP_LOGS_HEADERS).toBeUndefined();
  });

  it('a mapping as a header value is skipped, not sent as [object Object]', () => {
    const yaml = `logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: https://h/v1/logs\n            headers:\n              - name: x-a\n                value: {k: v}\n`;
    const parsed = parseConfigFile(yaml, 'x.yaml', {});
    expect(parsed.std.OTEL_EXPORTER_OTLP_LOGS_HEADERS).toBeUndefined();
    expect(parsed.problems[0]).toContain('scalar value');
  });
});

describe('several exporters in one file', () => {
  const reader = (endpoint: string, extra = '') =>
    `    - periodic:\n        exporter:\n          otlp_http:\n            endpoint: ${endpoint}\n${extra}`;

  it('the first metrics reader is used; a later one (here invalid) is said and cannot replace it', () => {
    const yaml = `meter_provider:\n  readers:\n${reader('https://good.example/v1/metrics')}${reader('ftp://bad.example/m')}`;
    const parsed = parseConfigFile(yaml, 'x.yaml', {});
    const { config } = loadConfig({}, parsed);
    expect(config.otlp.metrics?.url).toBe('https://good.example/v1/metrics');
    expect(parsed.problems.join('\n')).toContain(
      'meter_provider.readers[1] ignored'
    );
  });

  it('a shared setting (encoding, compression) that differs between exporters: the first wins, and the difference is said', () => {
    const yaml = `logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: https://h/v1/logs\n            encoding: protobuf\n            compression: none\nmeter_provider:\n  readers:\n${reader('https://h/v1/metrics', '            encoding: json\n            compression: gzip\n')}`;
    const parsed = parseConfigFile(yaml, 'x.yaml', {});
    const { config } = loadConfig({}, parsed);
    expect(config.otlp.protocol).toBe('http/protobuf');
    expect(config.otlp.compression).toBe('none');
    expect(
      parsed.problems.filter((p) => p.includes('differs from'))
    ).toHaveLength(2);
  });
});
