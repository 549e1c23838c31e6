import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutPiece } from '../../src/emulator/delivery.js';
import { BatchReader, BodyBuffer, parseBatch } from '../../src/lambda/batch.js';
import { requestIdOf } from '../../src/lambda/events.js';
import { CutRecords } from '../../src/lambda/stitch.js';

/** Reads a body through, as the lifecycle does. */
function read(body: string | Buffer) {
  const r = parseBatch(body);
  if (!r.ok) return r;
  const events = [...r.batch];
  return { ok: true as const, events, rejected: r.batch.rejected };
}

describe('reading a Telemetry API body', () => {
  it('keeps every object of a JSON array, in order, as it came', () => {
    const batch = [
      {
        time: '2026-01-01T00:00:00.000Z',
        type: 'platform.start',
        record: { requestId: 'a' },
      },
      { time: '2026-01-01T00:00:00.001Z', type: 'function', record: 'hello\n' },
      {
        time: '2026-01-01T00:00:00.002Z',
        type: 'platform.somethingNew',
        record: { x: [1, 2] },
        extra: true,
      },
    ];
    const result = read(JSON.stringify(batch));
    expect(result).toEqual({ ok: true, events: batch, rejected: 0 });
  });

  it('tolerates events with missing fields', () => {
    const result = read('[{}, {"type":"platform.report"}, {"record":null}]');
    expect(result.ok && result.events.length).toBe(3);
    if (result.ok) {
      for (const e of result.events) expect(() => requestIdOf(e)).not.toThrow();
    }
  });

  it.each([
    ['an object', '{"type":"function"}', 'JSON object'],
    ['a string', '"hello"', 'JSON string'],
    ['a number', '42', 'JSON number'],
    ['null', 'null', 'JSON null'],
    ['not JSON', '[{"type":', 'not JSON'],
    ['empty', '', 'not JSON'],
  ])('refuses a body that is %s', (_name, body, reason) => {
    const result = read(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('skips elements that cannot be events and counts them', () => {
    const result = read(
      '[1, "x", null, [], {"type":"function","record":"ok"}, true]'
    );
    expect(result).toEqual({
      ok: true,
      events: [{ type: 'function', record: 'ok' }],
      rejected: 5,
    });
  });

  it('splits on the array only: brackets, commas and quotes inside strings stay put', () => {
    const batch = [
      { type: 'function', record: 'a "quoted" [not, an] {array}, \\' },
      { type: 'function', record: '\\"' },
      { type: 'function', record: 'ünïcødé 🚀 ] , [' },
      {
        type: 'platform.x',
        record: { nested: [[{}], { a: [1, { b: '}' }] }] },
      },
    ];
    const spaced = ` \n[ ${batch.map((b) => JSON.stringify(b, null, 2)).join(' ,\n ')} ]\t\n`;
    expect(read(spaced)).toEqual({ ok: true, events: batch, rejected: 0 });
  });

  it('skips an element that is not JSON on its own, and keeps the others', () => {
    expect(read('[{"type":"a"}, {"type": tru}, {"type":"b"}]')).toEqual({
      ok: true,
      events: [{ type: 'a' }, { type: 'b' }],
      rejected: 1,
    });
  });

  it.each([
    ['a trailing comma', '[{"type":"a"},]'],
    ['text after the array', '[{"type":"a"}] x'],
    ['an unterminated string', '[{"type":"a}]'],
    ['a missing comma', '[{"type":"a"} {"type":"b"}]'],
  ])('refuses a body with %s, before anything is read', (_name, body) => {
    const result = parseBatch(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('not JSON');
  });

  it('reuses its buffer: a batch ends when closed, the next reads its own body', () => {
    const reader = new BatchReader();
    const one = Buffer.from('[{"type":"one"},{"type":"one-b"}]');
    const body = reader.acquire(one.length);
    body.append(one.subarray(0, 5));
    body.append(one.subarray(5));
    const first = reader.read(body);
    if (!first.ok) throw new Error(first.reason);
    const it = first.batch[Symbol.iterator]();
    expect(it.next().value).toEqual({ type: 'one' });
    first.batch.close();
    expect(it.next().done).toBe(true);
    reader.recycle(body);
    const two = Buffer.from('[{"type":"two"}]');
    const again = reader.acquire(Number.NaN);
    expect(again).toBe(body);
    again.append(two);
    const second = reader.read(again);
    if (!second.ok) throw new Error(second.reason);
    expect([...second.batch]).toEqual([{ type: 'two' }]);
  });

  it('gives a body that arrives while another is being received its own buffer', () => {
    const reader = new BatchReader();
    const a = reader.acquire(Number.NaN);
    const b = reader.acquire(Number.NaN);
    expect(b).not.toBe(a);
    const bodies = ['[{"type":"a"}]', '[{"type":"b"}]'].map((s) =>
      Buffer.from(s)
    );
    // Interleaved arrival.
    a.append(bodies[0]?.subarray(0, 4) as Buffer);
    b.append(bodies[1]?.subarray(0, 4) as Buffer);
    a.append(bodies[0]?.subarray(4) as Buffer);
    b.append(bodies[1]?.subarray(4) as Buffer);
    for (const [body, type] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const r = reader.read(body);
      if (!r.ok) throw new Error(r.reason);
      expect([...r.batch]).toEqual([{ type }]);
      r.batch.close();
      reader.recycle(body);
    }
  });

  it('agrees with JSON.parse on any JSON array (property-based)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 20 }),
        fc.boolean(),
        (values, pretty) => {
          const body = pretty
            ? JSON.stringify(values, null, 1)
            : JSON.stringify(values);
          const result = read(body);
          const parsed = JSON.parse(body) as unknown[];
          const objects = parsed.filter(
            (v) => v !== null && typeof v === 'object' && !Array.isArray(v)
          );
          expect(result).toEqual({
            ok: true,
            events: objects,
            rejected: parsed.length - objects.length,
          });
        }
      ),
      { numRuns: 2_000 }
    );
  });
});

/** An event as Lambda sends it. */
type Ev = { time: string; type: string; record: unknown };
const T = '2026-09-03T14:29:52.';
const ev = (ms: number, type: string, record: unknown): Ev => ({
  time: `${T}${String(ms).padStart(3, '0')}Z`,
  type,
  record,
});
const start = ev(1, 'platform.start', { requestId: 'r1', version: '$LATEST' });
const line = ev(2, 'function', 'before the big one\n');
const done = ev(4, 'platform.runtimeDone', {
  requestId: 'r1',
  status: 'success',
  metrics: { durationMs: 18.074, producedBytes: 329_814 },
});
const report = ev(5, 'platform.report', {
  requestId: 'r1',
  status: 'success',
  metrics: { durationMs: 20.5, billedDurationMs: 21, memorySizeMB: 128 },
});

/**
 * The bodies Lambda posts when `cut` is cut after each byte offset in
 * `at` (of what is left of it each time), with `before` ahead of it in the
 * first body and `after` behind it in the last (the emulator's model of the
 * cut, lambda-apis.md §2.2).
 */
function lambdaCut(before: Ev[], cut: Ev, at: number[], after: Ev[]): Buffer[] {
  const json = Buffer.from(JSON.stringify(cut));
  const envelope = json.indexOf('"record":') + '"record":'.length;
  const bodies: Buffer[] = [];
  let rest: Buffer = json;
  let lead = before.map((e) => Buffer.from(JSON.stringify(e)));
  for (const offset of at) {
    const piece = cutPiece(rest, envelope, offset);
    bodies.push(frame([...lead, piece.head]));
    lead = [];
    rest = piece.rest;
  }
  bodies.push(
    frame([rest, ...after.map((e) => Buffer.from(JSON.stringify(e)))])
  );
  return bodies;
}

function frame(elements: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from('[')];
  elements.forEach((e, k) => {
    if (k > 0) parts.push(Buffer.from(','));
    parts.push(e);
  });
  parts.push(Buffer.from(']'));
  return Buffer.concat(parts);
}

