/**
 * The built layer beside a real function: AWS's Node.js runtime interface
 * client (aws-lambda-ric) running a handler under the emulator's Runtime
 * API, its log calls framed on the log descriptor as Lambda hands them.
 * Every line the handler logged must reach the OTLP receiver once, with
 * the severity, time and request id the runtime client gave it, decoded
 * independently; the platform events must say what the process did.
 *
 * aws-lambda-ric is an optional dependency with a native build: where it
 * could not be built, each test says so and checks the fallback instead
 * (the demo's scripted runtime, and the one line saying why).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import type { LambdaEmulator } from '../../src/emulator/emulator.js';
import type { FunctionRecord } from '../../src/emulator/function-process.js';
import { runDemo, runFunction } from '../../src/emulator/run-function.js';
import { findRuntimeClient } from '../../src/emulator/runtime-client.js';
import { Sink } from '../../src/emulator/sink.js';
import { FAST_ENV, LAUNCHER } from '../helpers/layer.js';

const rc = findRuntimeClient();
const FUNCTIONS = resolve('test/fixtures/functions');

/** Whether this machine can build it (Linux, cmake, make, a C++ compiler). */
function toolchain(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    for (const tool of ['cmake', 'make', 'g++'])
      execFileSync(tool, ['--version'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** True when the real client can run; otherwise says why, once per test. */
function realClient(): boolean {
  if (rc.found) return true;
  console.warn(
    `aws-lambda-ric unavailable (${rc.reason}): checking the fallback only`
  );
  return false;
}

interface Run {
  emu: LambdaEmulator;
  sink: Sink;
  records: FunctionRecord[];
}

async function run(
  handler: string,
  events: unknown[],
  fn: { logFormat: 'Text' | 'JSON'; logLevel?: string; timeoutMs?: number },
  dispatchFormat = 'otlp'
): Promise<Run> {
  const sink = new Sink();
  const url = await sink.start();
  const records: FunctionRecord[] = [];
  try {
    const emu = await runFunction({
      extensionPath: LAUNCHER,
      captureExtensionOutput: false,
      env: {
        DISPATCH_POST_URI: url,
        DISPATCH_FORMAT: dispatchFormat,
        ...FAST_ENV,
      },
      function: { taskRoot: FUNCTIONS, handler, ...fn },
      events: events.map((e) => JSON.stringify(e)),
      onFunctionRecord: (r) => records.push(r),
    });
    return { emu, sink, records };
  } finally {
    await sink.close();
  }
}

/** The platform events the emulator sent, by type. */
function platform(
  emu: LambdaEmulator,
  type: string
): Record<string, unknown>[] {
  return emu.deliveries.flatMap((d) =>
    d.log
      .filter((l) => l.type === type && !l.snapshot)
      .map(
        (l) =>
          (JSON.parse(l.json) as { record: Record<string, unknown> }).record
      )
  );
}

function expectEveryLineOnce(r: Run): void {
  const check = checkOtlp(r.emu, r.sink.otlp());
  expect(check.problems).toEqual([]);
  expect(check.functionLinesFound).toBe(check.functionLines);
  expect(check.duplicateLines).toBe(0);
  expect(check.invocationSpans).toBe(check.invocations);
}

describe('the real Node.js runtime interface client under the emulator', () => {
  it('is built where CI requires it (REQUIRE_AWS_LAMBDA_RIC=1, .ci/run)', () => {
    if (process.env.REQUIRE_AWS_LAMBDA_RIC === '1') {
      expect(rc).toMatchObject({ found: true });
      return;
    }
    // Elsewhere (an npm ci on Node 20 leaves it out; no toolchain; not
    // Linux) its absence is allowed, and said.
    if (!rc.found)
      console.warn(
        `aws-lambda-ric not built (${rc.reason})${toolchain() ? '; a toolchain is here: see the README, "Your own function"' : ''}`
      );
    expect(rc.found || rc.reason.length > 0).toBe(true);
  });

  it('Text format: every log call arrives once, whole, with the client’s severity, time and request id', async () => {
    if (!realClient()) return;
    const r = await run('logs.handler', [{}, {}], { logFormat: 'Text' });
    const frames = r.records.filter((x) => x.source === 'frame');
    // Seven log calls per invocation, each one frame: a multi-line message
    // is one record, not three.
    expect(frames).toHaveLength(14);
    expect(frames.map((f) => f.level)).toEqual(
      Array(2)
        .fill(['TRACE', 'DEBUG', 'INFO', 'INFO', 'WARN', 'ERROR', 'FATAL'])
        .flat()
    );
    const multi = frames.find(
      (f) => typeof f.record === 'string' && f.record.includes('log call')
    );
    expect(multi?.record).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\tlog call\nsecond line\n {2}third line\n$/
    );
    // The request ids the client wrote are the invocations'.
    expect(new Set(frames.map((f) => f.requestId))).toEqual(
      new Set(r.emu.invocations.map((i) => i.requestId))
    );
    expect(r.records.filter((x) => x.source === 'stdout')).toHaveLength(2);
    expectEveryLineOnce(r);
    const logs = r.sink.otlp().logs;
    const got = logs.find(
      (l) => typeof l.body === 'string' && l.body.startsWith('log call')
    );
    expect(got?.body).toBe('log call\nsecond line\n  third line');
    expect(got?.severityText).toBe('INFO');
  }, 30_000);

  it('JSON format: the runtime filters by AWS_LAMBDA_LOG_LEVEL; each record arrives with its level, time and request id', async () => {
    if (!realClient()) return;
    const r = await run('logs.handler', [{}, {}], {
      logFormat: 'JSON',
      logLevel: 'INFO',
    });
    const frames = r.records.filter((x) => x.source === 'frame');
    // TRACE and DEBUG are filtered by the client, at the source.
    expect(frames.map((f) => f.level)).toEqual(
      Array(2).fill(['INFO', 'INFO', 'WARN', 'ERROR', 'FATAL']).flat()
    );
    for (const f of frames) {
      expect(f.frame?.kind).toBe('json');
      const rec = f.record as Record<string, unknown>;
      expect(rec.level).toBe(f.level);
      expect(Date.parse(rec.timestamp as string) * 1000).toBe(
        Number(f.frame?.timeUs)
      );
    }
    const withError = frames.find(
      (f) => (f.record as Record<string, unknown>).errorType === 'RangeError'
    );
    expect(withError?.record).toMatchObject({
      message: expect.stringContaining('error call'),
      errorMessage: 'out of range',
    });
    expectEveryLineOnce(r);
    const got = r.sink
      .otlp()
      .logs.find(
        (l) => typeof l.body === 'string' && l.body.startsWith('error call')
      );
    expect(got?.attributes['exception.type']).toBe('RangeError');
    expect(got?.severityText).toBe('ERROR');
  }, 30_000);

  it('a thrown error, an exit and a timeout become the platform events Lambda sends, and reset the environment', async () => {
    if (!realClient()) return;
    const r = await run(
      'logs.handler',
      [{ throw: 'bad input' }, { sleepMs: 5_000 }, {}],
      { logFormat: 'Text', timeoutMs: 500 }
    );
    const done = platform(r.emu, 'platform.runtimeDone');
    // The Node client posts errors without Lambda-Runtime-Function-Error-Type:
    // Lambda's RAPID reports those as Runtime.Unknown.
    expect(done.map((d) => [d.status, d.errorType])).toEqual([
      ['error', 'Runtime.Unknown'],
      ['timeout', 'Sandbox.Timedout'],
      ['success', undefined],
    ]);
    // The timeout reset the environment: a suppressed init for the next.
    expect(r.emu.launches.map((l) => [l.phase, l.shutdownReason])).toEqual([
      ['init', 'timeout'],
      ['invoke', 'spindown'],
    ]);
    const reports = platform(r.emu, 'platform.report');
    expect(reports).toHaveLength(3);
    for (const rep of reports) {
      const m = rep.metrics as Record<string, number>;
      expect(m.maxMemoryUsedMB).toBeGreaterThan(0);
      expect(m.durationMs).toBeGreaterThanOrEqual(0);
    }
    const timedOut = reports[1]?.metrics as Record<string, number>;
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(500);
    // The client's own "Invoke Error" record of the thrown error.
    expect(
      r.records.some(
        (x) =>
          typeof x.record === 'string' &&
          x.record.includes('Invoke Error') &&
          x.record.includes('bad input')
      )
    ).toBe(true);
    expectEveryLineOnce(r);

    const exit = await run('logs.exits', [{}, {}], { logFormat: 'Text' });
    expect(
      platform(exit.emu, 'platform.runtimeDone').map((d) => d.errorType)
    ).toEqual(['Runtime.ExitError', 'Runtime.ExitError']);
    expect(exit.emu.launches.map((l) => l.shutdownReason)).toEqual([
      'failure',
      'failure',
    ]);
    expectEveryLineOnce(exit);
  }, 30_000);

  it('an init error: initRuntimeDone says so, the invocation fails with it', async () => {
    if (!realClient()) return;
    // No such module: the client's loader throws Runtime.ImportModuleError
    // and posts it to /runtime/init/error.
    const r = await run('no-such-module.handler', [{}], { logFormat: 'JSON' });
    const init = platform(r.emu, 'platform.initRuntimeDone');
    expect(init[0]).toMatchObject({
      status: 'error',
      errorType: 'Runtime.ImportModuleError',
    });
    expect(r.emu.invocations[0]).toMatchObject({
      status: 'error',
      errorType: 'Runtime.ImportModuleError',
    });
    expectEveryLineOnce(r);
  }, 30_000);

  it('the demo says in one line which runtime it runs, and passes', async () => {
    const sink = new Sink();
    const url = await sink.start();
    const said: string[] = [];
    let emu: LambdaEmulator;
    try {
      emu = await runDemo(
        { invocations: 2 },
        {
          extensionPath: LAUNCHER,
          captureExtensionOutput: false,
          invocations: 2,
          env: { DISPATCH_POST_URI: url, DISPATCH_FORMAT: 'otlp', ...FAST_ENV },
        },
        (line) => said.push(line)
      );
    } finally {
      await sink.close();
    }
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      rc.found ? /aws-lambda-ric .*Text, then JSON/ : /scripted: /
    );
    const check = checkOtlp(emu, sink.otlp());
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(check.functionLines);
  }, 30_000);

  it("--function: a handler that logs JSON documents as text passes the check (their body is the document's message, not its text)", async () => {
    if (!realClient()) return;
    const sink = new Sink();
    const url = await sink.start();
    let emu: LambdaEmulator;
    try {
      emu = await runDemo(
        {
          function: resolve('test/fixtures/functions/json-stderr.mjs'),
          invocations: 2,
        },
        {
          extensionPath: LAUNCHER,
          captureExtensionOutput: false,
          invocations: 2,
          env: { DISPATCH_POST_URI: url, DISPATCH_FORMAT: 'otlp', ...FAST_ENV },
        },
        () => undefined
      );
    } finally {
      await sink.close();
    }
    const got = sink.otlp();
    const check = checkOtlp(emu, got);
    expect(check.problems).toEqual([]);
    expect(check.functionLinesFound).toBe(check.functionLines);
    expect(check.functionLines).toBe(6);
    const bodies = got.logs.map((l) => l.body);
    expect(bodies).toContain('json error line');
    expect(bodies).toContain('raw stderr json');
  }, 30_000);
});
