/**
 * Compares what the emulator produced with what an OTLP receiver decoded by
 * itself. The expectations come from the emulator's own record of what it
 * emitted (the lines it wrote, the X-Ray contexts it gave, the report
 * figures it sent), never from the extension's mapping.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ExpectedLog, LambdaEmulator, LogLine } from './emulator.js';
import type { DecodedLog, DecodedSpan } from './otlp-decode.js';

/**
 * What checkOtlp found: counts of what was expected and of what matched,
 * and one line per mismatch in `problems` (empty when all is well).
 */
export interface OtlpCompleteness {
  /** Function lines the emulator wrote that the settings let through. */
  functionLines: number;
  /** Of those, how many matched a decoded `function` log record. */
  functionLinesFound: number;
  /** Decoded function records that matched no expected line: duplicates, or lines the settings should have filtered. */
  duplicateLines: number;
  /** Invocations whose span was checked (0 when `spans` is false). */
  invocations: number;
  /** Of those, how many had exactly one SERVER span. */
  invocationSpans: number;
  problems: string[];
}

const SPAN_KIND_SERVER = 2;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

/** The body a receiver should see for a line, by the emulator's format. */
function expectedBody(line: LogLine): unknown {
  if (line.expect) return line.expect.body;
  switch (line.format ?? 'text') {
    case 'object':
      return line.fields ?? {};
    case 'json':
      return line.message;
    default:
      return String(line.message).replace(/\n$/, '');
  }
}

/** A body for a message; a line whose body is not modelled has none. */
function show(body: unknown): string {
  return body === undefined
    ? '(any body)'
    : (JSON.stringify(body) ?? String(body));
}

/** A `record` line's severity number, time and attributes. */
function expectProblems(e: ExpectedLog, got: DecodedLog): string[] {
  const out: string[] = [];
  const what = `line ${show(e.body).slice(0, 40)}`;
  if (e.severityNumber !== undefined && got.severityNumber !== e.severityNumber)
    out.push(
      `${what}: severity number ${got.severityNumber}, expected ${e.severityNumber}`
    );
  if (e.timeMs !== undefined) {
    // Nanoseconds as text: compare at microsecond precision. Records of one
    // millisecond keep their order by a microsecond each (README, Log
    // records), so a millisecond time may arrive up to 999 µs later.
    const gotUs = BigInt(got.timeUnixNano) / 1000n;
    const wantUs = BigInt(Math.round(e.timeMs * 1000));
    const slack = Number.isInteger(e.timeMs) ? 999n : 0n;
    if (gotUs < wantUs || gotUs > wantUs + slack)
      out.push(
        `${what}: time ${new Date(Number(gotUs / 1000n)).toISOString()} (${gotUs} µs), expected ${new Date(e.timeMs).toISOString()} (${wantUs} µs)`
      );
  }
  for (const [k, v] of Object.entries(e.attributes ?? {})) {
    if (!isDeepStrictEqual(got.attributes[k], v))
      out.push(
        `${what}: ${k}=${JSON.stringify(got.attributes[k])}, expected ${JSON.stringify(v)}`
      );
  }
  return out;
}

/**
 * What the user's settings filter (expect.ts works it out), so that
 * checkOtlp expects only what they let through.
 */
export interface OtlpCheckOptions {
  /** Which emitted lines the settings let through (default: all). */
  keepLine?: (line: LogLine) => boolean;
  /** False: the settings filter the events spans are made of. */
  spans?: boolean;
}

/**
 * Checks `got` (what the receiver decoded) against `emu`'s own record: every
 * function line it wrote, and (unless `opts.spans` is false) its spans.
 * Never throws: what is missing or wrong is a line in `problems`.
 */
