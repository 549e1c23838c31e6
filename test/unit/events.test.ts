import { describe, expect, it } from 'vitest';
import { parseBatch, requestIdOf } from '../../src/lambda/events.js';

describe('parseBatch', () => {
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
    const result = parseBatch(JSON.stringify(batch));
    expect(result).toEqual({ ok: true, events: batch, rejected: 0 });
  });

  it('tolerates events with missing fields', () => {
    const result = parseBatch(
      '[{}, {"type":"platform.report"}, {"record":null}]'
    );
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
    const result = parseBatch(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('skips elements that cannot be events and counts them', () => {
    const result = parseBatch(
      '[1, "x", null, [], {"type":"function","record":"ok"}, true]'
    );
    expect(result).toEqual({
      ok: true,
      events: [{ type: 'function', record: 'ok' }],
      rejected: 5,
    });
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
