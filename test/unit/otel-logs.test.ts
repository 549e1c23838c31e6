import { SeverityNumber } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  parseLogRecord,
  platformLine,
  severityOf,
} from '../../src/otel/logs.js';

const RID = '8f5e6b1a-1111-4222-8333-944445555666';

describe('parseLogRecord: function and extension records in every shape', () => {
  it.each([
    [
      'Node text format',
      `2026-11-25T10:00:00.123Z\t${RID}\tINFO\thello world\n`,
      {
        body: 'hello world',
        timeMs: Date.parse('2026-11-25T10:00:00.123Z'),
        requestId: RID,
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: {},
      },
    ],
    [
      'Node text format, multi-line message kept whole',
      `2026-11-25T10:00:00.123Z\t${RID}\tERROR\tError: boom\n    at handler (/var/task/index.js:3:9)\n`,
      {
        body: 'Error: boom\n    at handler (/var/task/index.js:3:9)',
        timeMs: Date.parse('2026-11-25T10:00:00.123Z'),
        requestId: RID,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {},
      },
    ],
    [
      'Node text format outside an invocation (request id "undefined")',
      '2026-11-25T10:00:00.000Z\tundefined\tWARN\tat init\n',
      {
        body: 'at init',
        timeMs: Date.parse('2026-11-25T10:00:00.000Z'),
        severityText: 'WARN',
        severityNumber: SeverityNumber.WARN,
        attributes: {},
      },
    ],
    [
      'a plain TEXT line',
      'just a line\n',
      { body: 'just a line', attributes: {} },
    ],
    [
      'a line that only looks tab-separated',
      'a\tb\tc\td',
      { body: 'a\tb\tc\td', attributes: {} },
    ],
    [
      'a JSON object written as a TEXT line',
      '{"level":"warn","message":"from pino-like logger","userId":7}\n',
      {
        body: 'from pino-like logger',
        severityText: 'WARN',
        severityNumber: SeverityNumber.WARN,
        attributes: { userId: 7 },
      },
    ],
    [
      'a JSON-format record with message',
      {
        timestamp: '2026-11-25T10:00:01.500Z',
        level: 'ERROR',
        requestId: RID,
        message: 'card declined',
        errorType: 'PaymentError',
        stackTrace: ['a', 'b'],
      },
      {
        body: 'card declined',
        timeMs: Date.parse('2026-11-25T10:00:01.500Z'),
        requestId: RID,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: { errorType: 'PaymentError', stackTrace: ['a', 'b'] },
      },
    ],
    [
      'a JSON-format record whose message is an object',
      {
        timestamp: '2026-11-25T10:00:01.500Z',
        level: 'INFO',
        requestId: RID,
        message: { nested: { ok: true } },
      },
      {
        body: { nested: { ok: true } },
        timeMs: Date.parse('2026-11-25T10:00:01.500Z'),
        requestId: RID,
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: {},
      },
    ],
    [
      'a JSON record without message: the whole object is the body',
      { msg: 'no message key', level: 'info', durationMs: 12.5 },
      {
        body: { msg: 'no message key', level: 'info', durationMs: 12.5 },
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: {},
      },
    ],
    ['null', null, { body: null, attributes: {} }],
    ['a number', 42, { body: 42, attributes: {} }],
  ])('%s', (_name, record, expected) => {
    expect(parseLogRecord(record)).toEqual(expected);
  });

  it('keeps sub-millisecond digits of a timestamp', () => {
    const parsed = parseLogRecord({
      timestamp: '2026-11-25T10:00:00.123456Z',
      message: 'x',
    });
    expect(parsed.timeMs).toBeCloseTo(
      Date.parse('2026-11-25T10:00:00.123Z') + 0.456,
      6
    );
  });
});

