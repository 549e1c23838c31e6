/**
 * `node dist/emulator/cli.mjs demo`: runs the built layer's extension under
 * the local Lambda emulator against a local receiver, prints what arrived
 * and the figures, and exits 0 only if every event arrived and every
 * SHUTDOWN ended with the extension gone before its deadline.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkOtlp } from './check-otlp.js';
import type { LambdaEmulator } from './emulator.js';
import type { DecodedLog, DecodedSpan } from './otlp-decode.js';
import {
  DEFAULT_SETTINGS,
  Expectations,
  parseStatedSettings,
  type StatedSettings,
} from './expect.js';
import { metricsTable } from './metrics-table.js';
import { readEvent, resolveHandler, runDemo } from './run-function.js';
import { checkRaw } from './scenario.js';
import { type ReceivedRequest, Sink } from './sink.js';

const DEFAULT_EXTENSION = 'dist/layer/extensions/lambda-telemetry-otel';

const USAGE = `usage: npm start -- [options]
       node dist/emulator/cli.mjs demo [options]

Runs the built layer's extension under the local Lambda emulator: a cold
start, invocations (TEXT and JSON logs, a failure, a timeout and its
reset), a suppressed init, a logsDropped, a SnapStart restore, then
SHUTDOWN; the function is a real handler under AWS's runtime interface
client (aws-lambda-ric) where it is built, else a scripted runtime. The extension exports to a local receiver, which decodes what
arrives; PASS when everything your settings let through arrived and the
extension left before every deadline.

options:
  --config FILE       your configuration file (LAMBDA_TELEMETRY_OTEL_CONFIG_FILE)
  --endpoint URL      send to your own receiver instead (nothing is checked then)
  --endpoint settings send where your settings say (DISPATCH_POST_URI, the
                      file, OTEL_EXPORTER_OTLP_*)
  --format otlp|raw   DISPATCH_FORMAT for this run (default: yours, else otlp)
  --invocations N     successful invocations in the first environment
                      (default 5, at most 1000)
  --function PATH[:export]
                      your handler (a file, or a folder with _HANDLER) under
                      AWS's runtime interface client, instead of the demo's
  --event FILE        the JSON event each invocation of --function gets
                      (default {})
  --extension PATH    the extension executable (default ${DEFAULT_EXTENSION})
  --verbose           every line the extension writes (its warnings and
                      errors are always shown)
  -h, --help          this text

Your settings pass through: any variable of the README's Configuration
table, e.g.
  LAMBDA_TELEMETRY_OTEL_FUNCTION_MIN_SEVERITY=WARN npm start
  DISPATCH_MIN_BATCH_SIZE=20 npm start -- --config my-config.yaml
Without --endpoint, the demo's receiver replaces the endpoint they give.`;

/** A one-line refusal for a bad command line; exit status 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

interface DemoOptions {
  extensionPath: string;
  invocations: number;
  format: 'otlp' | 'raw' | undefined;
  config: string | undefined;
  /** undefined: the demo's receiver; 'settings': the user's settings. */
  endpoint: string | undefined;
  verbose: boolean;
  help: boolean;
  /** --function: the user's handler, under the runtime client. */
  function?: string | undefined;
  /** --event: the JSON event file for --function. */
  event?: string | undefined;
}

