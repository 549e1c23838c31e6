import { describe, expect, it } from 'vitest';
import {
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