export function checkOtlp(
  emu: LambdaEmulator,
  got: { logs: DecodedLog[]; spans: DecodedSpan[] },
  opts: OtlpCheckOptions = {}
): OtlpCompleteness {
  const problems: string[] = [];
  const fnLogs = got.logs.filter(
    (l) => l.attributes['aws.lambda.event.type'] === 'function'
  );
  const used = new Set<DecodedLog>();
  let found = 0;
  const expected = emu.functionLines.filter(
    ({ line }) => opts.keepLine?.(line) ?? true
  );
  for (const { requestId, line } of expected) {
    const body = expectedBody(line);
    // An expectation without a body (a real function's line whose reading
    // is not modelled) matches any record of its invocation.
    const anyBody = line.expect !== undefined && !('body' in line.expect);
    const matches = fnLogs.filter(
      (l) =>
        !used.has(l) &&
        // A line written outside any invocation (init) has no request id.
        (l.attributes['faas.invocation.id'] ?? '') === requestId &&
        (anyBody || isDeepStrictEqual(l.body, body))
    );
    const match = matches[0];
    if (!match) {
      problems.push(
        `function line missing: ${requestId.slice(0, 8)} ${show(body).slice(0, 80)}`
      );
      continue;
    }
    used.add(match);
    found++;
    const level = line.expect
      ? line.expect.severityText
      : line.format === 'plain' || line.format === 'object'
        ? undefined
        : (line.level ?? 'INFO');
    if (level !== undefined && match.severityText !== level) {
      problems.push(
        `line ${JSON.stringify(body).slice(0, 40)}: severity ${match.severityText}, expected ${level}`
      );
    }
    if (line.expect) problems.push(...expectProblems(line.expect, match));
    const inv = emu.invocations.find((i) => i.requestId === requestId);
    if (inv?.traceId && match.traceId !== inv.traceId) {
      problems.push(
        `line ${JSON.stringify(body).slice(0, 40)}: trace ${match.traceId}, expected ${inv.traceId}`
      );
    }
    if (inv?.spanId && match.spanId !== inv.spanId) {
      problems.push(
        `line ${JSON.stringify(body).slice(0, 40)}: span ${match.spanId}, expected ${inv.spanId}`
      );
    }
  }
  const duplicateLines = fnLogs.length - used.size;

  let invocationSpans = 0;
  for (const inv of opts.spans === false ? [] : emu.invocations) {
    const spans = got.spans.filter(
      (s) =>
        s.kind === SPAN_KIND_SERVER &&
        s.attributes['faas.invocation.id'] === inv.requestId
    );
    if (spans.length !== 1) {
      problems.push(
        `invocation ${inv.requestId.slice(0, 8)}: ${spans.length} spans`
      );
      continue;
    }
    invocationSpans++;
    const span = spans[0] as DecodedSpan;
    if (inv.traceId && span.traceId !== inv.traceId)
      problems.push(
        `invocation ${inv.requestId.slice(0, 8)}: trace id ${span.traceId} is not the X-Ray root ${inv.traceId}`
      );
    if (inv.spanId && span.spanId !== inv.spanId)
      problems.push(
        `invocation ${inv.requestId.slice(0, 8)}: span id ${span.spanId}, expected ${inv.spanId}`
      );
    if (inv.parentSpanId && span.parentSpanId !== inv.parentSpanId)
      problems.push(
        `invocation ${inv.requestId.slice(0, 8)}: parent ${span.parentSpanId}, expected ${inv.parentSpanId}`
      );
    const code = inv.status === 'success' ? STATUS_OK : STATUS_ERROR;
    if (span.status.code !== code)
      problems.push(
        `invocation ${inv.requestId.slice(0, 8)}: status ${span.status.code}, expected ${code}`
      );
    if (
      inv.status !== 'success' &&
      span.attributes['error.type'] !== inv.errorType
    ) {
      problems.push(
        `invocation ${inv.requestId.slice(0, 8)}: error.type ${String(span.attributes['error.type'])}, expected ${inv.errorType}`
      );
    }
    for (const [k, v] of Object.entries(inv.reportMetrics ?? {})) {
      const attr = `aws.lambda.report.${k
        .replace(/MB$/, '_mb')
        .replace(/Ms$/, '_ms')
        .replace(/([A-Z])/g, '_$1')
        .toLowerCase()}`;
      if (span.attributes[attr] !== v)
        problems.push(
          `invocation ${inv.requestId.slice(0, 8)}: ${attr}=${String(span.attributes[attr])}, expected ${v}`
        );
    }
  }

  // Each environment's init (or restore) span sits in its first invocation's trace.
  emu.launches.forEach((launch, index) => {
    if (opts.spans === false) return;
    const first = emu.invocations.find((i) => i.launch === index);
    if (!first?.traceId || launch.initMs === undefined) return;
    const name =
      launch.initializationType === 'snap-start' ? 'restore' : 'init';
    const phase = got.spans.find(
      (s) => s.name === name && s.traceId === first.traceId
    );
    if (!phase)
      problems.push(
        `environment ${index + 1}: no ${name} span in the first invocation's trace`
      );
    else if (phase.parentSpanId !== first.spanId)
      problems.push(
        `environment ${index + 1}: ${name} span is not a child of the first invocation`
      );
  });

  return {
    functionLines: expected.length,
    functionLinesFound: found,
    duplicateLines,
    invocations: opts.spans === false ? 0 : emu.invocations.length,
    invocationSpans,
    problems,
  };
}