/** Strict parsing: unknown options, stray words and bad values are refused. */
function parseDemoArgs(args: string[]): DemoOptions {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (err) {
    // parseArgs explains at length how to pass a value starting with '-';
    // its first sentence is the useful part.
    throw new UsageError(String((err as Error).message).split('. ')[0]);
  }
  if (values.help) return { ...DEFAULTS, help: true };
  const format = values.format?.toLowerCase();
  if (format !== undefined && format !== 'otlp' && format !== 'raw')
    throw new UsageError(
      `--format must be otlp or raw, not ${JSON.stringify(values.format)}`
    );
  const invocations = values.invocations ?? '5';
  if (!/^\d+$/.test(invocations) || +invocations < 1 || +invocations > 1000)
    throw new UsageError(
      `--invocations must be a whole number from 1 to 1000, not ${JSON.stringify(invocations)}`
    );
  const extensionPath = resolve(values.extension ?? DEFAULT_EXTENSION);
  if (!existsSync(extensionPath))
    throw new UsageError(
      values.extension === undefined
        ? `no built layer at ${extensionPath}: run npm run build (npm start builds it)`
        : `no extension executable at ${extensionPath}`
    );
  try {
    accessSync(extensionPath, constants.X_OK);
  } catch {
    throw new UsageError(`${extensionPath} is not executable`);
  }
  let config: string | undefined;
  if (values.config !== undefined) {
    config = resolve(values.config);
    try {
      accessSync(config, constants.R_OK);
    } catch {
      throw new UsageError(`cannot read the configuration file ${config}`);
    }
  }
  let endpoint = values.endpoint;
  if (endpoint !== undefined && endpoint !== 'settings') {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    // Not quoted: an endpoint may carry a key in its user info or query.
    if (!ok)
      throw new UsageError(
        '--endpoint must be an http(s) URL or the word settings'
      );
  }
  if (endpoint === '') endpoint = undefined;
  if (values.event !== undefined && values.function === undefined)
    throw new UsageError('--event goes with --function');
  if (values.function !== undefined) {
    try {
      resolveHandler(values.function);
      readEvent(values.event);
    } catch (err) {
      // No such file, or an event that is not JSON: the user's to fix.
      throw new UsageError((err as Error).message.split('\n')[0] ?? '');
    }
  }
  return {
    function: values.function,
    event: values.event,
    extensionPath,
    invocations: Number(invocations),
    format: format as DemoOptions['format'],
    config,
    endpoint,
    verbose: values.verbose ?? false,
    help: false,
  };
}

const DEFAULTS: DemoOptions = {
  extensionPath: resolve(DEFAULT_EXTENSION),
  invocations: 5,
  format: undefined,
  config: undefined,
  endpoint: undefined,
  verbose: false,
  help: false,
};

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      extension: { type: 'string' },
      invocations: { type: 'string' },
      format: { type: 'string' },
      config: { type: 'string' },
      endpoint: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      function: { type: 'string' },
      event: { type: 'string' },
    },
  });
}

/**
 * Shows what the extension says: with --verbose every line; otherwise its
 * warnings and errors (and anything that is not one of its JSON lines, such
 * as a crash on stderr), each distinct one once, since every environment
 * of the scenario repeats its start-up warnings.
 */
function extensionOutput(
  verbose: boolean,
  onSettings: (s: StatedSettings) => void
): (line: string) => void {
  const shown = new Set<string>();
  return (line) => {
    const stated = parseStatedSettings(line);
    if (stated) onSettings(stated);
    if (verbose) {
      console.log(`  [extension] ${line}`);
      return;
    }
    let text = line;
    try {
      const {
        level,
        ext: _ext,
        msg,
        ...fields
      } = JSON.parse(line) as {
        level?: string;
        ext?: string;
        msg?: string;
      };
      if (level !== 'warn' && level !== 'error') return;
      const extra = Object.keys(fields).length
        ? ` ${JSON.stringify(fields)}`
        : '';
      text = `${level}: ${msg}${extra}`;
    } catch {
      if (line.trim() === '') return;
    }
    if (shown.has(text)) return;
    shown.add(text);
    console.log(`  [extension] ${text}`);
  };
}

