/**
 * The built layer under the local Lambda emulator, over real loopback HTTP.
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRaw, runScenario } from '../../src/emulator/scenario.js';
import { Sink } from '../../src/emulator/sink.js';
import {
  emitted,
  FAST_ENV,
  freePort,
  harnesses,
  LAUNCHER,
  ownLogs,
} from '../helpers/layer.js';
import { batch } from '../helpers/arbitraries.js';

const start = harnesses();

const lines = [
  { atMs: 1, message: 'one' },
  { atMs: 2, level: 'WARN', message: 'two' },
  { atMs: 3, message: 'three' },
];

describe('the whole scenario', () => {
  it('delivers every function line exactly once and every platform event, and exits before each deadline', async () => {
    const sink = new Sink();
    const url = await sink.start();
    try {
      const emu = await runScenario({
        extensionPath: LAUNCHER,
        invocations: 3,
        env: { DISPATCH_POST_URI: url, DISPATCH_FORMAT: 'raw', ...FAST_ENV },
      });
      const events = sink.rawEvents();
      const check = checkRaw(emu, events);
      expect(check.missing).toEqual([]);
      expect(check.arrived).toBe(check.expected);
      expect(check.duplicates).toBe(0);
      expect(check.extensionArrived).toBe(check.extensionDelivered);
      // Each function line exactly once.
      const fn = emitted(emu, 'function');
      const got = events
        .filter((e) => (e as { type: string }).type === 'function')
        .map((e) => JSON.stringify(e));
      expect(got.sort()).toEqual([...fn].sort());
      expect(new Set(fn).size).toBe(fn.length);
      // Every environment ended by SHUTDOWN with a clean exit in time.
      expect(emu.launches).toHaveLength(3);
      for (const l of emu.launches) {
        expect(l.exitCode).toBe(0);
        expect(l.exitedBeforeDeadline).toBe(true);
      }
      expect(emu.invocations.every((i) => !i.extensionTimedOut)).toBe(true);
    } finally {
      await sink.close();
    }
  });
});

describe('DISPATCH_MIN_BATCH_SIZE', () => {
  it('dispatches on INVOKE only once the minimum is queued', async () => {
    const { emu, sink } = await start({ DISPATCH_MIN_BATCH_SIZE: '20' });
    await emu.launch();
    const before: number[] = [];
    for (let i = 0; i < 6; i++) {
      before.push(sink.requests.length);
      await emu.invoke({ handlerMs: 10, lines });
    }
    await emu.shutdown();
    const sizes = sink.requests.map(
      (r) => (JSON.parse(r.body.toString()) as unknown[]).length
    );
    // Every dispatch but the SHUTDOWN one carried at least the minimum.
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes.slice(0, -1))
      expect(size).toBeGreaterThanOrEqual(20);
    // And the first invocations, with fewer queued, sent nothing.
    expect(before[0]).toBe(0);
    expect(before[1]).toBe(0);
    expect(checkRaw(emu, sink.rawEvents()).missing).toEqual([]);
  });

  it('holds everything until SHUTDOWN when the minimum is never reached', async () => {
    const { emu, sink } = await start({ DISPATCH_MIN_BATCH_SIZE: '100000' });
    await emu.launch();
    for (let i = 0; i < 3; i++) await emu.invoke({ handlerMs: 10, lines });
    expect(sink.requests).toHaveLength(0);
    await emu.shutdown();
    expect(sink.requests).toHaveLength(1);
    const check = checkRaw(emu, sink.rawEvents());
    expect(check.arrived).toBe(check.expected);
  });

  it('warns once about a bad value and dispatches with the default 1', async () => {
    const { emu, sink } = await start({ DISPATCH_MIN_BATCH_SIZE: '10abc' });
    await emu.launch();
    // Handlers longer than the 25 ms buffering timeout: telemetry is
    // delivered only while thawed, so with 10 ms handlers nothing had
    // always arrived by the second INVOKE (failed under load).
    await emu.invoke({ handlerMs: 60, lines });
    await emu.invoke({ handlerMs: 60, lines });
    expect(sink.requests.length).toBeGreaterThan(0);
    await emu.shutdown();
    const warnings = ownLogs(emu).filter((l) =>
      String(l.msg).includes('DISPATCH_MIN_BATCH_SIZE')
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain('"10abc"');
  });
});

describe('when the receiver misbehaves', () => {
  it('drops a batch the receiver refuses with 500, logs the status, and carries on', async () => {
    const { emu, sink } = await start();
    sink.reply = () => ({ status: 500 });
    await emu.launch();
    for (let i = 0; i < 8; i++) await emu.invoke({ handlerMs: 5, lines });
    const last = await emu.shutdown();
    expect(last?.exitedBeforeDeadline).toBe(true);
    expect(emu.invocations.every((i) => !i.extensionTimedOut)).toBe(true);
    const refusals = ownLogs(emu).filter((l) => l.reason === 'HTTP 500');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.length).toBeLessThanOrEqual(5);
    const summary = ownLogs(emu).find((l) => l.msg === 'shutdown');
    expect(summary?.rejected).toBe(emitted(emu).length);
  });

  it('keeps events queued while the receiver is unreachable and sends them when it is back', async () => {
    const port = await freePort();
    const { emu } = await start({
      DISPATCH_POST_URI: `http://127.0.0.1:${port}/events`,
    });
    await emu.launch();
    for (let i = 0; i < 3; i++) await emu.invoke({ handlerMs: 5, lines });
    const sink = new Sink();
    await sink.start(port);
    try {
      for (let i = 0; i < 2; i++) await emu.invoke({ handlerMs: 5, lines });
      await emu.shutdown();
      const check = checkRaw(emu, sink.rawEvents());
      expect(check.missing).toEqual([]);
      expect(check.arrived).toBe(check.expected);
      expect(check.duplicates).toBe(0);
      // Order within the stream is kept across the retries.
      const got = sink.rawEvents().map((e) => JSON.stringify(e));
      const sent = emitted(emu).filter((j) => got.includes(j));
      expect(got).toEqual(sent);
    } finally {
      await sink.close();
    }
  });

  it('never holds /next past the function deadline when the receiver hangs', async () => {
    const { emu, sink } = await start({
      LAMBDA_TELEMETRY_OTEL_EXPORT_TIMEOUT_MS: '60000',
    });
    sink.reply = () => ({ status: 200, hang: true });
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines, timeoutMs: 400 });
    const inv = await emu.invoke({ handlerMs: 5, lines, timeoutMs: 400 });
    expect(inv.extensionTimedOut).toBeUndefined();
    expect(inv.nextAt).toBeDefined();
    expect((inv.nextAt ?? 0) - inv.startedAt).toBeLessThan(400);
    const last = await emu.shutdown();
    expect(last?.exitedBeforeDeadline).toBe(true);
  });
});

describe('without a destination', () => {
  it('runs, warns once, discards, and exits 0', async () => {
    const { emu, sink } = await start({ DISPATCH_POST_URI: undefined });
    await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    const last = await emu.shutdown();
    expect(last?.exitCode).toBe(0);
    expect(sink.requests).toHaveLength(0);
    const warns = ownLogs(emu).filter((l) =>
      String(l.msg).includes('DISPATCH_POST_URI')
    );
    expect(warns).toHaveLength(1);
  });
});

describe('the listener', () => {
  async function post(url: URL, body: string | Buffer): Promise<number> {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('refuses bad bodies with 400 / 413, keeps good ones, and loses nothing else', async () => {
    const { emu, sink } = await start({}, { freezeProcess: false });
    await emu.launch();
    emu.thaw();
    const target = emu.extension?.subscription?.target as URL;
    expect(await post(target, '[{"type":')).toBe(400);
    expect(await post(target, '{"type":"function"}')).toBe(400);
    expect(await post(target, 'not json at all')).toBe(400);
    const huge = Buffer.alloc(2 * 262_144 + 262_144 + 1, 0x20);
    expect(await post(target, huge)).toBe(413);
    const unknown = {
      time: new Date().toISOString(),
      type: 'platform.fromTheFuture',
      record: { x: 1 },
    };
    expect(await post(target, JSON.stringify([unknown, 42]))).toBe(200);
    await emu.invoke({ handlerMs: 5, lines });
    await emu.shutdown();
    const got = sink.rawEvents();
    expect(got).toContainEqual(unknown);
    const check = checkRaw(emu, got);
    expect(check.arrived).toBe(check.expected);
    const rejections = ownLogs(emu).filter(
      (l) => l.status === 400 || l.status === 413
    );
    expect(rejections.length).toBe(4);
  });

  /** A POST over node:http: what the sender sees (status, or its error code). */
  function send(
    url: URL,
    body: Buffer,
    chunked: boolean
  ): Promise<{
    status?: number | undefined;
    connection?: string | undefined;
    error?: string;
  }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        req.destroy();
        resolve({ error: 'no answer in 10 s' });
      }, 10_000);
      const req = request(
        url,
        {
          method: 'POST',
          headers: chunked
            ? { 'content-type': 'application/json' }
            : {
                'content-type': 'application/json',
                'content-length': body.length,
              },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode,
              connection: res.headers.connection,
            });
          });
        }
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ error: err.code ?? err.message });
      });
      if (!chunked) {
        req.end(body);
        return;
      }
      // Chunked: no length up front, written in pieces.
      let at = 0;
      const next = (): void => {
        while (at < body.length) {
          const piece = body.subarray(at, at + 65_536);
          at += piece.length;
          if (!req.write(piece)) {
            req.once('drain', next);
            return;
          }
        }
        req.end();
      };
      next();
    });
  }

  it.each([
    ['with its Content-Length', false],
    ['chunked, passing the bound while read', true],
  ])(
    'answers a 5 MiB body 413 %s (the sender sees it, not a reset), counts it, and keeps serving',
    async (_name, chunked) => {
      const { emu, sink } = await start({}, { freezeProcess: false });
      await emu.launch();
      emu.thaw();
      const target = emu.extension?.subscription?.target as URL;
      const big = Buffer.alloc(5 * 1_048_576, 0x20);
      for (let i = 0; i < 2; i++) {
        expect(await send(target, big, chunked)).toEqual({
          status: 413,
          connection: 'close',
        });
      }
      // Lambda's own batches still go through.
      await emu.invoke({ handlerMs: 5, lines });
      const last = await emu.shutdown();
      expect(last?.exitCode).toBe(0);
      const check = checkRaw(emu, sink.rawEvents());
      expect(check.missing).toEqual([]);
      const summary = ownLogs(emu).find((l) => l.msg === 'shutdown');
      expect(summary?.tooLargeBodies).toBe(2);
      expect(summary?.refusedBodies).toBe(0);
    }
  );
});

