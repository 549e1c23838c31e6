/**
 * `node dist/emulator/cli.mjs demo`: runs the built layer's extension under
 * the local Lambda emulator against a local receiver, prints what arrived
 * and the figures, and exits 0 only if every event arrived and every
 * SHUTDOWN ended with the extension gone before its deadline.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkOtlp } from './check-otlp.js';
import type { LambdaEmulator } from './emulator.js';
import type { DecodedLog, DecodedSpan } from './otlp-decode.js';
import { runDemo } from './run-function.js';
import { checkRaw } from './scenario.js';
import { Sink } from './sink.js';

const HELP = `usage: cli.mjs demo [--extension PATH] [--format otlp|raw] [--invocations N] [--verbose]
                   [--function PATH[:export] [--event FILE]]

Runs PATH (default dist/layer/extensions/lambda-telemetry-otel) under the
local Lambda emulator: a cold start, invocations (TEXT and JSON logs, a
failure, a timeout and its reset), a suppressed init, a logsDropped, a
SnapStart restore, then SHUTDOWN. The extension exports to a local receiver.
--function runs your handler (a file, or a folder with _HANDLER) under AWS's
runtime interface client instead, --invocations times with --event's JSON.`;

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      extension: {
        type: 'string',
        default: 'dist/layer/extensions/lambda-telemetry-otel',
      },
      invocations: { type: 'string', default: '5' },
      format: { type: 'string', default: 'otlp' },
      verbose: { type: 'boolean', default: false },
      // Issue #14, real functions (run-function.ts).
      function: { type: 'string' },
      event: { type: 'string' },
    },
  });
  const extensionPath = resolve(values.extension);
  if (!existsSync(extensionPath)) {
    console.error(`no extension at ${extensionPath}: run npm run build first`);
    return 2;
  }
  const sink = new Sink();
  const url = await sink.start();
  console.log(
    'lambda-telemetry-otel demo: the built layer under the local Lambda emulator'
  );
  console.log(`  extension ${extensionPath}`);
  console.log(`  receiver  ${url}\n`);
  const started = Date.now();
  let emu: LambdaEmulator;
  try {
    // Issue #14: the real runtime client where built (the user's function
    // with --function), else the scripted runtime; runDemo says which.
    emu = await runDemo(
      {
        ...(values.function !== undefined ? { function: values.function } : {}),
        ...(values.event !== undefined ? { event: values.event } : {}),
        invocations: Number(values.invocations),
      },
      {
        extensionPath,
        invocations: Number(values.invocations),
        env: {
          DISPATCH_POST_URI: url,
          DISPATCH_FORMAT: values.format,
          // The emulator delivers to 127.0.0.1 whatever sandbox.localdomain
          // resolves to on this machine.
          LAMBDA_TELEMETRY_OTEL_LISTENER_HOST: '127.0.0.1',
        },
        ...(values.verbose
          ? { onOutput: (line: string) => console.log(`  [extension] ${line}`) }
          : {}),
      },
      (line) => console.log(line)
    );
  } finally {
    await sink.close();
  }
  if (values.format === 'raw') {
    const events = sink.rawEvents();
    printArrivals(events);
    const check = checkRaw(emu, events);
    const ok = printFigures(
      emu,
      Date.now() - started,
      [
        `platform + function events: ${check.arrived}/${check.expected} arrived${check.duplicates ? `, ${check.duplicates} duplicate(s)` : ''}`,
        `extension lines: ${check.extensionArrived}/${check.extensionDelivered} accepted by the listener arrived; ${check.extensionUndeliverable} written after the final flush`,
        ...check.missing.slice(0, 5).map((m) => `missing: ${m.slice(0, 160)}`),
      ],
      check.arrived === check.expected &&
        check.extensionArrived === check.extensionDelivered
    );
    return ok ? 0 : 1;
  }
  const got = sink.otlp();
  printTraces(got);
  const check = checkOtlp(emu, got);
  const ok = printFigures(
    emu,
    Date.now() - started,
    [
      `function lines: ${check.functionLinesFound}/${check.functionLines} arrived as log records with their invocation's trace and span ids${check.duplicateLines ? `, ${check.duplicateLines} duplicate(s)` : ''}`,
      `invocations: ${check.invocationSpans}/${check.invocations} arrived as one span each, with the X-Ray ids, status and every report figure`,
      `log records: ${got.logs.length}; spans: ${got.spans.length}`,
      ...check.problems.slice(0, 8),
    ],
    check.problems.length === 0 && check.duplicateLines === 0
  );
  return ok ? 0 : 1;
}

/** Each trace as a small tree: invocation span, its children, its log lines. */
function printTraces(got: { logs: DecodedLog[]; spans: DecodedSpan[] }): void {
  console.log(
    `What the receiver decoded (${got.spans.length} spans, ${got.logs.length} log records):`
  );
  const ms = (s: DecodedSpan): string =>
    `${(Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6).toFixed(1)} ms`;
  const status = (s: DecodedSpan): string =>
    ['UNSET', 'OK', 'ERROR'][s.status.code] ?? '?';
  const roots = got.spans.filter((s) => s.kind === 2);
  for (const root of roots) {
    const a = root.attributes;
    const facts = [
      a['faas.coldstart'] ? 'cold start' : undefined,
      a['aws.lambda.report.billed_duration_ms'] !== undefined
        ? `billed ${a['aws.lambda.report.billed_duration_ms']} ms`
        : undefined,
      a['aws.lambda.report.max_memory_used_mb'] !== undefined
        ? `max memory ${a['aws.lambda.report.max_memory_used_mb']} MB`
        : undefined,
      a['aws.lambda.report.init_duration_ms'] !== undefined
        ? `init ${a['aws.lambda.report.init_duration_ms']} ms`
        : undefined,
      a['error.type'] !== undefined
        ? `error.type ${a['error.type']}`
        : undefined,
    ].filter(Boolean);
    console.log(`  trace ${root.traceId}`);
    console.log(
      `    ${root.name} ${String(a['faas.invocation.id']).slice(0, 8)}  ${status(root)}  ${ms(root)}  [${facts.join(', ')}]`
    );
    for (const child of got.spans.filter(
      (s) => s.parentSpanId === root.spanId && s.traceId === root.traceId
    )) {
      console.log(`      ${child.name}  ${ms(child)}`);
    }
    const logs = got.logs.filter(
      (l) =>
        l.spanId === root.spanId &&
        l.attributes['aws.lambda.event.type'] === 'function'
    );
    for (const l of logs) {
      const body = typeof l.body === 'string' ? l.body : JSON.stringify(l.body);
      console.log(
        `      log ${(l.severityText || '-').padEnd(5)} ${body.split('\n')[0]?.slice(0, 70)}`
      );
    }
  }
  const orphans = got.spans.filter(
    (s) => s.kind !== 2 && !got.spans.some((p) => p.spanId === s.parentSpanId)
  );
  for (const o of orphans)
    console.log(`  trace ${o.traceId}: ${o.name} ${ms(o)} (no invocation)`);
  const platform = got.logs.filter((l) =>
    String(l.attributes['aws.lambda.event.type']).startsWith('platform.')
  );
  console.log(
    `  platform log lines: ${platform.length} (START/END/REPORT/INIT_*/RESTORE_*/...)`
  );
  const dropped = got.logs.filter(
    (l) => l.attributes['aws.lambda.event.type'] === 'platform.logsDropped'
  );
  for (const d of dropped)
    console.log(`  ${d.severityText} ${String(d.body).slice(0, 100)}`);
  console.log('');
}