async function demo(opts: DemoOptions): Promise<number> {
  const sink = new Sink();
  const url = await sink.start();
  const ownEndpoint = opts.endpoint !== undefined;
  console.log(
    'lambda-telemetry-otel demo: the built layer under the local Lambda emulator'
  );
  console.log(`  extension ${opts.extensionPath}`);
  if (opts.config) console.log(`  config    ${opts.config}`);
  console.log(
    ownEndpoint
      ? `  receiver  ${opts.endpoint === 'settings' ? 'where your settings say' : redact(opts.endpoint as string)} (yours: arrivals are not checked)`
      : `  receiver  ${url} (the demo's own: it replaces any endpoint your settings give; --endpoint sends to yours)`
  );
  console.log('');
  const env: Record<string, string> = {
    // The emulator delivers to 127.0.0.1 whatever sandbox.localdomain
    // resolves to on this machine.
    LAMBDA_TELEMETRY_OTEL_LISTENER_HOST: '127.0.0.1',
  };
  if (!ownEndpoint) env.DISPATCH_POST_URI = url;
  else if (opts.endpoint !== 'settings')
    env.DISPATCH_POST_URI = opts.endpoint as string;
  // Only when asked: otherwise the user's DISPATCH_FORMAT (or file) holds.
  if (opts.format) env.DISPATCH_FORMAT = opts.format;
  if (opts.config) env.LAMBDA_TELEMETRY_OTEL_CONFIG_FILE = opts.config;
  let stated: StatedSettings | undefined;
  const started = Date.now();
  let emu: LambdaEmulator;
  try {
    // The real runtime client where built (the user's function with
    // --function), else the scripted runtime; runDemo says which.
    emu = await runDemo(
      {
        ...(opts.function !== undefined ? { function: opts.function } : {}),
        ...(opts.event !== undefined ? { event: opts.event } : {}),
        invocations: opts.invocations,
      },
      {
        extensionPath: opts.extensionPath,
        invocations: opts.invocations,
        env,
        onOutput: extensionOutput(opts.verbose, (s) => {
          stated ??= s;
        }),
      },
      (line) => console.log(line)
    );
  } finally {
    await sink.close();
  }
  const settings = stated ?? {
    ...DEFAULT_SETTINGS,
    format:
      opts.format ??
      (process.env.DISPATCH_FORMAT?.trim().toLowerCase() === 'raw'
        ? 'raw'
        : 'otlp'),
  };
  printSettings(stated);
  const expect = new Expectations(settings);
  const elapsed = (): number => Date.now() - started;
  const failedInit = emu.launches.some((l) => l.initMs === undefined);

  const checks: string[] = [];
  let arrivedOk = true;
  if (failedInit) {
    arrivedOk = false;
    checks.push('arrivals not checked: the extension did not start');
  } else if (ownEndpoint) {
    checks.push(
      'arrivals not checked: the telemetry went to your endpoint; look there'
    );
  } else if (settings.format === 'raw') {
    const events = sink.rawEvents();
    printArrivals(events);
    const check = checkRaw(emu, events, (type, record) =>
      expect.keepsEvent(type, record)
    );
    checks.push(
      `platform + function events: ${check.arrived}/${check.expected} arrived${check.duplicates ? `, ${check.duplicates} duplicate(s) or filtered ones` : ''}`,
      `extension lines: ${check.extensionArrived}/${check.extensionDelivered} accepted by the listener arrived; ${check.extensionUndeliverable} written after the final flush`,
      ...check.missing.slice(0, 5).map((m) => `missing: ${m.slice(0, 160)}`)
    );
    arrivedOk =
      check.arrived === check.expected &&
      check.extensionArrived === check.extensionDelivered;
  } else {
    const got = sink.otlp();
    printTraces(got);
    for (const line of metricsTable(sink.metrics())) console.log(line);
    const check = checkOtlp(emu, got, {
      keepLine: (line) => expect.keepsLine(line),
      spans: expect.spansExpected,
    });
    checks.push(
      `function lines: ${check.functionLinesFound}/${check.functionLines} arrived as log records with their invocation's trace and span ids${check.duplicateLines ? `, ${check.duplicateLines} more (duplicates, or lines your settings filter)` : ''}`,
      expect.spansExpected
        ? `invocations: ${check.invocationSpans}/${check.invocations} arrived as one span each, with the X-Ray ids, status and every report figure`
        : 'invocations: spans not checked (your settings filter the platform events they are made of)',
      `log records: ${got.logs.length}; spans: ${got.spans.length}`,
      ...check.problems.slice(0, 8)
    );
    arrivedOk = check.problems.length === 0 && check.duplicateLines === 0;
  }
  const what = expect.describe();
  if (what.length > 0 && !failedInit && !ownEndpoint)
    checks.unshift(`expected under your settings: ${what.join('; ')}`);
  if (!ownEndpoint && !failedInit)
    checks.push(...exportsPerTrigger(emu, sink.requests, settings));
  const ok = printFigures(
    emu,
    elapsed(),
    checks,
    arrivedOk,
    ownEndpoint && !failedInit
  );
  return ok ? 0 : 1;
}

