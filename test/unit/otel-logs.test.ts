import { SeverityNumber } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  type ParsedLog,
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
        attributes: {
          'exception.type': 'PaymentError',
          'exception.stacktrace': 'a\nb',
        },
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
      { note: 'no message key', level: 'info', durationMs: 12.5 },
      {
        body: { note: 'no message key', level: 'info', durationMs: 12.5 },
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

const PY_RID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const T0 = Date.parse('2025-03-14T11:00:00.230Z');
const NBSP2 = '\u00a0\u00a0';

describe("parseLogRecord: every managed runtime's text lines", () => {
  it.each<[string, unknown, ParsedLog]>([
    [
      'Python Text format',
      `[WARNING]\t2025-03-14T11:00:00.230Z\t${PY_RID}\tpayment provider slow, retrying (attempt 2)\n`,
      {
        body: 'payment provider slow, retrying (attempt 2)',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'WARNING',
        severityNumber: SeverityNumber.WARN,
        attributes: {},
      },
    ],
    [
      'Python Text format during init (empty request id)',
      '[INFO]\t2025-03-14T11:00:00.230Z\t\tFound credentials in environment variables.\n',
      {
        body: 'Found credentials in environment variables.',
        timeMs: T0,
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: {},
      },
    ],
    [
      "Python's unhandled-exception warning",
      `[WARNING]\t2025-03-14T11:00:00.230Z\t${PY_RID}\tLAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code.\n`,
      {
        body: 'LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code.',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'WARNING',
        severityNumber: SeverityNumber.WARN,
        attributes: {},
      },
    ],
    [
      "Python's unhandled-exception record: the traceback kept whole",
      `[ERROR] KeyError: 'order_id'\nTraceback (most recent call last):\n${NBSP2}File "/var/task/app.py", line 7, in handler\n${NBSP2}${NBSP2}return event['order_id']\n`,
      {
        body: `KeyError: 'order_id'\nTraceback (most recent call last):\n${NBSP2}File "/var/task/app.py", line 7, in handler\n${NBSP2}${NBSP2}return event['order_id']`,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          'exception.type': 'KeyError',
          'exception.message': "'order_id'",
          'exception.stacktrace': `Traceback (most recent call last):\n${NBSP2}File "/var/task/app.py", line 7, in handler\n${NBSP2}${NBSP2}return event['order_id']`,
        },
      },
    ],
    [
      '.NET text format, abbreviated level (fail)',
      `2025-03-14T11:00:00.230Z\t${PY_RID}\tfail\tSystem.InvalidOperationException: no stock\n   at Shop.Handler.Run() in /src/Handler.cs:line 12\n`,
      {
        body: 'System.InvalidOperationException: no stock\n   at Shop.Handler.Run() in /src/Handler.cs:line 12',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'FAIL',
        severityNumber: SeverityNumber.ERROR,
        attributes: {},
      },
    ],
    ...(
      [
        ['trce', 'TRCE', SeverityNumber.TRACE],
        ['dbug', 'DBUG', SeverityNumber.DEBUG],
        ['info', 'INFO', SeverityNumber.INFO],
        ['warn', 'WARN', SeverityNumber.WARN],
        ['crit', 'CRIT', SeverityNumber.FATAL],
      ] as const
    ).map(
      ([label, text, number]) =>
        [
          `.NET text format, ${label}`,
          `2025-03-14T11:00:00.230Z\t${PY_RID}\t${label}\tstock checked`,
          {
            body: 'stock checked',
            timeMs: T0,
            requestId: PY_RID,
            severityText: text,
            severityNumber: number,
            attributes: {},
          },
        ] as [string, unknown, ParsedLog]
    ),
    [
      'Java LambdaLogger text format',
      '[WARN] inventory low for sku-9\n',
      {
        body: 'inventory low for sku-9',
        severityText: 'WARN',
        severityNumber: SeverityNumber.WARN,
        attributes: {},
      },
    ],
    [
      'Ruby Logger format',
      `I, [2025-03-14T11:00:00.230451 #8]  INFO ${PY_RID} -- : order shipped\n`,
      {
        body: 'order shipped',
        timeMs: Date.parse('2025-03-14T11:00:00.230Z') + 0.451,
        requestId: PY_RID,
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: {},
      },
    ],
    [
      'Ruby Logger format with a progname, outside an invocation',
      'E, [2025-03-14T11:00:00.230000 #8] ERROR  -- billing: card declined\n',
      {
        body: 'card declined',
        timeMs: T0,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: { progname: 'billing' },
      },
    ],
    [
      'a JSON document after the Node prefix: its own level, message and keys win',
      `2025-03-14T11:00:00.230Z\t${PY_RID}\tINFO\t{"level":"warn","msg":"quota at 90%","tenant":"t-1"}\n`,
      {
        body: 'quota at 90%',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'WARN',
        severityNumber: SeverityNumber.WARN,
        attributes: { tenant: 't-1' },
      },
    ],
    [
      'a JSON document after the Python prefix, with its own time',
      `[INFO]\t2025-03-14T11:00:00.230Z\t${PY_RID}\t{"message":"cart saved","timestamp":"2025-03-14T11:00:00.100Z","items":3}`,
      {
        body: 'cart saved',
        timeMs: Date.parse('2025-03-14T11:00:00.100Z'),
        requestId: PY_RID,
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: { items: 3 },
      },
    ],
    [
      'a bracketed word that is no level stays the body',
      '[cache] miss for user:42',
      { body: '[cache] miss for user:42', attributes: {} },
    ],
    [
      'a line that only looks like a prefix (unknown level)',
      `2025-03-14T11:00:00.230Z\t${PY_RID}\tLOUD\tx`,
      { body: `2025-03-14T11:00:00.230Z\t${PY_RID}\tLOUD\tx`, attributes: {} },
    ],
  ])('%s', (_name, record, expected) => {
    expect(parseLogRecord(record)).toEqual(expected);
  });
});

