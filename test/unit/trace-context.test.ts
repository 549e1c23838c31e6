import { describe, expect, it } from 'vitest';
import {
  IdGenerator,
  isSpanId,
  newSpanId,
  newTraceId,
  parseXRayHeader,
} from '../../src/otel/trace-context.js';

describe('parseXRayHeader', () => {
  it.each([
    [
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      {
        traceId: '5759e988bd862e3fe1be46a994272793',
        parentSpanId: '53995c3f42cd8ad8',
        sampled: true,
      },
    ],
    [
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1|68fd508a:5',
      {
        traceId: '5759e988bd862e3fe1be46a994272793',
        parentSpanId: '53995c3f42cd8ad8',
        sampled: false,
      },
    ],
    [
      'Root=1-5759E988-BD862E3FE1BE46A994272793',
      { traceId: '5759e988bd862e3fe1be46a994272793' },
    ],
    [
      'Sampled=1;Root=1-5759e988-bd862e3fe1be46a994272793',
      { traceId: '5759e988bd862e3fe1be46a994272793', sampled: true },
    ],
    [
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000',
      { traceId: '5759e988bd862e3fe1be46a994272793' },
    ],
  ])('%s', (header, expected) => {
    expect(parseXRayHeader(header)).toEqual(expected);
  });

  it.each([
    ['no Root', 'Parent=53995c3f42cd8ad8;Sampled=1'],
    ['a malformed Root', 'Root=1-5759e988-xyz'],
    ['a version-2 Root', 'Root=2-5759e988-bd862e3fe1be46a994272793'],
    ['an all-zero trace id', 'Root=1-00000000-000000000000000000000000'],
    ['not a string', 42],
  ])('ignores a header with %s', (_name, header) => {
    expect(parseXRayHeader(header)).toBeUndefined();
  });
});

describe('new ids', () => {
  it('are lowercase hex of the right length, valid, and do not repeat', () => {
    const spans = new Set<string>();
    const traces = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const s = newSpanId();
      const t = newTraceId();
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(isSpanId(s)).toBe(true);
      spans.add(s);
      traces.add(t);
    }
    expect(spans.size).toBe(10_000);
    expect(traces.size).toBe(10_000);
  });
});

describe('ids after a SnapStart restore', () => {
  // What a snapshot copies: the generator's whole state.
  const SNAPSHOT = [0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x12345678];
  const ids = (g: IdGenerator, n: number) =>
    Array.from({ length: n }, () => `${g.traceId()}/${g.spanId()}`);

  it('two generators restored from the same state make the same ids until the restore step', () => {
    const a = new IdGenerator(SNAPSHOT);
    const b = new IdGenerator(SNAPSHOT);
    expect(b.state()).toEqual(a.state());
    // The problem being fixed: copies of one state repeat each other.
    expect(ids(a, 5)).toEqual(ids(b, 5));
  });

  it('two generators restored from the same state make different ids after the restore step (kernel entropy)', () => {
    const a = new IdGenerator(SNAPSHOT);
    const b = new IdGenerator(SNAPSHOT);
    a.reseed();
    b.reseed();
    expect(a.state()).not.toEqual(b.state());
    const fromA = new Set(ids(a, 1000));
    for (const id of ids(b, 1000)) expect(fromA.has(id)).toBe(false);
  });

  it('draws the restore step from the entropy source, not from the copied state', () => {
    const a = new IdGenerator(SNAPSHOT);
    const b = new IdGenerator(SNAPSHOT);
    let n = 0;
    // Two environments' sources: different bytes each.
    const source = (out: Uint8Array) => out.fill(++n);
    a.reseed(source);
    b.reseed(source);
    expect(ids(a, 3)).not.toEqual(ids(b, 3));
  });

  it('still separates copies when the entropy source fails (the restore time differs)', async () => {
    const a = new IdGenerator(SNAPSHOT);
    const b = new IdGenerator(SNAPSHOT);
    const broken = () => {
      throw new Error('no entropy');
    };
    a.reseed(broken);
    await new Promise((r) => setTimeout(r, 2));
    b.reseed(broken);
    expect(ids(a, 3)).not.toEqual(ids(b, 3));
  });

  it('makes valid ids: 32 and 16 lower-case hex digits, never all zeros', () => {
    const g = new IdGenerator([0, 0, 0, 0]);
    for (let i = 0; i < 1000; i++) {
      expect(g.traceId()).toMatch(/^[0-9a-f]{32}$/);
      expect(g.traceId()).not.toBe('0'.repeat(32));
      expect(isSpanId(g.spanId())).toBe(true);
    }
  });
});