function printArrivals(events: unknown[]): void {
  console.log(`What the receiver got (${events.length} events):`);
  const byRequest = new Map<string, string[]>();
  const other: string[] = [];
  for (const e of events as { type?: string; record?: unknown }[]) {
    const type = e.type ?? '?';
    const record = e.record as Record<string, unknown> | string | undefined;
    let id: string | undefined;
    let label = type;
    if (record && typeof record === 'object') {
      id = typeof record.requestId === 'string' ? record.requestId : undefined;
      if (typeof record.status === 'string') label += `(${record.status})`;
      const metrics = record.metrics as Record<string, number> | undefined;
      if (type === 'platform.report' && metrics) {
        label += ` ${metrics.durationMs?.toFixed(1)} ms, billed ${metrics.billedDurationMs ?? '-'} ms`;
      }
    } else if (typeof record === 'string' && type === 'function') {
      id = record.split('\t')[1];
      if (!id || !/^[0-9a-f-]{36}$/.test(id)) id = undefined;
    }
    if (type === 'function' || type === 'extension') label = type;
    if (id) {
      const list = byRequest.get(id) ?? [];
      list.push(label);
      byRequest.set(id, list);
    } else {
      other.push(label);
    }
  }
  for (const [id, labels] of byRequest) {
    console.log(`  ${id.slice(0, 8)}  ${collapse(labels)}`);
  }
  console.log(`  (no request id)  ${collapse(other)}\n`);
}

/** "function, function, function" -> "function x3". */
function collapse(labels: string[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < labels.length) {
    let j = i;
    while (j < labels.length && labels[j] === labels[i]) j++;
    out.push(j - i > 1 ? `${labels[i]} x${j - i}` : (labels[i] as string));
    i = j;
  }
  return out.join(', ');
}

function printFigures(
  emu: LambdaEmulator,
  elapsedMs: number,
  arrivals: string[],
  arrivedOk: boolean
): boolean {
  let ok = arrivedOk;
  console.log('Figures (from timestamps):');
  for (const [i, l] of emu.launches.entries()) {
    const exit =
      l.shutdownDeadlineMs === undefined
        ? 'no SHUTDOWN'
        : l.exitedBeforeDeadline
          ? `exited ${l.exitCode} ${(l.shutdownDeadlineMs - (l.exitedAt ?? 0)).toFixed(0)} ms before the ${l.shutdownReason} deadline`
          : `MISSED the ${l.shutdownReason} deadline${l.killed ? ' (SIGKILL)' : ''}`;
    if (!l.exitedBeforeDeadline || l.exitCode !== 0) ok = false;
    console.log(
      `  environment ${i + 1} (${l.initializationType}, ${l.phase}): init ${l.initMs ?? '-'} ms (spawn to first /next); ${exit}`
    );
  }
  const overheads = emu.invocations
    .map((v) => v.extensionOverheadMs)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  const pct = (p: number): number =>
    overheads[
      Math.min(overheads.length - 1, Math.floor((p / 100) * overheads.length))
    ] ?? 0;
  console.log(
    `  invocations: ${emu.invocations.length}; extension overhead (runtimeDone to /next) p50 ${pct(50)} ms, max ${overheads.at(-1) ?? 0} ms`
  );
  const timedOut = emu.invocations.filter((v) => v.extensionTimedOut).length;
  if (timedOut > 0) {
    ok = false;
    console.log(
      `  ${timedOut} invocation(s) held past the function deadline by the extension`
    );
  }
  for (const line of arrivals) console.log(`  ${line}`);
  console.log(
    `\n${ok ? 'PASS' : 'FAIL'} in ${(elapsedMs / 1000).toFixed(1)} s`
  );
  return ok;
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'demo') {
  demo(rest).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
} else {
  console.log(HELP);
  process.exit(command === undefined || command === '--help' ? 0 : 2);
}