describe('parseLogRecord: JSON records, by the conventions loggers use', () => {
  it.each([
    [
      "Python runtime's unhandled-error record (log_level, no message)",
      {
        timestamp: '2025-03-14T11:00:01',
        log_level: 'ERROR',
        errorMessage: "'order_id'",
        errorType: 'KeyError',
        requestId: PY_RID,
        stackTrace: [
          '  File "/var/task/app.py", line 7, in handler\n    return event[\'order_id\']\n',
        ],
      },
      {
        body: "'order_id'",
        timeMs: Date.parse('2025-03-14T11:00:01Z'),
        requestId: PY_RID,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          'exception.type': 'KeyError',
          'exception.message': "'order_id'",
          'exception.stacktrace':
            '  File "/var/task/app.py", line 7, in handler\n    return event[\'order_id\']',
        },
      },
    ],
    [
      'Python JSON format logger.exception (lambda_runtime_log_utils)',
      {
        timestamp: '2025-03-14T11:00:00.230Z',
        level: 'ERROR',
        message: 'lookup failed',
        logger: 'root',
        stackTrace: ['  File "/var/task/app.py", line 7, in handler\n'],
        errorType: 'KeyError',
        errorMessage: "'order_id'",
        requestId: PY_RID,
        location: '/var/task/app.py:handler:9',
      },
      {
        body: 'lookup failed',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          logger: 'root',
          location: '/var/task/app.py:handler:9',
          'exception.type': 'KeyError',
          'exception.message': "'order_id'",
          'exception.stacktrace':
            '  File "/var/task/app.py", line 7, in handler',
        },
      },
    ],
    [
      '.NET JSON format error with an empty message: the error is the body',
      {
        timestamp: '2025-03-14T11:00:00.230Z',
        level: 'Error',
        requestId: PY_RID,
        traceId: 'Root=1-67d40e30-0123456789abcdef01234567',
        message: '',
        errorType: 'System.InvalidOperationException',
        errorMessage: 'no stock',
        stackTrace: [
          'System.InvalidOperationException: no stock',
          'at Shop.Handler.Run() in /src/Handler.cs:line 12',
        ],
      },
      {
        body: 'no stock',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          traceId: 'Root=1-67d40e30-0123456789abcdef01234567',
          'exception.type': 'System.InvalidOperationException',
          'exception.message': 'no stock',
          'exception.stacktrace':
            'System.InvalidOperationException: no stock\nat Shop.Handler.Run() in /src/Handler.cs:line 12',
        },
      },
    ],
    [
      '.NET JSON format, Information',
      {
        timestamp: '2025-03-14T11:00:00.230Z',
        level: 'Information',
        requestId: PY_RID,
        message: 'order 17 accepted',
        orderId: 17,
      },
      {
        body: 'order 17 accepted',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'INFORMATION',
        severityNumber: SeverityNumber.INFO,
        attributes: { orderId: 17 },
      },
    ],
    [
      'Java JSON format (AWSRequestId)',
      {
        timestamp: '2025-03-14T11:00:00.230Z',
        level: 'WARN',
        message: 'retrying',
        AWSRequestId: PY_RID,
      },
      {
        body: 'retrying',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'WARN',
        severityNumber: SeverityNumber.WARN,
        attributes: {},
      },
    ],
    [
      'pino: msg, numeric level, epoch-ms time, err object',
      {
        level: 50,
        time: T0,
        pid: 8,
        hostname: 'h',
        msg: 'db write failed',
        err: {
          type: 'Error',
          message: 'ECONNRESET',
          stack: 'Error: ECONNRESET\n    at write (/var/task/db.js:4:9)',
          code: 'ECONNRESET',
        },
      },
      {
        body: 'db write failed',
        timeMs: T0,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          pid: 8,
          hostname: 'h',
          'exception.type': 'Error',
          'exception.message': 'ECONNRESET',
          'exception.stacktrace':
            'Error: ECONNRESET\n    at write (/var/task/db.js:4:9)',
          err: { code: 'ECONNRESET' },
        },
      },
    ],
    [
      'pino error with no msg: the error message is the body',
      {
        level: 50,
        time: T0,
        err: {
          type: 'TypeError',
          message: 'x is undefined',
          stack: 'TypeError: x is undefined',
        },
      },
      {
        body: 'x is undefined',
        timeMs: T0,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          'exception.type': 'TypeError',
          'exception.message': 'x is undefined',
          'exception.stacktrace': 'TypeError: x is undefined',
        },
      },
    ],
    [
      'structlog: event, epoch-seconds timestamp',
      {
        event: 'user signed in',
        level: 'info',
        timestamp: T0 / 1000,
        user: 'u1',
      },
      {
        body: 'user signed in',
        timeMs: T0,
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: { user: 'u1' },
      },
    ],
    [
      'python-json-logger: levelname, asctime with a comma, exc_info',
      {
        asctime: '2025-03-14 11:00:00,230',
        levelname: 'CRITICAL',
        name: 'app',
        message: 'giving up',
        exc_info:
          'Traceback (most recent call last):\n  File "app.py", line 3\nValueError: bad',
      },
      {
        body: 'giving up',
        timeMs: T0,
        severityText: 'CRITICAL',
        severityNumber: SeverityNumber.FATAL,
        attributes: {
          name: 'app',
          'exception.stacktrace':
            'Traceback (most recent call last):\n  File "app.py", line 3\nValueError: bad',
        },
      },
    ],
    [
      'Powertools for Python: +0000 offset, function_request_id, exception',
      {
        level: 'ERROR',
        location: 'handler:12',
        message: 'charge failed',
        timestamp: '2025-03-14 11:00:00,230+0000',
        service: 'payment',
        function_request_id: PY_RID,
        exception: 'Traceback (most recent call last):\nKeyError: x',
        exception_name: 'KeyError',
      },
      {
        body: 'charge failed',
        timeMs: T0,
        requestId: PY_RID,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          location: 'handler:12',
          service: 'payment',
          'exception.type': 'KeyError',
          'exception.stacktrace':
            'Traceback (most recent call last):\nKeyError: x',
        },
      },
    ],
    [
      'logstash-logback-encoder: @timestamp with offset, stack_trace',
      {
        '@timestamp': '2025-03-14T12:00:00.230+01:00',
        '@version': '1',
        message: 'request failed',
        logger_name: 'shop.Api',
        level: 'ERROR',
        level_value: 40000,
        stack_trace:
          'java.io.IOException: reset\n\tat shop.Api.call(Api.java:9)',
      },
      {
        body: 'request failed',
        timeMs: T0,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          '@version': '1',
          logger_name: 'shop.Api',
          level_value: 40000,
          'exception.stacktrace':
            'java.io.IOException: reset\n\tat shop.Api.call(Api.java:9)',
        },
      },
    ],
    [
      'log4j2 JsonLayout: instant, thrown',
      {
        instant: { epochSecond: T0 / 1000 - 0.23, nanoOfSecond: 230_000_000 },
        thread: 'main',
        level: 'ERROR',
        loggerName: 'shop.Api',
        message: 'boom',
        thrown: { name: 'java.lang.IllegalStateException', message: 'closed' },
      },
      {
        body: 'boom',
        timeMs: T0,
        severityText: 'ERROR',
        severityNumber: SeverityNumber.ERROR,
        attributes: {
          thread: 'main',
          loggerName: 'shop.Api',
          'exception.type': 'java.lang.IllegalStateException',
          'exception.message': 'closed',
        },
      },
    ],
    [
      'Serilog compact JSON: @t with 7 digits, @mt, no @l (Information)',
      {
        '@t': '2025-03-14T11:00:00.2300000Z',
        '@mt': 'Processed {OrderId}',
        OrderId: 17,
      },
      {
        body: 'Processed {OrderId}',
        timeMs: T0,
        severityText: 'INFORMATION',
        severityNumber: SeverityNumber.INFO,
        attributes: { OrderId: 17 },
      },
    ],
    [
      'Serilog compact JSON with @m, @l and @x',
      {
        '@t': '2025-03-14T11:00:00.2300000Z',
        '@m': 'Processed 17',
        '@mt': 'Processed {OrderId}',
        '@l': 'Warning',
        '@x': 'System.TimeoutException: slow',
      },
      {
        body: 'Processed 17',
        timeMs: T0,
        severityText: 'WARNING',
        severityNumber: SeverityNumber.WARN,
        attributes: {
          '@mt': 'Processed {OrderId}',
          'exception.stacktrace': 'System.TimeoutException: slow',
        },
      },
    ],
    [
      '.NET JSON console: LogLevel, Message, Category',
      {
        EventId: 0,
        LogLevel: 'Warning',
        Category: 'Shop.Api',
        Message: 'slow call',
        State: { Message: 'slow call' },
      },
      {
        body: 'slow call',
        severityText: 'WARNING',
        severityNumber: SeverityNumber.WARN,
        attributes: {
          EventId: 0,
          Category: 'Shop.Api',
          State: { Message: 'slow call' },
        },
      },
    ],
    [
      'a timestamp that cannot be read keeps its text as an attribute',
      { timestamp: 'yesterday at noon', level: 'info', message: 'x' },
      {
        body: 'x',
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: { timestamp: 'yesterday at noon' },
      },
    ],
    [
      'a level that is no level stays an attribute',
      { level: 'LOUD', message: 'x' },
      { body: 'x', attributes: { level: 'LOUD' } },
    ],
    [
      'an error object with no message or stack is data, not an error',
      { message: 'x', error: { code: 7 } },
      { body: 'x', attributes: { error: { code: 7 } } },
    ],
  ])('%s', (_name, record, expected) => {
    expect(parseLogRecord(record)).toEqual(expected);
  });

  it('no record that carries an error ends with an empty or null body', () => {
    for (const record of [
      { level: 'ERROR', message: null, errorType: 'E', errorMessage: 'm' },
      { level: 'ERROR', message: '', errorType: 'E' },
      {
        log_level: 'ERROR',
        errorType: '',
        errorMessage: '',
        stackTrace: ['  at a'],
      },
      { error: { name: 'E', stack: 'E\n at b' } },
    ]) {
      const { body } = parseLogRecord(record);
      expect(
        typeof body === 'string' && body.length > 0,
        JSON.stringify(record)
      ).toBe(true);
    }
  });
});

