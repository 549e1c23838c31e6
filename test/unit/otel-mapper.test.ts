import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '../../src/lambda/events.js';
import { OtelMapper, type OtelMapperOptions } from '../../src/otel/mapper.js';
import { IdGenerator } from '../../src/otel/trace-context.js';
import { type Mapped, type OtelItem, recorder } from '../helpers/recorder.js';

const RID = 'aaaaaaaa-1111-4222-8333-944445555666';
const RID2 = 'bbbbbbbb-1111-4222-8333-944445555666';
const TRACE = '5759e988bd862e3fe1be46a994272793';
const XRAY = `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`;
const SPAN_ID = '1a2b3c4d5e6f7a8b';

function mapper(over: Partial<OtelMapperOptions> = {}) {
  const items: Mapped<OtelItem>[] = [];
  const m = new OtelMapper({
    processor: recorder(items),
    functionName: 'fn',
    resourceAttributes: { 'service.name': 'fn' },
    managedInstances: false,
    platformLogs: true,
    maxBodyChars: 100,
    signals: { logs: true, traces: true },
    scopeVersion: '0.0.0',
    now: () => Date.parse('2026-11-25T10:00:05.000Z'),
    ...over,
  });
  const feed = (...events: TelemetryEvent[]) => {
    for (const e of events) m.map(e);
  };
  const spans = () =>
    items.flatMap((i) => (i.value.signal === 'traces' ? [i.value.span] : []));
  const logs = () =>
    items.flatMap((i) => (i.value.signal === 'logs' ? [i.value.record] : []));
  return {
    m,
    items,
    feed,
    spans,
    logs,
    drain: () => m.drain(),
  };
}

const t = (ms: number) =>
  new Date(Date.parse('2026-11-25T10:00:00.000Z') + ms).toISOString();
const ev = (ms: number, type: string, record: unknown): TelemetryEvent => ({
  time: t(ms),
  type,
  record,
});
const tracing = { type: 'X-Amzn-Trace-Id', value: XRAY, spanId: SPAN_ID };

function invocation(
  rid = RID,
  status = 'success',
  errorType?: string
): TelemetryEvent[] {
  return [
    ev(0, 'platform.start', { requestId: rid, version: '$LATEST', tracing }),
    ev(1, 'function', `${t(1)}\t${rid}\tINFO\tin handler\n`),
    ev(20, 'platform.runtimeDone', {
      requestId: rid,
      status,
      ...(errorType ? { errorType } : {}),
      metrics: { durationMs: 19.5, producedBytes: 42 },
      spans: [
        { name: 'responseLatency', start: t(0), durationMs: 18 },
        { name: 'responseDuration', start: t(18), durationMs: 1 },
      ],
      tracing,
    }),
    ev(25, 'platform.report', {
      requestId: rid,
      status,
      ...(errorType ? { errorType } : {}),
      metrics: {
        durationMs: 21.25,
        billedDurationMs: 22,
        memorySizeMB: 128,
        maxMemoryUsedMB: 64,
        initDurationMs: 90.5,
      },
      spans: [{ name: 'extensionOverhead', start: t(20), durationMs: 0.5 }],
      tracing,
    }),
  ];
}

