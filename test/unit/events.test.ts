import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchReader, parseBatch } from '../../src/lambda/batch.js';
import { requestIdOf } from '../../src/lambda/events.js';

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