describe('parseLogRecord: timestamps in the encodings loggers use', () => {
  it.each([
    ['ISO with Z', '2025-03-14T11:00:00.230Z'],
    ['no zone (read as UTC)', '2025-03-14T11:00:00.230'],
    ['a space for T', '2025-03-14 11:00:00.230Z'],
    ['a comma before the fraction', '2025-03-14 11:00:00,230'],
    ['+hhmm', '2025-03-14T13:00:00.230+0200'],
    ['+hh:mm', '2025-03-14T06:00:00.230-05:00'],
    ['nine fraction digits', '2025-03-14T11:00:00.230000000Z'],
    ['RFC 2822', 'Fri, 14 Mar 2025 11:00:00 GMT', T0 - 230],
    ['epoch seconds', T0 / 1000],
    ['epoch milliseconds', T0],
    ['epoch microseconds', T0 * 1000],
    ['epoch nanoseconds', T0 * 1e6],
  ])('%s', (_name, time, expected = T0) => {
    const parsed = parseLogRecord({ time, message: 'x' });
    expect(parsed.timeMs).toBeCloseTo(expected, 3);
    expect(parsed.attributes).toEqual({});
  });

  // A `time` that is a duration or a count, or text that merely contains a
  // number, is no time of the record: kept as an attribute, not read as
  // 1970 or as a year Date.parse guesses.
  it.each([
    ['a small number (a duration)', 5],
    ['zero', 0],
    ['a number before 2000 in any unit', 9e8],
    ['a bare number as text', '42'],
    ['text with a number', 'step 3'],
    ['a single digit', '1'],
  ])('%s is not a time', (_name, time) => {
    const parsed = parseLogRecord({ time, message: 'x' });
    expect(parsed.timeMs).toBeUndefined();
    expect(parsed.attributes).toEqual({ time });
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