/** scheme://host:port/path of a URL the user gave: it may carry a key. */
function redact(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** The extension's effective configuration, as it stated it. */
function printSettings(s: StatedSettings | undefined): void {
  if (!s) {
    console.log(
      'Settings: the extension stated none (its log level is above info, or it did not start); the check assumes the defaults\n'
    );
    return;
  }
  console.log("Settings (the extension's effective configuration):");
  const transport =
    s.format === 'raw'
      ? 'raw JSON POST'
      : `otlp ${s.protocol}, compression ${s.compression}`;
  console.log(`  file ${s.file}; ${transport}`);
  for (const [signal, where] of Object.entries(s.endpoints)) {
    const names = s.headers[signal];
    console.log(
      `  ${signal.padEnd(6)} -> ${where}${names ? ` (headers: ${names.join(', ')})` : ''}`
    );
  }
  console.log(`  flush ${s.flush}; min batch size ${s.minBatchSize}\n`);
}

/**
 * How many export requests reached the receiver after each INVOKE (before
 * the next one) and after SHUTDOWN: where DISPATCH_MIN_BATCH_SIZE and the
 * flush policy show.
 */
function exportsPerTrigger(
  emu: LambdaEmulator,
  requests: readonly ReceivedRequest[],
  settings: StatedSettings
): string[] {
  const out = [
    `export requests that left at each INVOKE, then at SHUTDOWN (flush ${settings.flush}, min batch size ${settings.minBatchSize}):`,
  ];
  emu.launches.forEach((launch, index) => {
    const marks: { label: string; at: number }[] = emu.invocations
      .filter((v) => v.launch === index)
      .map((v) => ({ label: 'INVOKE', at: v.startedAt }));
    if (launch.shutdownAt !== undefined)
      marks.push({ label: 'SHUTDOWN', at: launch.shutdownAt });
    const until =
      emu.launches[index + 1]?.spawnedAt ?? Number.POSITIVE_INFINITY;
    const counts = marks.map((m, k) => {
      const end = marks[k + 1]?.at ?? until;
      return requests.filter((r) => r.at >= m.at && r.at < end).length;
    });
    const invokes = counts.slice(
      0,
      launch.shutdownAt !== undefined ? -1 : undefined
    );
    const shutdown =
      launch.shutdownAt !== undefined ? `; SHUTDOWN ${counts.at(-1)}` : '';
    out.push(
      `  environment ${index + 1}: INVOKE ${invokes.join(' ') || '-'}${shutdown}`
    );
  });
  return out;
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
        `      log ${(l.severityText || '-').padEnd(5)} ${clip(body.split('\n')[0] ?? '', 70)}`
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
    console.log(`  ${d.severityText} ${clip(String(d.body), 100)}`);
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

/**
 * An init failure by its name, as Lambda would report it: the type the
 * extension gave /init/error, else Extension.Crash for an exit before the
 * first /next, else a timeout.
 */
function initFailure(l: LambdaEmulator['launches'][number]): string {
  if (l.initError !== undefined) {
    const type = l.initError.split(':')[0];
    return `${type} (reported through /init/error)`;
  }
  if (l.exitedAt !== undefined)
    return `Extension.Crash (exited with ${l.exitCode ?? l.signal} before its first /next)`;
  return 'the extension did not reach /next within the init timeout';
}

/** At most `max` characters, cut at a word boundary when one is near. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}

function printFigures(
  emu: LambdaEmulator,
  elapsedMs: number,
  arrivals: string[],
  arrivedOk: boolean,
  /** Arrivals were not checked (your endpoint): PASS says so. */
  unchecked = false
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
    const init =
      l.initMs !== undefined
        ? `init ${l.initMs} ms (spawn to first /next)`
        : `init FAILED: ${initFailure(l)}`;
    if (l.initMs === undefined) ok = false;
    console.log(
      `  environment ${i + 1} (${l.initializationType}, ${l.phase}): ${init}; ${exit}`
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
    `\n${ok ? (unchecked ? 'PASS (deadlines only; arrivals not checked)' : 'PASS') : 'FAIL'} in ${(elapsedMs / 1000).toFixed(1)} s`
  );
  return ok;
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'demo') {
  let opts: DemoOptions | undefined;
  try {
    opts = parseDemoArgs(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`demo: ${err.message} (--help for usage)`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    process.exit(0);
  }
  demo(opts).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(
        `demo failed: ${err instanceof Error ? err.message : String(err)}`
      );
      process.exit(1);
    }
  );
} else {
  const help =
    command === undefined || command === '--help' || command === '-h';
  (help ? console.log : console.error)(
    help
      ? USAGE
      : `unknown command ${JSON.stringify(command)}: the one command is demo (--help for usage)`
  );
  process.exit(help ? 0 : 2);
}
