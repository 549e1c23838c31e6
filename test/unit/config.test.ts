import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';

const P = 'LAMBDA_TELEMETRY_OTEL_';

describe('DISPATCH_MIN_BATCH_SIZE', () => {
  it.each([
    ['1', 1],
    ['10', 10],
    [' 25 ', 25],
    ['32768', 32_768],
  ])('accepts %j as %i', (value, expected) => {
    const { config, warnings } = loadConfig({ DISPATCH_MIN_BATCH_SIZE: value });
    expect(config.dispatch.minBatchSize).toBe(expected);
    expect(warnings).toEqual([]);
  });

  it.each(['', '0', '-1', '10abc', '0x10', '1.5', 'ten', '1e3'])(
    'warns naming %j and uses 1',
    (value) => {
      const { config, warnings } = loadConfig({
        DISPATCH_MIN_BATCH_SIZE: value,
      });
      expect(config.dispatch.minBatchSize).toBe(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(
        `DISPATCH_MIN_BATCH_SIZE=${JSON.stringify(value)}`
      );
    }
  );

  it('defaults to 1 when unset', () => {
    expect(loadConfig({}).config.dispatch.minBatchSize).toBe(1);
  });
});

describe('DISPATCH_FORMAT', () => {
  it.each([
    ['raw', 'raw'],
    ['RAW', 'raw'],
    ['otlp', 'otlp'],
    ['OTLP', 'otlp'],
  ])('accepts %j case-insensitively', (value, expected) => {
    const { config, warnings } = loadConfig({ DISPATCH_FORMAT: value });
    expect(config.dispatch.format).toBe(expected);
    expect(warnings).toEqual([]);
  });

  it('defaults to otlp', () => {
    expect(loadConfig({}).config.dispatch.format).toBe('otlp');
  });

  it('warns once for an unknown value and uses the default', () => {
    const { config, warnings } = loadConfig({ DISPATCH_FORMAT: 'xml' });
    expect(config.dispatch.format).toBe('otlp');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('DISPATCH_FORMAT="xml"');
  });
});

describe('DISPATCH_POST_URI', () => {
  it('is used as given', () => {
    const uri = 'https://collector.example:8443/ingest/v2?tenant=a';
    expect(loadConfig({ DISPATCH_POST_URI: uri }).config.dispatch.postUri).toBe(
      uri
    );
  });

  it('is optional: no URI means discard', () => {
    expect(loadConfig({}).config.dispatch.postUri).toBeUndefined();
  });

  it('refuses a value that is not an http(s) URL without echoing it', () => {
    const secret = 'ftp://user:s3cr3t-token@host/path';
    const { config, warnings } = loadConfig({ DISPATCH_POST_URI: secret });
    expect(config.dispatch.postUri).toBeUndefined();
    expect(warnings.join('\n')).not.toContain('s3cr3t');
    expect(warnings[0]).toContain('DISPATCH_POST_URI');
  });
});

describe('Telemetry API subscription settings', () => {
  it('defaults to all three types and the documented minimum buffering', () => {
    const { subscription } = loadConfig({}).config;
    expect(subscription).toEqual({
      types: ['platform', 'function', 'extension'],
      maxItems: 1_000,
      maxBytes: 262_144,
      timeoutMs: 25,
    });
  });

  it.each([
    [`${P}BUFFER_MAX_ITEMS`, '999', 'maxItems', 1_000],
    [`${P}BUFFER_MAX_ITEMS`, '10001', 'maxItems', 1_000],
    [`${P}BUFFER_MAX_BYTES`, '1048577', 'maxBytes', 262_144],
    [`${P}BUFFER_TIMEOUT_MS`, '24', 'timeoutMs', 25],
    [`${P}BUFFER_TIMEOUT_MS`, 'fast', 'timeoutMs', 25],
  ] as const)(
    '%s=%s is outside the documented limits: warn, default',
    (key, value, field, def) => {
      const { config, warnings } = loadConfig({ [key]: value });
      expect(config.subscription[field]).toBe(def);
      expect(warnings[0]).toContain(key);
      expect(warnings[0]).toContain(value);
    }
  );

  it.each([
    [`${P}BUFFER_MAX_ITEMS`, '10000', 'maxItems', 10_000],
    [`${P}BUFFER_MAX_BYTES`, '1048576', 'maxBytes', 1_048_576],
    [`${P}BUFFER_TIMEOUT_MS`, '30000', 'timeoutMs', 30_000],
  ] as const)('%s=%s is taken', (key, value, field, expected) => {
    expect(loadConfig({ [key]: value }).config.subscription[field]).toBe(
      expected
    );
  });

  it('takes a list of types', () => {
    const { config } = loadConfig({ [`${P}TYPES`]: 'function, platform' });
    expect(config.subscription.types).toEqual(['function', 'platform']);
  });

  it('refuses an unknown type and keeps all three', () => {
    const { config, warnings } = loadConfig({
      [`${P}TYPES`]: 'platform,metrics',
    });
    expect(config.subscription.types).toEqual([
      'platform',
      'function',
      'extension',
    ]);
    expect(warnings[0]).toContain('metrics');
  });
});

describe('listener', () => {
  it('binds sandbox.localdomain on an ephemeral port by default', () => {
    expect(loadConfig({}).config.listener).toEqual({
      host: 'sandbox.localdomain',
      hostOverridden: false,
      port: 0,
    });
  });

  it('binds all interfaces under SAM local', () => {
    expect(loadConfig({ AWS_SAM_LOCAL: 'true' }).config.listener.host).toBe(
      '0.0.0.0'
    );
  });

  it('takes our host and port over everything', () => {
    const { listener } = loadConfig({
      AWS_SAM_LOCAL: 'true',
      [`${P}LISTENER_HOST`]: '127.0.0.1',
      [`${P}LISTENER_PORT`]: '4243',
    }).config;
    expect(listener).toEqual({
      host: '127.0.0.1',
      hostOverridden: true,
      port: 4243,
    });
  });
});

describe('execution modes and switches', () => {
  it('detects Managed Instances', () => {
    expect(
      loadConfig({ AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' })
        .config.managedInstances
    ).toBe(true);
    expect(
      loadConfig({ AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }).config
        .managedInstances
    ).toBe(false);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['maybe', false],
  ])('STRICT=%s is %s', (value, expected) => {
    expect(loadConfig({ [`${P}STRICT`]: value }).config.strict).toBe(expected);
  });

  it('reads our log level, and not OTEL_LOG_LEVEL', () => {
    expect(loadConfig({ [`${P}LOG_LEVEL`]: 'DEBUG' }).config.logLevel).toBe(
      'debug'
    );
    expect(loadConfig({ OTEL_LOG_LEVEL: 'debug' }).config.logLevel).toBe(
      'info'
    );
    const bad = loadConfig({ [`${P}LOG_LEVEL`]: 'loud' });
    expect(bad.config.logLevel).toBe('info');
    expect(bad.warnings[0]).toContain('"loud"');
  });

  it('returns a frozen object', () => {
    const { config } = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.subscription)).toBe(true);
  });
});

describe('an OTLP base URL with a query string', () => {
  it('gets /v1/logs and /v1/traces on its path, the query kept after them', () => {
    const { config } = loadConfig({
      DISPATCH_POST_URI: 'https://in.example.com/otlp/?api-key=k1',
    });
    expect(config.otlp.logs?.url).toBe(
      'https://in.example.com/otlp/v1/logs?api-key=k1'
    );
    expect(config.otlp.traces?.url).toBe(
      'https://in.example.com/otlp/v1/traces?api-key=k1'
    );
  });
});

describe('the standard metrics temporality preference', () => {
  it("takes the spec's lowmemory as our delta (up-down counters stay cumulative), with no warning", () => {
    const { config, warnings } = loadConfig({
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'LowMemory',
    });
    expect(config.metrics.temporality).toBe('delta');
    expect(warnings.filter((w) => w.includes('TEMPORALITY'))).toEqual([]);
  });
});