describe('failures around Lambda', () => {
  it('stays idle but keeps answering /next when the subscription fails', async () => {
    const { emu, sink } = await start({}, { failSubscribe: true });
    const launch = await emu.launch();
    expect(launch.initMs).toBeDefined();
    const inv = await emu.invoke({ handlerMs: 5, lines });
    expect(inv.extensionOverheadMs).toBeDefined();
    const last = await emu.shutdown();
    expect(last?.exitCode).toBe(0);
    expect(sink.requests).toHaveLength(0);
    expect(
      ownLogs(emu).some((l) => String(l.msg).includes('subscription failed'))
    ).toBe(true);
  });

  it('reports a failed subscription through /init/error in strict mode', async () => {
    const { emu } = await start(
      { LAMBDA_TELEMETRY_OTEL_STRICT: 'true' },
      { failSubscribe: true, initTimeoutMs: 3_000 }
    );
    const ext = new Promise<string | undefined>((resolve) => {
      const timer = setInterval(() => {
        const e = emu.extension;
        if (e?.initError) {
          clearInterval(timer);
          resolve(e.initError);
        }
      }, 5);
      setTimeout(() => {
        clearInterval(timer);
        resolve(undefined);
      }, 3_000);
    });
    const launch = await emu.launch();
    expect(await ext).toContain('Extension.SubscribeFailed');
    expect(launch.exitCode).toBe(1);
  });

  it('flushes and exits 0 on SIGTERM', async () => {
    const { emu, sink } = await start({ DISPATCH_MIN_BATCH_SIZE: '100000' });
    const launch = await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    emu.thaw();
    process.kill(launch.pid as number, 'SIGTERM');
    const until = Date.now() + 3_000;
    while (launch.exitedAt === undefined && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    expect(launch.exitCode).toBe(0);
    const got = sink.rawEvents().map((e) => JSON.stringify(e));
    for (const line of emitted(emu, 'function')) expect(got).toContain(line);
  });
});

describe('Lambda Managed Instances', () => {
  it('registers for SHUTDOWN only and dispatches on a timer', async () => {
    const { emu, sink } = await start(
      {
        LAMBDA_TELEMETRY_OTEL_FLUSH_INTERVAL_MS: '50',
        DISPATCH_MIN_BATCH_SIZE: '1',
      },
      { managedInstances: true }
    );
    await emu.launch();
    expect(emu.extension?.events).toEqual(['SHUTDOWN']);
    await Promise.all(
      [1, 2, 3].map(() => emu.invoke({ handlerMs: 20, lines }))
    );
    const arrived = await sink.waitFor(
      () =>
        sink
          .rawEvents()
          .filter((e) => (e as { type: string }).type === 'function').length ===
        9,
      3_000
    );
    expect(arrived).toBe(true);
    const last = await emu.shutdown();
    expect(last?.exitedBeforeDeadline).toBe(true);
    const check = checkRaw(emu, sink.rawEvents());
    expect(check.arrived).toBe(check.expected);
  });
});

describe('hostile batches at the real listener', () => {
  it('takes 200 generated batches without a crash and delivers every event JSON-equal', async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`fast-check seed ${seed} (FC_SEED=${seed} to replay)`);
    const batches = fc.sample(batch, { seed, numRuns: 200 });
    const { emu, sink } = await start(
      {
        LAMBDA_TELEMETRY_OTEL_BUFFER_MAX_BYTES: '1048576',
        // Room for the huge hostile strings: this test is about parsing.
        LAMBDA_TELEMETRY_OTEL_MAX_QUEUE_BYTES: String(256 * 1_048_576),
      },
      { freezeProcess: false }
    );
    await emu.launch();
    emu.thaw();
    const target = emu.extension?.subscription?.target as URL;
    const sent: string[] = [];
    for (const items of batches) {
      const body = JSON.stringify(items.map((i) => i.e));
      const res = await fetch(target, { method: 'POST', body });
      await res.text();
      expect(res.status).toBe(200);
      for (const i of items) {
        if (i.e !== null && typeof i.e === 'object' && !Array.isArray(i.e))
          sent.push(JSON.stringify(i.e));
      }
    }
    // Truncated JSON is refused, and changes nothing.
    const cut = await fetch(target, {
      method: 'POST',
      body: '[{"time":"2026-01-01T00:00:00Z","type":"fun',
    });
    await cut.text();
    expect(cut.status).toBe(400);
    await emu.invoke({ handlerMs: 5, lines });
    const last = await emu.shutdown();
    expect(last?.exitCode).toBe(0);
    const got = sink.rawEvents().map((e) => JSON.stringify(e));
    const counts = new Map<string, number>();
    for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
    let missing = 0;
    for (const s of sent) {
      const n = counts.get(s) ?? 0;
      if (n === 0) missing++;
      else counts.set(s, n - 1);
    }
    expect(missing).toBe(0);
  }, 60_000);
});

describe('a lost Runtime API', () => {
  it('reports through /exit/error and exits 1', async () => {
    const { emu } = await start();
    const launch = await emu.launch();
    await emu.invoke({ handlerMs: 5, lines });
    emu.api.failNextWith = 500;
    await emu.invoke({ handlerMs: 5, lines, timeoutMs: 1_000 });
    const until = Date.now() + 3_000;
    while (launch.exitedAt === undefined && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(launch.exitCode).toBe(1);
    expect([...emu.api.extensions.values()][0]?.exitError).toContain(
      'Extension.NextFailed'
    );
    expect(
      ownLogs(emu).some((l) => String(l.msg).includes('event/next failed'))
    ).toBe(true);
  });
});
