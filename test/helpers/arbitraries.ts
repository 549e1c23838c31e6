/** Generators of Telemetry API batches, good and hostile, for fast-check. */
import fc from 'fast-check';

const RID = fc.uuid();
const time = fc
  .date({
    min: new Date('2020-01-01'),
    max: new Date('2030-01-01'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
const text = fc.string({ unit: 'grapheme', maxLength: 200 });
const level = fc.constantFrom(
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'ERROR',
  'FATAL',
  'warning',
  'critical',
  'nonsense'
);

const goodFunction = fc.oneof(
  fc.record({
    time,
    type: fc.constant('function'),
    record: fc
      .tuple(time, RID, level, text)
      .map(([t, r, l, m]) => `${t}\t${r}\t${l}\t${m}\n`),
  }),
  fc.record({ time, type: fc.constant('function'), record: text }),
  fc.record({
    time,
    type: fc.constant('function'),
    record: fc.record({
      timestamp: time,
      level,
      requestId: RID,
      message: fc.oneof(text, fc.jsonValue()),
    }),
  }),
  fc.record({
    time,
    type: fc.constant('function'),
    record: fc.dictionary(
      fc.string({ maxLength: 10 }),
      fc.jsonValue({ maxDepth: 3 })
    ),
  })
);
const goodPlatform = fc.oneof(
  fc.record({
    time,
    type: fc.constant('platform.start'),
    record: fc.record({ requestId: RID, version: fc.constant('$LATEST') }),
  }),
  fc.record({
    time,
    type: fc.constant('platform.runtimeDone'),
    record: fc.record({
      requestId: RID,
      status: fc.constantFrom('success', 'error', 'timeout'),
      metrics: fc.record({
        durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
      }),
    }),
  }),
  fc.record({
    time,
    type: fc.constant('platform.report'),
    record: fc.record({
      requestId: RID,
      status: fc.constant('success'),
      metrics: fc.record({
        durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
        billedDurationMs: fc.nat(),
      }),
    }),
  }),
  fc.record({
    time,
    type: fc.constant('platform.initStart'),
    record: fc.record({
      initializationType: fc.constant('on-demand'),
      phase: fc.constant('init'),
    }),
  }),
  fc.record({
    time,
    type: fc.constant('platform.logsDropped'),
    record: fc.record({
      droppedRecords: fc.nat(),
      droppedBytes: fc.nat(),
      reason: text,
    }),
  })
);
function deep(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
}
const hostile = fc.oneof(
  fc.record({
    time: fc.anything(),
    type: fc.anything(),
    record: fc.anything(),
  }),
  fc.record({
    time,
    type: fc.constantFrom(
      'platform.start',
      'platform.report',
      'platform.runtimeDone',
      'platform.initReport',
      'platform.restoreReport'
    ),
    record: fc.anything(),
  }),
  fc.record({
    time,
    type: fc.constantFrom('platform.report', 'platform.start'),
    record: fc.record({
      requestId: fc.anything(),
      tracing: fc.anything(),
      spans: fc.anything(),
      metrics: fc.anything(),
    }),
  }),
  fc.record({
    time: fc.string(),
    type: fc.constant('function'),
    record: fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  }),
  fc.integer({ min: 1, max: 300 }).map((d) => ({
    time: '2026-01-01T00:00:00Z',
    type: 'function',
    record: deep(d),
  })),
  fc.constantFrom(null, 42, 'string', [], true),
  fc
    .string({ unit: 'binary', maxLength: 50 })
    .map((s) => ({ time: s, type: s, record: s }))
);

export const batch = fc.array(
  fc.oneof(
    goodFunction.map((e) => ({ good: true, fn: true, e })),
    goodPlatform.map((e) => ({ good: true, fn: false, e })),
    hostile.map((e) => ({ good: false, fn: false, e }))
  ),
  { maxLength: 12 }
);