describe('invocation spans', () => {
  it('a replayed report (or a late runtimeDone) of an invocation already sent opens no second span', () => {
    const { feed, spans, drain } = mapper();
    const events = invocation();
    feed(...events);
    const [, , done, report] = events;
    feed(report as TelemetryEvent, done as TelemetryEvent);
    drain();
    expect(spans().filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(1);
  });

  it('holds the span until the report, then emits exactly one with every figure', () => {
    const { feed, spans } = mapper();
    const [start, line, done, report] = invocation();
    feed(
      start as TelemetryEvent,
      line as TelemetryEvent,
      done as TelemetryEvent
    );
    expect(spans()).toHaveLength(0);
    feed(report as TelemetryEvent);
    const server = spans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server).toHaveLength(1);
    const span = server[0];
    expect(span?.name).toBe('fn');
    expect(span?.spanContext()).toEqual({
      traceId: TRACE,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    expect(span?.parentSpanContext?.spanId).toBe('53995c3f42cd8ad8');
    expect(span?.status).toEqual({ code: SpanStatusCode.OK });
    expect(span?.startTime).toEqual([Date.parse(t(0)) / 1000, 0]);
    expect(span?.duration).toEqual([0, 21_250_000]);
    expect(span?.attributes).toMatchObject({
      'faas.invocation.id': RID,
      'aws.lambda.status': 'success',
      'aws.lambda.report.duration_ms': 21.25,
      'aws.lambda.report.billed_duration_ms': 22,
      'aws.lambda.report.memory_size_mb': 128,
      'aws.lambda.report.max_memory_used_mb': 64,
      'aws.lambda.report.init_duration_ms': 90.5,
      'aws.lambda.runtime_done.duration_ms': 19.5,
      'aws.lambda.runtime_done.produced_bytes': 42,
    });
  });

  it('makes the reported phases child spans', () => {
    const { feed, spans } = mapper();
    feed(...invocation());
    const children = spans().filter((s) => s.kind === SpanKind.INTERNAL);
    expect(children.map((c) => c.name)).toEqual([
      'responseLatency',
      'responseDuration',
      'extensionOverhead',
    ]);
    for (const c of children) {
      expect(c.parentSpanContext?.spanId).toBe(SPAN_ID);
      expect(c.spanContext().traceId).toBe(TRACE);
    }
    expect(children[0]?.duration).toEqual([0, 18_000_000]);
  });

  it.each([
    ['error', 'TypeError'],
    ['failure', 'Sandbox.Failure'],
    ['timeout', 'Sandbox.Timedout'],
  ])('marks a %s invocation ERROR with error.type %s', (status, errorType) => {
    const { feed, spans } = mapper();
    feed(...invocation(RID, status, errorType));
    const span = spans().find((s) => s.kind === SpanKind.SERVER);
    expect(span?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: `${status}: ${errorType}`,
    });
    expect(span?.attributes['error.type']).toBe(errorType);
    expect(span?.attributes['aws.lambda.status']).toBe(status);
  });

  it('carries the Sampled=0 flag but still exports', () => {
    const { feed, spans } = mapper();
    const unsampled = {
      ...tracing,
      value: XRAY.replace('Sampled=1', 'Sampled=0'),
    };
    feed(
      ev(0, 'platform.start', { requestId: RID, tracing: unsampled }),
      ev(5, 'platform.report', {
        requestId: RID,
        status: 'success',
        metrics: { durationMs: 5 },
      })
    );
    expect(spans()[0]?.spanContext().traceFlags).toBe(TraceFlags.NONE);
  });

  it('generates ids when there is no X-Ray header', () => {
    const { feed, spans } = mapper();
    feed(
      ev(0, 'platform.start', { requestId: RID }),
      ev(5, 'platform.report', {
        requestId: RID,
        status: 'success',
        metrics: { durationMs: 5 },
      })
    );
    const ctx = spans()[0]?.spanContext();
    expect(ctx?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ctx?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spans()[0]?.parentSpanContext).toBeUndefined();
  });

  it('emits a span whose report never came at drain, marked as such', () => {
    const { feed, spans, drain } = mapper();
    const [start, line, done] = invocation();
    feed(
      start as TelemetryEvent,
      line as TelemetryEvent,
      done as TelemetryEvent
    );
    drain();
    const span = spans().find((s) => s.kind === SpanKind.SERVER);
    expect(span?.attributes['aws.lambda.report.missing']).toBe(true);
    expect(span?.duration).toEqual([0, 20_000_000]);
  });

  it('adds the invoked ARN from INVOKE', () => {
    const { m, feed, spans } = mapper();
    m.noteInvoke(RID, 'arn:aws:lambda:us-east-1:123456789012:function:fn:live');
    feed(...invocation());
    expect(
      spans().find((s) => s.kind === SpanKind.SERVER)?.attributes[
        'aws.lambda.invoked_arn'
      ]
    ).toBe('arn:aws:lambda:us-east-1:123456789012:function:fn:live');
  });
});

describe('init and restore spans', () => {
  const init = [
    ev(-100, 'platform.initStart', {
      initializationType: 'on-demand',
      phase: 'init',
      runtimeVersion: 'nodejs:22.v40',
      functionName: 'fn',
      instanceId: 'i-1',
    }),
    ev(-10, 'platform.initRuntimeDone', {
      initializationType: 'on-demand',
      phase: 'init',
      status: 'success',
    }),
    ev(-10, 'platform.initReport', {
      initializationType: 'on-demand',
      phase: 'init',
      status: 'success',
      metrics: { durationMs: 90 },
    }),
  ];

  it('puts the init span in the first invocation trace, as its child, and marks the cold start', () => {
    const { feed, spans } = mapper();
    feed(...init, ...invocation(), ...invocation(RID2));
    const initSpan = spans().find((s) => s.name === 'init');
    expect(initSpan?.spanContext().traceId).toBe(TRACE);
    expect(initSpan?.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(initSpan?.duration).toEqual([0, 90_000_000]);
    expect(initSpan?.attributes).toMatchObject({
      'faas.coldstart': true,
      'aws.lambda.initialization_type': 'on-demand',
      'aws.lambda.init.phase': 'init',
      'aws.lambda.runtime.version': 'nodejs:22.v40',
    });
    const server = spans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server.map((s) => s.attributes['faas.coldstart'])).toEqual([
      true,
      false,
    ]);
    expect(initSpan?.resource.attributes['faas.instance']).toBe('i-1');
  });

  it('does not call a provisioned-concurrency start cold', () => {
    const { feed, spans } = mapper();
    const pc = init.map((e) => ({
      ...e,
      record: {
        ...(e.record as object),
        initializationType: 'provisioned-concurrency',
      },
    }));
    feed(...pc, ...invocation());
    expect(
      spans().find((s) => s.kind === SpanKind.SERVER)?.attributes[
        'faas.coldstart'
      ]
    ).toBe(false);
  });

  it('builds a restore span for SnapStart', () => {
    const { feed, spans } = mapper();
    feed(
      ev(-50, 'platform.restoreStart', {
        functionName: 'fn',
        runtimeVersion: 'java:21.v1',
      }),
      ev(-10, 'platform.restoreRuntimeDone', { status: 'success' }),
      ev(-10, 'platform.restoreReport', {
        status: 'success',
        metrics: { durationMs: 40 },
      }),
      ...invocation()
    );
    const restore = spans().find((s) => s.name === 'restore');
    expect(restore?.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(restore?.attributes['aws.lambda.initialization_type']).toBe(
      'snap-start'
    );
  });

  describe('SnapStart: the init made the snapshot, the restore is the cold start', () => {
    const snapInit = init.map((e) => ({
      ...e,
      record: { ...(e.record as object), initializationType: 'snap-start' },
    }));
    const restore = [
      ev(-50, 'platform.restoreStart', { functionName: 'fn' }),
      ev(-10, 'platform.restoreRuntimeDone', { status: 'success' }),
      ev(-10, 'platform.restoreReport', {
        status: 'success',
        metrics: { durationMs: 40 },
      }),
    ];
    /** faas.coldstart by span: init/restore by name, invocations by request id. */
    const coldOf = (spans: ReturnType<ReturnType<typeof mapper>['spans']>) =>
      Object.fromEntries(
        spans.flatMap((s) =>
          s.kind === SpanKind.SERVER
            ? [
                [
                  String(s.attributes['faas.invocation.id']),
                  s.attributes['faas.coldstart'],
                ],
              ]
            : s.name === 'init' || s.name === 'restore'
              ? [[s.name, s.attributes['faas.coldstart']]]
              : []
        )
      );

    it.each([
      [
        'init, restore, two invocations',
        [...snapInit, ...restore, ...invocation(), ...invocation(RID2)],
        { init: false, restore: true, [RID]: true, [RID2]: false },
      ],
      [
        'restore only (what a restored environment receives)',
        [...restore, ...invocation(), ...invocation(RID2)],
        { restore: true, [RID]: true, [RID2]: false },
      ],
      [
        'a SnapStart init invoked without a restore: no cold start',
        [...snapInit, ...invocation(), ...invocation(RID2)],
        { init: false, [RID]: false, [RID2]: false },
      ],
      [
        'a restoreStart after an invocation (replayed or stray): no second cold start',
        [...restore, ...invocation(), ...restore, ...invocation(RID2)],
        { restore: false, [RID]: true, [RID2]: false },
      ],
      [
        'on-demand, for comparison',
        [...init, ...invocation(), ...invocation(RID2)],
        { init: true, [RID]: true, [RID2]: false },
      ],
    ])('%s', (_name, events, expected) => {
      const { feed, spans, drain } = mapper();
      feed(...events);
      drain();
      expect(coldOf(spans())).toEqual(expected);
    });

    it('makes different ids after afterRestore() than a second restore of the same snapshot would', () => {
      const seed = [1, 2, 3, 4];
      const idsAfterRestore = () => {
        const { m, feed, spans } = mapper({ ids: new IdGenerator(seed) });
        m.afterRestore();
        // Untraced invocations: every id is ours.
        feed(
          ...restore,
          ev(0, 'platform.start', { requestId: RID }),
          ev(20, 'platform.runtimeDone', { requestId: RID, status: 'success' }),
          ev(25, 'platform.report', {
            requestId: RID,
            status: 'success',
            metrics: { durationMs: 21 },
          })
        );
        return spans().map(
          (s) => s.spanContext().spanId + s.spanContext().traceId
        );
      };
      const first = idsAfterRestore();
      const second = idsAfterRestore();
      expect(first.length).toBe(2);
      expect(first.filter((id) => second.includes(id))).toEqual([]);
    });
  });

  it('emits an init with no invocation at drain, alone', () => {
    const { feed, spans, drain } = mapper();
    feed(...init);
    expect(spans()).toHaveLength(0);
    drain();
    expect(spans().map((s) => s.name)).toEqual(['init']);
  });
});

describe('log records', () => {
  it('carry the request id and the invocation span ids', () => {
    const { feed, logs } = mapper();
    feed(...invocation());
    const line = logs().find((l) => l.body === 'in handler');
    expect(line?.attributes['faas.invocation.id']).toBe(RID);
    expect(line?.spanContext).toEqual({
      traceId: TRACE,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    expect(line?.severityText).toBe('INFO');
  });

  it('give a line without its own request id to the running invocation', () => {
    const { feed, logs } = mapper();
    feed(
      ev(0, 'platform.start', { requestId: RID, tracing }),
      ev(1, 'function', 'bare line\n')
    );
    expect(
      logs().find((l) => l.body === 'bare line')?.attributes[
        'faas.invocation.id'
      ]
    ).toBe(RID);
  });

  it('infer nothing after runtimeDone, or on Managed Instances', () => {
    const after = mapper();
    after.feed(...invocation().slice(0, 3), ev(30, 'function', 'late line\n'));
    expect(
      after.logs().find((l) => l.body === 'late line')?.attributes[
        'faas.invocation.id'
      ]
    ).toBeUndefined();
    const lmi = mapper({ managedInstances: true });
    lmi.feed(
      ev(0, 'platform.start', { requestId: RID }),
      ev(1, 'function', 'bare line\n')
    );
    expect(
      lmi.logs().find((l) => l.body === 'bare line')?.attributes[
        'faas.invocation.id'
      ]
    ).toBeUndefined();
  });

  it('keep the order of records within one millisecond', () => {
    const { feed, logs } = mapper();
    feed(
      ev(1, 'function', 'a\n'),
      ev(1, 'function', 'b\n'),
      ev(1, 'function', 'c\n')
    );
    const times = logs().map((l) => l.hrTime[0] * 1e9 + l.hrTime[1]);
    expect(times[0]).toBeLessThan(times[1] as number);
    expect(times[1]).toBeLessThan(times[2] as number);
  });

  it('truncate a long body and say so', () => {
    const { feed, logs } = mapper({ maxBodyChars: 100 });
    feed(ev(1, 'function', `${'x'.repeat(500)}\n`));
    const l = logs()[0];
    expect(l?.body).toBe('x'.repeat(100));
    expect(l?.attributes).toMatchObject({
      'aws.lambda.log.truncated': true,
      'aws.lambda.log.original_length': 500,
    });
  });

  it.each([
    [
      'an emoji across the limit',
      `${'x'.repeat(99)}\u{1F600}tail`,
      'x'.repeat(99),
    ],
    [
      'an emoji ending at the limit',
      `${'x'.repeat(98)}\u{1F600}tail`,
      `${'x'.repeat(98)}\u{1F600}`,
    ],
    [
      'a BMP character at the limit',
      `${'x'.repeat(99)}\u00e9tail`,
      `${'x'.repeat(99)}\u00e9`,
    ],
  ])('truncate on a character boundary: %s', (_name, line, expected) => {
    const { feed, logs } = mapper({ maxBodyChars: 100 });
    feed(ev(1, 'function', `${line}\n`));
    const body = logs()[0]?.body as string;
    expect(body).toBe(expected);
    // What the receiver decodes: valid UTF-8, no replacement character.
    expect(Buffer.from(body, 'utf8').toString('utf8')).toBe(body);
    expect(logs()[0]?.attributes['aws.lambda.log.original_length']).toBe(
      line.length
    );
  });

  it('use the record time, with observed time at receipt', () => {
    const { feed, logs } = mapper();
    feed(ev(3, 'function', { timestamp: t(2), level: 'INFO', message: 'x' }));
    const ms = Date.parse(t(2));
    expect(logs()[0]?.hrTime).toEqual([
      Math.floor(ms / 1000),
      (ms % 1000) * 1e6,
    ]);
    expect(logs()[0]?.hrTimeObserved).toEqual([
      Date.parse('2026-11-25T10:00:05.000Z') / 1000,
      0,
    ]);
  });

  it('turn logsDropped into a WARN with the counts, even with platform lines off', () => {
    const { feed, logs } = mapper({ platformLogs: false });
    feed(
      ev(1, 'platform.logsDropped', {
        droppedRecords: 12,
        droppedBytes: 4096,
        reason: 'slow consumer',
      })
    );
    expect(logs()).toHaveLength(1);
    expect(logs()[0]?.severityText).toBe('WARN');
    expect(logs()[0]?.attributes).toMatchObject({
      'aws.lambda.logs_dropped.records': 12,
      'aws.lambda.logs_dropped.bytes': 4096,
      'aws.lambda.logs_dropped.reason': 'slow consumer',
    });
  });

  it('keep an unknown event type whole', () => {
    const { feed, logs } = mapper();
    feed(ev(1, 'platform.fromTheFuture', { x: [1, 2] }));
    expect(logs()[0]?.body).toEqual({ x: [1, 2] });
    expect(logs()[0]?.attributes['aws.lambda.event.type']).toBe(
      'platform.fromTheFuture'
    );
  });

  it('render platform events as CloudWatch lines, ERROR when they failed', () => {
    const { feed, logs } = mapper();
    feed(...invocation(RID, 'error', 'TypeError'));
    const lines = logs().filter((l) =>
      String(l.attributes['aws.lambda.event.type']).startsWith('platform.')
    );
    expect(lines.map((l) => String(l.body).split(' ')[0])).toEqual([
      'START',
      'END',
      'REPORT',
    ]);
    expect(lines.map((l) => l.severityText)).toEqual([
      'INFO',
      'ERROR',
      'ERROR',
    ]);
    for (const l of lines) expect(l.spanContext?.spanId).toBe(SPAN_ID);
  });

  it('leave platform lines out when switched off, spans still whole', () => {
    const { feed, logs, spans } = mapper({ platformLogs: false });
    feed(...invocation());
    expect(logs().map((l) => l.body)).toEqual(['in handler']);
    expect(spans().filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(1);
  });
});

describe('counting in Telemetry API events', () => {
  it('counts every event exactly once across the items', () => {
    const { feed, items, drain, m } = mapper();
    const events = [
      ev(-100, 'platform.initStart', {
        initializationType: 'on-demand',
        phase: 'init',
      }),
      ev(-10, 'platform.initReport', {
        status: 'success',
        metrics: { durationMs: 90 },
      }),
      ...invocation(),
      ...invocation(RID2).slice(0, 3),
      ev(40, 'platform.logsDropped', { droppedRecords: 1 }),
      ev(41, 'extension', 'ext line\n'),
      ev(42, 'platform.telemetrySubscription', {
        name: 'x',
        state: 'Subscribed',
        types: [],
      }),
    ];
    feed(...events);
    expect(items.reduce((n, i) => n + i.events, 0) + m.pendingEvents).toBe(
      events.length
    );
    drain();
    expect(items.reduce((n, i) => n + i.events, 0)).toBe(events.length);
    expect(m.pendingEvents).toBe(0);
  });

  it('counts a signal without endpoint as discarded', () => {
    const { feed, items, m } = mapper({
      signals: { logs: true, traces: false },
    });
    feed(...invocation());
    expect(items.every((i) => i.value.signal === 'logs')).toBe(true);
    expect(m.discardedEvents + items.reduce((n, i) => n + i.events, 0)).toBe(4);
  });

  it('keeps the stream type and invocation id of a record with more keys than the SDK keeps (128)', () => {
    const { feed, logs } = mapper();
    const record: Record<string, unknown> = { message: 'wide', requestId: RID };
    for (let i = 0; i < 200; i++) record[`k${i}`] = i;
    feed(ev(1, 'function', record));
    const log = logs()[0];
    expect(log?.attributes['aws.lambda.event.type']).toBe('function');
    expect(log?.attributes['faas.invocation.id']).toBe(RID);
    expect(Object.keys(log?.attributes ?? {})).toHaveLength(128);
    expect(log?.droppedAttributesCount).toBe(200 + 2 - 128);
  });

  it('treats a time outside what OTLP can carry as invalid (it would wrap around on the wire)', () => {
    const { feed, logs } = mapper();
    for (const timestamp of ['2600-01-01T00:00:00Z', '1960-01-01T00:00:00Z'])
      feed(ev(7, 'function', { message: timestamp, timestamp }));
    const event = Date.parse(t(7));
    for (const l of logs())
      expect(l.hrTime[0] * 1_000 + l.hrTime[1] / 1e6).toBeCloseTo(event, 1);
  });
});