/** Reads bodies in order through the joiner: each one's status and events. */
function deliver(bodies: (Buffer | string)[], maxHeldBytes = 1_048_576) {
  const cuts = new CutRecords(new BatchReader(), maxHeldBytes);
  const statuses: number[] = [];
  const events: unknown[] = [];
  for (const b of bodies) {
    const buf = typeof b === 'string' ? Buffer.from(b) : b;
    const r = cuts.read(
      Object.assign(new BodyBuffer(buf), { size: buf.length })
    );
    statuses.push(r.ok ? 200 : 400);
    if (r.ok) events.push(...r.batch);
  }
  return { cuts, statuses, events };
}

describe('a record Lambda cut across two deliveries', () => {
  const big = 'x'.repeat(300_000);
  const text = ev(3, 'function', `${T}003Z\tr1\tINFO\t${big}\n`);
  const structured = ev(3, 'function', {
    timestamp: `${T}003Z`,
    level: 'INFO',
    requestId: 'r1',
    // A nested "record" key, and text that looks like an envelope.
    message: { record: `{"time":"${T}003Z","type":"function","record":${big}` },
  });
  const unicode = ev(3, 'function', `ünïcødé 🚀 ${'é'.repeat(150_000)}`);
  const nested = ev(3, 'function', {
    items: Array.from({ length: 2_000 }, (_, i) => ({ i, v: 'y'.repeat(100) })),
  });

  it.each([
    ['a text line, cut inside its string', text, [100_000]],
    ['a JSON-format line nesting a "record" key', structured, [150_000]],
    ['a line cut inside a UTF-8 character', unicode, [120_001]],
    ['a structured record cut between its objects', nested, [100_000]],
    [
      'a line cut right after a backslash',
      ev(3, 'function', `a\\"${big}`),
      [Buffer.byteLength(`{"time":"${T}003Z","type":"function","record":"a\\`)],
    ],
    ['a line cut twice (over 2 x maxBytes)', text, [100_000, 100_000]],
  ])('%s: every event kept, the record joined whole', (_name, cut, at) => {
    const bodies = lambdaCut([start, line], cut, at, [done, report]);
    // Neither body is JSON on its own.
    for (const b of bodies) expect(() => JSON.parse(b.toString())).toThrow();
    const { cuts, statuses, events } = deliver(bodies);
    expect(statuses).toEqual(bodies.map(() => 200));
    expect(events).toEqual([start, line, cut, done, report]);
    expect(cuts.joined).toBe(1);
    expect(cuts.dropped).toBe(0);
    expect(cuts.heldBytes).toBe(0);
  });

  it('the Lambda shape as reported: framing "}]" dropped, envelope not repeated', () => {
    const head = `[{"time":"${T}929Z","type":"function","record":{"message":"AAAA}]`;
    const tail = `[{"time":"${T}929Z","type":"function","record":BBBB"}},${JSON.stringify(done)}]`;
    const { statuses, events } = deliver([head, tail]);
    expect(statuses).toEqual([200, 200]);
    expect(events).toEqual([
      { time: `${T}929Z`, type: 'function', record: { message: 'AAAABBBB' } },
      done,
    ]);
  });

  it('a record past the hold bound: dropped once, every other event kept', () => {
    const bodies = lambdaCut(
      [start, line],
      text,
      [100_000, 100_000],
      [done, report]
    );
    const { cuts, statuses, events } = deliver(bodies, 150_000);
    expect(statuses).toEqual([200, 200, 200]);
    expect(events).toEqual([start, line, done, report]);
    expect(cuts.dropped).toBe(1);
    expect(cuts.joined).toBe(0);
  });

  it('a first half the next body does not continue: dropped, that body kept', () => {
    const [head] = lambdaCut([start], text, [100_000], [done]);
    const other = JSON.stringify([line, report]);
    const { cuts, statuses, events } = deliver([head as Buffer, other]);
    expect(statuses).toEqual([200, 200]);
    expect(events).toEqual([start, line, report]);
    expect(cuts.dropped).toBe(1);
  });

  it('after a record given up on, later valid bodies with the same envelope lose nothing', () => {
    // Lines of one millisecond share `{"time":…,"type":…,"record":`: a
    // whole event is not more of the record given up on.
    const env = `{"time":"${T}003Z","type":"function","record":`;
    const a = ev(3, 'function', 'A');
    const b = ev(3, 'function', 'B');
    const c = ev(3, 'function', 'C');
    const d = ev(3, 'function', 'D');
    const bodies = [
      `[${env}rest of a cut record"},${JSON.stringify(a)}]`,
      `[${JSON.stringify(b)}]`,
      `[${JSON.stringify(c)},${JSON.stringify(d)}]`,
    ];
    const { cuts, statuses, events } = deliver(bodies);
    expect(statuses).toEqual([200, 200, 200]);
    expect(events).toEqual([a, b, c, d]);
    expect(cuts.dropped).toBe(1);
  });

  it('a second half whose first half never came: its other events kept, counted once', () => {
    const [, tail] = lambdaCut([start], structured, [100_000], [done, report]);
    const { cuts, statuses, events } = deliver([tail as Buffer]);
    expect(statuses).toEqual([200]);
    expect(events).toEqual([done, report]);
    expect(cuts.dropped).toBe(1);
  });

  it('a first half still held at SHUTDOWN is counted as dropped', () => {
    const [head] = lambdaCut([start, line], text, [100_000], []);
    const { cuts, events } = deliver([head as Buffer]);
    expect(events).toEqual([start, line]);
    expect(cuts.heldBytes).toBeGreaterThan(100_000 - 100);
    cuts.release();
    expect(cuts.dropped).toBe(1);
    expect(cuts.heldBytes).toBe(0);
  });

  it.each([
    ['not JSON', '[{"type":'],
    ['no record key', '[{"time":"2026-01-01T00:00:00Z","type":"fun'],
    [
      'garbage between events',
      `[${JSON.stringify(line)} x,${JSON.stringify(done)}]`,
    ],
    [
      'a broken middle event',
      `[{"time":"t","type":"function","record":"a"} b},${JSON.stringify(done)}]`,
    ],
    ['a cut inside the envelope', `[${JSON.stringify(line)},{"time":"${T}00`],
  ])('a body that is no cut record stays refused: %s', (_name, body) => {
    const { cuts, statuses } = deliver([body]);
    expect(statuses).toEqual([400]);
    expect(cuts.dropped).toBe(0);
  });
});

describe('requestIdOf', () => {
  it.each([
    [{ type: 'platform.start', time: '', record: { requestId: 'r-1' } }, 'r-1'],
    [{ type: 'platform.start', time: '', record: { requestId: 7 } }, undefined],
    [{ type: 'function', time: '', record: 'text line' }, undefined],
    [{ type: 'function', time: '', record: null }, undefined],
  ])('reads the request id of %j', (event, id) => {
    expect(requestIdOf(event)).toBe(id);
  });
});
