/**
 * The built layer under the emulator speaking as a Python and a .NET
 * function (src/emulator/runtimes.ts: each runtime's lines as its public
 * source prints them): every record must reach the OTLP receiver with the
 * body, severity, time and exception attributes the README's mapping
 * tables give, decoded independently of the extension.
 */
import { describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import type { ExpectedLog, LogLine } from '../../src/emulator/emulator.js';
import {
  dotnetJson,
  dotnetText,
  PYTHON_UNHANDLED_WARNING,
  pythonJson,
  pythonText,
  pythonUnhandledJson,
  pythonUnhandledText,
} from '../../src/emulator/runtimes.js';
import { type Harness, harnesses } from '../helpers/layer.js';

const start = harnesses();
const OTLP = { DISPATCH_FORMAT: 'otlp' };

// Fixed times, well before the events' own: a record that took the event's
// time instead of its line's would show it. Each a millisecond apart.
const T = (ms: number) => Date.parse('2025-03-14T11:00:00.000Z') + ms;
const WARN = 13;
const ERROR = 17;
const INFO = 9;
const DEBUG = 5;
const FATAL = 21;

const KEY_ERROR = {
  errorType: 'KeyError',
  errorMessage: "'order_id'",
  stackTrace: [
    '  File "/var/task/app.py", line 7, in handler\n    return event["order_id"]\n',
  ],
};
const NB = '\u00a0';
const KEY_ERROR_TRACE = `Traceback (most recent call last):\n${NB.repeat(2)}File "/var/task/app.py", line 7, in handler\n${NB.repeat(4)}return event["order_id"]`;

const line = (
  atMs: number,
  record: (rid: string) => unknown,
  expect: ExpectedLog
): LogLine => ({ atMs, format: 'record', message: '', record, expect });

async function run(
  h: Harness,
  environments: { lines: LogLine[]; failing: LogLine[]; errorType: string }[]
): Promise<void> {
  for (const env of environments) {
    await h.emu.launch();
    await h.emu.invoke({ handlerMs: 10, lines: env.lines });
    await h.emu.invoke({
      handlerMs: 10,
      status: 'error',
      errorType: env.errorType,
      lines: env.failing,
    });
    await h.emu.shutdown('spindown');
  }
}

function expectAllArrived(h: Harness): void {
  const check = checkOtlp(h.emu, h.sink.otlp());
  expect(check.problems).toEqual([]);
  expect(check.functionLinesFound).toBe(check.functionLines);
  expect(check.duplicateLines).toBe(0);
}

describe('a Python function under the emulator', () => {
  it('Text and JSON formats, and the unhandled-exception pair, arrive as specified', async () => {
    const h = await start(OTLP);
    const textLines: LogLine[] = [
      line(
        1,
        (rid) =>
          pythonText(
            'WARNING',
            T(230),
            rid,
            'payment provider slow, retrying (attempt 2)'
          ),
        {
          body: 'payment provider slow, retrying (attempt 2)',
          severityText: 'WARNING',
          severityNumber: WARN,
          timeMs: T(230),
        }
      ),
      line(2, (rid) => pythonText('DEBUG', T(231), rid, 'cache miss'), {
        body: 'cache miss',
        severityText: 'DEBUG',
        severityNumber: DEBUG,
        timeMs: T(231),
      }),
      line(
        3,
        (rid) =>
          pythonText('INFO', T(232), rid, '{"message":"cart saved","items":3}'),
        {
          body: 'cart saved',
          severityText: 'INFO',
          severityNumber: INFO,
          timeMs: T(232),
          attributes: { items: 3 },
        }
      ),
      line(4, () => 'print() output, no prefix\n', {
        body: 'print() output, no prefix',
      }),
    ];
    const [warning, error] = pythonUnhandledText(T(240), '', KEY_ERROR);
    const textFailing: LogLine[] = [
      line(1, (rid) => warning.replace('\t\t', `\t${rid}\t`), {
        body: PYTHON_UNHANDLED_WARNING,
        severityText: 'WARNING',
        severityNumber: WARN,
        timeMs: T(240),
      }),
      line(2, () => error, {
        body: `KeyError: 'order_id'\n${KEY_ERROR_TRACE}`,
        severityText: 'ERROR',
        severityNumber: ERROR,
        attributes: {
          'exception.type': 'KeyError',
          'exception.message': "'order_id'",
          'exception.stacktrace': KEY_ERROR_TRACE,
        },
      }),
    ];
    const jsonLines: LogLine[] = [
      line(
        1,
        (rid) =>
          pythonJson('WARNING', T(250), rid, 'payment provider slow', {
            attempt: 2,
          }),
        {
          body: 'payment provider slow',
          severityText: 'WARNING',
          severityNumber: WARN,
          timeMs: T(250),
          attributes: { attempt: 2, logger: 'root' },
        }
      ),
      line(
        2,
        (rid) =>
          pythonJson('CRITICAL', T(251), rid, 'ledger unreachable', {
            errorType: 'ConnectionError',
            errorMessage: 'timed out',
            stackTrace: ['  File "/var/task/ledger.py", line 3, in post\n'],
            location: '/var/task/app.py:handler:12',
          }),
        {
          body: 'ledger unreachable',
          severityText: 'CRITICAL',
          severityNumber: FATAL,
          timeMs: T(251),
          attributes: {
            'exception.type': 'ConnectionError',
            'exception.message': 'timed out',
            'exception.stacktrace':
              '  File "/var/task/ledger.py", line 3, in post',
            location: '/var/task/app.py:handler:12',
          },
        }
      ),
    ];
    const jsonFailing: LogLine[] = [
      line(1, (rid) => pythonUnhandledJson(T(260), rid, KEY_ERROR)[0], {
        body: PYTHON_UNHANDLED_WARNING,
        severityText: 'WARNING',
        severityNumber: WARN,
        timeMs: T(260),
      }),
      line(2, (rid) => pythonUnhandledJson(T(3000), rid, KEY_ERROR)[1], {
        body: "'order_id'",
        severityText: 'ERROR',
        severityNumber: ERROR,
        // `%Y-%m-%dT%H:%M:%S`, no zone: read as UTC, whole seconds.
        timeMs: T(3000),
        attributes: {
          'exception.type': 'KeyError',
          'exception.message': "'order_id'",
          'exception.stacktrace':
            '  File "/var/task/app.py", line 7, in handler\n    return event["order_id"]',
        },
      }),
    ];
    await run(h, [
      { lines: textLines, failing: textFailing, errorType: 'KeyError' },
      { lines: jsonLines, failing: jsonFailing, errorType: 'KeyError' },
    ]);
    expectAllArrived(h);
  });
});

describe('a .NET function under the emulator', () => {
  const exception = {
    type: 'System.InvalidOperationException',
    message: 'no stock for sku-9',
    toString:
      'System.InvalidOperationException: no stock for sku-9\n   at Shop.Handler.Run(Order o) in /src/Handler.cs:line 12',
  };
  it('Text and JSON formats, abbreviated and full level names, exceptions, arrive as specified', async () => {
    const h = await start(OTLP);
    const textLines: LogLine[] = (
      [
        ['Trace', 'TRCE', 1],
        ['Debug', 'DBUG', DEBUG],
        ['Information', 'INFO', INFO],
        ['Warning', 'WARN', WARN],
        ['Critical', 'CRIT', FATAL],
      ] as const
    ).map(([level, text, number], i) =>
      line(
        i + 1,
        (rid) => dotnetText(level, T(300 + i), rid, `${level} line`),
        {
          body: `${level} line`,
          severityText: text,
          severityNumber: number,
          timeMs: T(300 + i),
        }
      )
    );
    const textFailing: LogLine[] = [
      line(
        1,
        (rid) => dotnetText('Error', T(310), rid, '', exception.toString),
        {
          body: exception.toString,
          severityText: 'FAIL',
          severityNumber: ERROR,
          timeMs: T(310),
        }
      ),
    ];
    const jsonLines: LogLine[] = [
      line(
        1,
        (rid) =>
          dotnetJson('Information', T(320), rid, 'order 17 accepted', {
            OrderId: 17,
          }),
        {
          body: 'order 17 accepted',
          severityText: 'INFORMATION',
          severityNumber: INFO,
          timeMs: T(320),
          attributes: { OrderId: 17 },
        }
      ),
      line(2, (rid) => dotnetJson('Warning', T(321), rid, 'slow call'), {
        body: 'slow call',
        severityText: 'WARNING',
        severityNumber: WARN,
        timeMs: T(321),
      }),
    ];
    const jsonFailing: LogLine[] = [
      line(1, (rid) => dotnetJson('Error', T(330), rid, '', {}, exception), {
        body: 'no stock for sku-9',
        severityText: 'ERROR',
        severityNumber: ERROR,
        timeMs: T(330),
        attributes: {
          'exception.type': 'System.InvalidOperationException',
          'exception.message': 'no stock for sku-9',
          'exception.stacktrace':
            'System.InvalidOperationException: no stock for sku-9\nat Shop.Handler.Run(Order o) in /src/Handler.cs:line 12',
        },
      }),
    ];
    await run(h, [
      {
        lines: textLines,
        failing: textFailing,
        errorType: 'System.InvalidOperationException',
      },
      {
        lines: jsonLines,
        failing: jsonFailing,
        errorType: 'System.InvalidOperationException',
      },
    ]);
    expectAllArrived(h);
  });
});
