/**
 * The pieces of the real-function runner that need no runtime client: the
 * log-frame reader (frames as aws-lambda-ric writes them, split anywhere),
 * the Runtime API's runtime endpoints over real HTTP, Lambda's error-type
 * rule, and how `--function` becomes LAMBDA_TASK_ROOT and `_HANDLER`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedFromRuntime } from '../../src/emulator/emulator.js';
import {
  encodeFrame,
  FrameReader,
  frameRecord,
  type LogFrame,
} from '../../src/emulator/function-process.js';
import { resolveHandler } from '../../src/emulator/run-function.js';
import { RuntimeApi, validErrorType } from '../../src/emulator/runtime-api.js';

describe('log frames', () => {
  it('reads the header aws-lambda-ric writes (0xa55a0003 | level mask, length, µs time)', () => {
    // As TelemetryLogger.writeFrame builds it for console.warn in TEXT:
    // FRAME_TYPE_TEXT 0xa55a0003 | WARN's tlvMask 16.
    const msg = Buffer.from('2025-01-01T00:00:00.000Z\tid\tWARN\thi\n');
    const header = Buffer.alloc(16);
    header.writeUInt32BE((0xa55a0003 | 16) >>> 0, 0);
    header.writeInt32BE(msg.length, 4);
    header.writeBigInt64BE(1_735_689_600_000_000n, 8);
    const [frame] = new FrameReader().push(Buffer.concat([header, msg]));
    expect(frame).toEqual({
      kind: 'text',
      level: 'WARN',
      timeUs: 1_735_689_600_000_000n,
      message: msg.toString(),
    });
  });

  it('gives every frame whole however the stream is cut', () => {
    const frameArb = fc.record({
      kind: fc.constantFrom<'text' | 'json'>('text', 'json'),
      level: fc.constantFrom(
        'TRACE',
        'DEBUG',
        'INFO',
        'WARN',
        'ERROR',
        'FATAL'
      ),
      timeUs: fc.bigInt({ min: 0n, max: 2n ** 62n }),
      message: fc.string({ unit: 'grapheme', maxLength: 60 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames: LogFrame[], cuts) => {
          const bytes = Buffer.concat(frames.map(encodeFrame));
          const at = [
            ...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0))),
          ].sort((a, b) => a - b);
          const reader = new FrameReader();
          const out: (LogFrame | string)[] = [];
          let from = 0;
          for (const c of [...at, bytes.length]) {
            out.push(...reader.push(bytes.subarray(from, c)));
            from = c;
          }
          expect(out).toEqual(frames);
          expect(reader.pending).toBe(0);
        }
      )
    );
  });

  it('a broken header is said once and the rest passed on as text', () => {
    const notes: string[] = [];
    const reader = new FrameReader((n) => notes.push(n));
    const good = encodeFrame({
      kind: 'text',
      level: 'INFO',
      timeUs: 1n,
      message: 'ok',
    });
    const out = reader.push(
      Buffer.concat([good, Buffer.from('not a frame at all, sixteen+')])
    );
    expect(out[0]).toMatchObject({ message: 'ok' });
    expect(out[1]).toBe('not a frame at all, sixteen+');
    expect(reader.push(Buffer.from('more'))).toEqual(['more']);
    expect(notes).toHaveLength(1);
  });

  it('a JSON frame is the parsed object, a text frame the string, each with its request id', () => {
    const json = frameRecord({
      kind: 'json',
      level: 'ERROR',
      timeUs: 1_000_000n,
      message:
        '{"timestamp":"1970-01-01T00:00:01.000Z","level":"ERROR","requestId":"r-1","message":"m"}',
    });
    expect(json).toMatchObject({
      timeMs: 1000,
      record: { message: 'm' },
      requestId: 'r-1',
      level: 'ERROR',
    });
    expect(expectedFromRuntime(json)).toEqual({
      body: 'm',
      severityText: 'ERROR',
      timeMs: 1000,
    });
    const text = frameRecord({
      kind: 'text',
      level: 'INFO',
      timeUs: 2_000n,
      message: 't\tr-2\tINFO\tline one\nline two\n',
    });
    expect(text).toMatchObject({
      record: 't\tr-2\tINFO\tline one\nline two\n',
    });
    expect(text.requestId).toBe('r-2');
    expect(expectedFromRuntime(text).body).toBe('line one\nline two');
  });
});

describe('the Runtime API for a runtime client', () => {
  let api: RuntimeApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('hands /next the invocation with Lambda’s headers; takes one answer for that id only', async () => {
    const results: unknown[] = [];
    api = new RuntimeApi({
      functionName: 'f',
      functionVersion: '$LATEST',
      handler: 'index.handler',
      accountId: '123456789012',
      executables: () => [],
      onRuntimeResult: (r) => results.push(r),
    });
    const base = `http://${await api.start()}/2018-06-01/runtime`;
    const next = fetch(`${base}/invocation/next`, {
      signal: AbortSignal.timeout(5_000),
    });
    const until = Date.now() + 5_000;
    while (!api.runtimeWaiting && Date.now() < until)
      await new Promise((r) => setTimeout(r, 2));
    api.invokeRuntime({
      requestId: 'req-1',
      deadlineMs: 1_900_000_000_000,
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
      traceHeader: 'Root=1-00000000-000000000000000000000000;Sampled=1',
      body: '{"a":1}',
    });
    const res = await next;
    expect(res.headers.get('lambda-runtime-aws-request-id')).toBe('req-1');
    expect(res.headers.get('lambda-runtime-deadline-ms')).toBe('1900000000000');
    expect(res.headers.get('lambda-runtime-invoked-function-arn')).toMatch(
      /:function:f$/
    );
    expect(res.headers.get('lambda-runtime-trace-id')).toMatch(/^Root=/);
    expect(await res.text()).toBe('{"a":1}');

    const post = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        body: '{"x":2}',
        headers,
        signal: AbortSignal.timeout(5_000),
      });
    expect((await post('/invocation/other/response')).status).toBe(400);
    expect(
      (
        await post('/invocation/req-1/error', {
          'lambda-runtime-function-error-type': 'Function.Oops',
        })
      ).status
    ).toBe(202);
    // Answered once: a second answer is refused.
    expect((await post('/invocation/req-1/response')).status).toBe(400);
    expect(results).toEqual([
      expect.objectContaining({
        requestId: 'req-1',
        kind: 'error',
        errorType: 'Function.Oops',
        body: '{"x":2}',
      }),
    ]);
    // Init is over once the runtime has called /next.
    expect((await post('/init/error')).status).toBe(403);
  });

  it('reports error types as Lambda does: Runtime./Function. names kept, others Runtime.Unknown', () => {
    expect(validErrorType('Runtime.ImportModuleError')).toBe(
      'Runtime.ImportModuleError'
    );
    expect(validErrorType('Function.Custom')).toBe('Function.Custom');
    expect(validErrorType('Function.')).toBe('Function.Unknown');
    expect(validErrorType('TypeError')).toBe('Runtime.Unknown');
    expect(validErrorType(undefined)).toBe('Runtime.Unknown');
  });
});

describe('--function', () => {
  it('a file (with an optional :export) or a folder with _HANDLER', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fn-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'app.mjs'), 'export const main = 1;');
    expect(resolveHandler(join(dir, 'src', 'app.mjs'))).toEqual({
      taskRoot: join(dir, 'src'),
      handler: 'app.handler',
    });
    expect(resolveHandler(`${join(dir, 'src', 'app.mjs')}:main`)).toEqual({
      taskRoot: join(dir, 'src'),
      handler: 'app.main',
    });
    expect(resolveHandler(dir, { _HANDLER: 'src/app.main' })).toEqual({
      taskRoot: dir,
      handler: 'src/app.main',
    });
    expect(resolveHandler(dir, {})).toEqual({
      taskRoot: dir,
      handler: 'index.handler',
    });
    expect(() => resolveHandler(join(dir, 'missing.mjs'))).toThrow(
      /no function at/
    );
  });
});