describe('severityOf', () => {
  it.each([
    ['TRACE', 'TRACE', SeverityNumber.TRACE],
    ['ALL', 'ALL', SeverityNumber.TRACE],
    ['debug', 'DEBUG', SeverityNumber.DEBUG],
    ['Info', 'INFO', SeverityNumber.INFO],
    ['WARN', 'WARN', SeverityNumber.WARN],
    ['WARNING', 'WARNING', SeverityNumber.WARN],
    ['ERROR', 'ERROR', SeverityNumber.ERROR],
    ['FATAL', 'FATAL', SeverityNumber.FATAL],
    ['CRITICAL', 'CRITICAL', SeverityNumber.FATAL],
    [30, 'INFO', SeverityNumber.INFO],
    [50, 'ERROR', SeverityNumber.ERROR],
  ])('%j -> %s (%i)', (level, text, number) => {
    expect(severityOf(level)).toEqual({ text, number });
  });

  it.each(['LOUD', '', 35, null, undefined, {}])(
    '%j has no severity',
    (level) => {
      expect(severityOf(level)).toBeUndefined();
    }
  );
});

describe('platformLine: CloudWatch-style lines', () => {
  it.each([
    [
      'platform.start',
      { requestId: RID, version: '$LATEST' },
      `START RequestId: ${RID} Version: $LATEST`,
    ],
    [
      'platform.runtimeDone',
      { requestId: RID, status: 'success' },
      `END RequestId: ${RID}`,
    ],
    [
      'platform.runtimeDone',
      { requestId: RID, status: 'timeout', errorType: 'Sandbox.Timedout' },
      `END RequestId: ${RID} Status: timeout Error Type: Sandbox.Timedout`,
    ],
    [
      'platform.report',
      {
        requestId: RID,
        status: 'success',
        metrics: {
          durationMs: 20.5,
          billedDurationMs: 21,
          memorySizeMB: 128,
          maxMemoryUsedMB: 61,
          initDurationMs: 95.25,
        },
      },
      `REPORT RequestId: ${RID}\tDuration: 20.50 ms\tBilled Duration: 21 ms\tMemory Size: 128 MB\tMax Memory Used: 61 MB\tInit Duration: 95.25 ms`,
    ],
    [
      'platform.initStart',
      { runtimeVersion: 'nodejs:22.v40', runtimeVersionArn: 'arn:x' },
      'INIT_START Runtime Version: nodejs:22.v40\tRuntime Version ARN: arn:x',
    ],
    [
      'platform.initReport',
      { phase: 'init', status: 'success', metrics: { durationMs: 100 } },
      'INIT_REPORT Init Duration: 100 ms\tPhase: init\tStatus: success',
    ],
    [
      'platform.restoreReport',
      { status: 'success', metrics: { durationMs: 50 } },
      'RESTORE_REPORT Restore Duration: 50 ms\tStatus: success',
    ],
    [
      'platform.logsDropped',
      { droppedRecords: 3, droppedBytes: 900, reason: 'slow' },
      'LOGS_DROPPED DroppedRecords: 3 DroppedBytes: 900 Reason: slow',
    ],
    [
      'platform.extension',
      { name: 'x', state: 'Ready', events: ['INVOKE', 'SHUTDOWN'] },
      'EXTENSION Name: x State: Ready Events: [INVOKE, SHUTDOWN]',
    ],
  ])('%s', (type, record, line) => {
    expect(platformLine(type, record)).toBe(line);
  });

  it('has no line for an unknown type', () => {
    expect(platformLine('platform.fromTheFuture', {})).toBeUndefined();
  });
});

describe('platformLine with hostile records (found by the property test)', () => {
  it.each([
    ['platform.report', { requestId: { toString: null } }],
    [
      'platform.start',
      { requestId: Object.create(null), version: [1, { a: 2 }] },
    ],
    ['platform.extension', { name: 1n, events: [{ toString: null }] }],
  ])('%s never throws', (type, record) => {
    expect(() =>
      platformLine(type, record as Record<string, unknown>)
    ).not.toThrow();
  });
});
