/**
 * Every setting of ours, table-driven: missing -> the default, a valid value
 * -> taken, an invalid one -> one line naming the key and the value, and the
 * default.
 */
import { describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/config/config.js';

const P = 'LAMBDA_TELEMETRY_OTEL_';
type Row = [
  key: string,
  read: (c: Config) => unknown,
  def: unknown,
  valid: string,
  parsed: unknown,
  invalid: string,
];

const rows: Row[] = [
  [`${P}LOG_LEVEL`, (c) => c.logLevel, 'info', 'error', 'error', 'chatty'],
  [`${P}STRICT`, (c) => c.strict, false, 'true', true, 'sometimes'],
  [`${P}DISABLED`, (c) => c.disabled, false, 'yes', true, 'perhaps'],
  [`${P}LISTENER_PORT`, (c) => c.listener.port, 0, '4243', 4243, '70000'],
  [
    `${P}TYPES`,
    (c) => c.subscription.types,
    ['platform', 'function', 'extension'],
    'function',
    ['function'],
    'metrics',
  ],
  [
    `${P}BUFFER_MAX_ITEMS`,
    (c) => c.subscription.maxItems,
    1_000,
    '2000',
    2_000,
    '20000',
  ],
  [
    `${P}BUFFER_MAX_BYTES`,
    (c) => c.subscription.maxBytes,
    262_144,
    '300000',
    300_000,
    '1',
  ],
  [
    `${P}BUFFER_TIMEOUT_MS`,
    (c) => c.subscription.timeoutMs,
    25,
    '100',
    100,
    '5',
  ],
  [`${P}FLUSH`, (c) => c.flush, 'next-invoke', 'end', 'end', 'later'],
  [`${P}FLUSH_INTERVAL_MS`, (c) => c.flushIntervalMs, 1_000, '250', 250, '0'],
  [`${P}EXPORT_TIMEOUT_MS`, (c) => c.export.timeoutMs, 5_000, '700', 700, '-1'],
  [
    `${P}MAX_REQUEST_BYTES`,
    (c) => c.export.maxRequestBytes,
    1_048_576,
    '65536',
    65_536,
    '12',
  ],
  [
    `${P}INVOKE_EXPORT_WAIT_MS`,
    (c) => c.export.invokeWaitMs,
    300,
    '0',
    0,
    '-1',
  ],
  [
    `${P}MAX_EXPORT_BATCH_SIZE`,
    (c) => c.export.maxBatchItems,
    512,
    '500',
    500,
    '0',
  ],
  [
    `${P}MAX_QUEUE_EVENTS`,
    (c) => c.queue.maxEvents,
    20_000,
    '100',
    100,
    'many',
  ],
  [
    `${P}MAX_QUEUE_BYTES`,
    (c) => c.queue.maxBytes,
    8_388_608,
    '4096',
    4_096,
    '10',
  ],
  [`${P}RETRY_BASE_MS`, (c) => c.retry.baseMs, 100, '50', 50, '0'],
  [`${P}RETRY_MAX_MS`, (c) => c.retry.maxMs, 1_000, '5000', 5_000, '1e3'],
  [`${P}SHUTDOWN_WAIT_MS`, (c) => c.shutdownWaitMs, undefined, '0', 0, '5000'],
  [`${P}PLATFORM_LOGS`, (c) => c.logs.platform, true, 'false', false, 'nope'],
  [`${P}METRICS`, (c) => c.metrics.enabled, true, 'off', false, 'some'],
  [
    `${P}METRICS_TEMPORALITY`,
    (c) => c.metrics.temporality,
    'delta',
    'Cumulative',
    'cumulative',
    'lowmemory',
  ],
  [
    'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
    (c) => c.metrics.temporality,
    'delta',
    'cumulative',
    'cumulative',
    'sometimes',
  ],
  [
    `${P}MAX_LOG_CHARS`,
    (c) => c.logs.maxBodyChars,
    65_536,
    '1000',
    1_000,
    '10',
  ],
  [
    `${P}FUNCTION_MIN_SEVERITY`,
    (c) => c.filters.functionMinSeverity,
    undefined,
    'warn',
    13,
    'LOUD',
  ],
  [
    `${P}EXTENSION_MIN_SEVERITY`,
    (c) => c.filters.extensionMinSeverity,
    undefined,
    'ERROR',
    17,
    '3',
  ],
  [
    `${P}PROTOCOL`,
    (c) => c.otlp.protocol,
    'http/protobuf',
    'http/json',
    'http/json',
    'grpc',
  ],
  [
    `${P}COMPRESSION`,
    (c) => c.otlp.compression,
    'none',
    'gzip',
    'gzip',
    'zstd',
  ],
  [
    'DISPATCH_MIN_BATCH_SIZE',
    (c) => c.dispatch.minBatchSize,
    1,
    '50',
    50,
    '5x',
  ],
  ['DISPATCH_FORMAT', (c) => c.dispatch.format, 'otlp', 'raw', 'raw', 'csv'],
];

describe.each(rows)('%s', (key, read, def, valid, parsed, invalid) => {
  it('missing: the default', () => {
    const { config, warnings } = loadConfig({});
    expect(read(config)).toEqual(def);
    expect(warnings).toEqual([]);
  });

  it(`valid (${valid}): taken`, () => {
    const { config, warnings } = loadConfig({ [key]: valid });
    expect(read(config)).toEqual(parsed);
    expect(warnings).toEqual([]);
  });

  it(`invalid (${invalid}): one line with the key and the value, and the default`, () => {
    const { config, warnings } = loadConfig({ [key]: invalid });
    expect(read(config)).toEqual(def);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(key);
    expect(warnings[0]).toContain(invalid);
  });
});

describe('list settings', () => {
  it.each([`${P}INCLUDE_EVENTS`, `${P}EXCLUDE_EVENTS`])(
    '%s takes a comma list, trimmed',
    (key) => {
      const { config } = loadConfig({ [key]: ' function, platform.* ,' });
      const list = key.endsWith('INCLUDE_EVENTS')
        ? config.filters.include
        : config.filters.exclude;
      expect(list).toEqual(['function', 'platform.*']);
    }
  );
});
