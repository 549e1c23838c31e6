/**
 * A local Lambda execution environment for one extension executable: it
 * launches the executable with the Lambda environment, plays the runtime
 * (platform events, function log lines, INVOKE / SHUTDOWN) from a script or
 * runs a real function under AWS's runtime interface client (`function`,
 * function-process.ts), freezes the processes between invocations as Lambda
 * does, and measures the extension from timestamps: init time,
 * per-invocation overhead, exit by the deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { type EmulatedEvent, TelemetryDelivery } from './delivery.js';
import {
  type FunctionRecord,
  FunctionProcess,
  peakMemoryMb,
} from './function-process.js';
import {
  type ExtensionState,
  type RuntimeResult,
  RuntimeApi,
} from './runtime-api.js';

/** What a real function did with one invocation (runtimeDone's status). */
interface FunctionOutcome {
  status: string;
  errorType?: string;
  runtimeDoneAt: number;
  result?: RuntimeResult;
}

/**
 * A real function (EmulatorOptions.function): the runtime interface client
 * and the user's handler, started as Lambda starts a runtime.
 */
export interface FunctionOptions {
  /** The runtime client's entry (runtime-client.ts finds aws-lambda-ric). */
  runtimeClient: string;
  /** Lambda's `_HANDLER`: `file.export`, relative to taskRoot. */
  handler: string;
  /** The function's folder (Lambda's /var/task). */
  taskRoot: string;
  /** `AWS_LAMBDA_LOG_FORMAT`; default Text. */
  logFormat?: 'Text' | 'JSON';
  /** `AWS_LAMBDA_LOG_LEVEL` (JSON format only, as Lambda applies it). */
  logLevel?: string;
  /** The function's timeout (ms; default 3,000, Lambda's). */
  timeoutMs?: number;
  /** The function's own environment variables. */
  env?: Record<string, string>;
  /** The Node that runs the runtime client (default this one). */
  nodePath?: string;
  /** A note on the function process (a broken log stream...). */
  onNote?: (note: string) => void;
}

/**
 * How the environment is set up. Defaults are Lambda's (lambda-apis.md
 * §1.6): a 10 s init, a 2,000 ms shutdown (an external extension present);
 * the function `demo-function` `$LATEST`, 128 MB, us-east-1.
 */
export interface EmulatorOptions {
  /** The executable, as it would sit in /opt/extensions. */
  extensionPath: string;
  /** Variables for the extension on top of the Lambda ones. */
  env?: Record<string, string | undefined>;
  /** Inherited environment (PATH and friends); default process.env. */
  baseEnv?: Record<string, string | undefined>;
  functionName?: string;
  functionVersion?: string;
  /** MB: AWS_LAMBDA_FUNCTION_MEMORY_SIZE and the report's memorySizeMB. */
  memoryMb?: number;
  region?: string;
  accountId?: string;
  /** SIGSTOP the extension while frozen, as Lambda does. Default true. */
  freezeProcess?: boolean;
  /** Turn the extension's own output into `extension` events. Default true. */
  captureExtensionOutput?: boolean;
  /** Whole shutdown phase (external extensions present): 2,000 ms. */
  shutdownBudgetMs?: number;
  /**
   * Share of it the runtime uses before extensions get SHUTDOWN (ms;
   * default 300; the emulator waits at most 50 ms of it).
   */
  runtimeShutdownMs?: number;
  /** Bound on the extension's init (Lambda: 10 s for the whole phase). */
  initTimeoutMs?: number;
  /**
   * How long the emulated runtime's own init takes. Lambda's init phase ends
   * when both the runtime and every extension are done; an extension's
   * work after its first /next overlaps this. Default 100 ms.
   */
  runtimeInitMs?: number;
  /** SnapStart: how long a restore takes (ms; default 20). */
  restoreMs?: number;
  /**
   * Lambda Managed Instances (lambda-apis.md §3.2): no INVOKE, no
   * runtimeDone, a report with durationMs only, never frozen. Not with
   * `function`: the constructor throws.
   */
  managedInstances?: boolean;
  /** Subscriptions get 202 `Telemetry.NotSupported`, as SAM / RIE answer. */
  telemetryUnsupported?: boolean;
  /** Subscriptions fail with 500 (fault tests). */
  failSubscribe?: boolean;
  /** Each line the extension writes (stdout and stderr). */
  onOutput?: (line: string) => void;
  /**
   * Run a real function under the runtime interface client instead of
   * playing the runtime from a script: its log calls, response, errors,
   * exit and timing make the `function` records and the platform events.
   */
  function?: FunctionOptions;
  /** Each `function` record the real function produced. */
  onFunctionRecord?: (r: FunctionRecord) => void;
}

/**
 * One execution environment's life as the emulator saw it. Every `…At` is
 * epoch ms (Date.now()), as is `shutdownDeadlineMs`; `initMs` is ms.
 */
export interface LaunchRecord {
  /** The extension's process id. */
  pid: number | undefined;
  /** AWS_LAMBDA_INITIALIZATION_TYPE (lambda-apis.md §3.1, InitType). */
  initializationType: string;
  /** `invoke`: a suppressed init, re-run inside the first invoke. */
  phase: 'init' | 'invoke';
  spawnedAt: number;
  registeredAt?: number;
  subscribedAt?: number;
  firstNextAt?: number;
  /** Spawn to first /next: the extension's share of the cold start. */
  initMs?: number;
  /** SnapStart: when the snapshot was taken (the restore follows it). */
  snapshotAt?: number;
  exitedAt?: number;
  /** null when a signal ended it; -1 when it could not be spawned. */
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  /** SHUTDOWN's shutdownReason: `spindown`, `timeout`, `failure`. */
  shutdownReason?: string;
  /** When SHUTDOWN was decided (the runtime's share comes first). */
  shutdownAt?: number;
  /** SHUTDOWN's deadlineMs (epoch ms): SIGKILL then, if still running. */
  shutdownDeadlineMs?: number;
  /** What the extension reported through /init/error, as `Type: message`. */
  initError?: string;
  /** Exited by itself before the SHUTDOWN deadline. */
  exitedBeforeDeadline?: boolean;
  /** SIGKILLed at the SHUTDOWN deadline. */
  killed?: boolean;
  /** A real function: its process, and how its init ended. */
  functionPid?: number;
  /** `success`, `error` or `timeout` (lambda-apis.md §3.1, Status). */
  functionInitStatus?: string;
  functionInitErrorType?: string;
  /** `AWS_LAMBDA_LOG_FORMAT` of this environment's function. */
  logFormat?: 'Text' | 'JSON';
}

/**
 * One invocation as it happened. `startedAt`, `runtimeDoneAt` and `nextAt`
 * are epoch ms; `status` and `errorType` are runtimeDone's (lambda-apis.md
 * §3.1, Status).
 */
export interface InvocationRecord {
  requestId: string;
  status: string;
  /** platform.start's time. */
  startedAt: number;
  /** When the runtime was done (platform.runtimeDone's time, where sent). */
  runtimeDoneAt: number;
  /** When the extension called /next after this INVOKE. */
  nextAt?: number;
  /** runtimeDone to the extension's next /next (0 if it was waiting). */
  extensionOverheadMs?: number;
  /** The extension never came back before the function deadline. */
  extensionTimedOut?: boolean;
  /**
   * The X-Ray context Lambda gave this invocation, when traced: the Root
   * as 32 hex digits (xrayHeader's traceId).
   */
  traceId?: string;
  /** The header's Parent (16 hex digits). */
  parentSpanId?: string;
  /** The platform events' `tracing.spanId` (16 hex digits). */
  spanId?: string;
  errorType?: string;
  /** platform.report metrics as emitted. */
  reportMetrics?: Record<string, number>;
  /** Which environment (index into launches) ran it. */
  launch: number;
}

/**
 * A function log line the emulator wrote, and the invocation it belongs to
 * (`''` for a real function's line written outside any invocation).
 */
export interface EmittedLine {
  requestId: string;
  line: LogLine;
}

/**
 * One function log line: scripted (InvocationSpec.lines), or written by a
 * real function (format `record`). `format` decides the `function` record
 * it becomes (lambda-apis.md §3.3).
 */
export interface LogLine {
  /** Milliseconds into the handler. */
  atMs?: number;
  /** The level name (`text` and `json`: default INFO). */
  level?: string;
  /** The message (an object only makes sense for the `json` format). */
  message: string | Record<string, unknown>;
  /**
   * `text`: the Node runtime's text format; `plain`: a bare line; `json`: a
   * JSON-format record; `object`: JSON the function wrote itself, which
   * Lambda passes on parsed, as `fields` alone (no message key); `record`:
   * the record `record` returns, as another runtime writes it (runtimes.ts),
   * checked against `expect`.
   */
  format?: 'text' | 'plain' | 'json' | 'object' | 'record';
  /** Extra keys of a JSON record. */
  fields?: Record<string, unknown>;
  /** The `record` format's record, given the invocation's request id. */
  record?: (requestId: string) => unknown;
  /** What a receiver must see for a `record` line (check-otlp.ts). */
  expect?: ExpectedLog;
}

/** A log record as the README's mapping tables say it arrives. */
export interface ExpectedLog {
  /** Left out: any body (a line whose reading the check does not model). */
  body?: unknown;
  severityText?: string;
  severityNumber?: number;
  /** Epoch ms the record carries (the line's own time). */
  timeMs?: number;
  /** Attributes it must have (others may be there too). */
  attributes?: Record<string, unknown>;
}

/**
 * What one `invoke()` plays. The scripted runtime runs the handler for
 * `handlerMs` (a `timeout` until the deadline), writes `lines` and ends
 * with `status`. A real function decides those itself: only `requestId`,
 * `timeoutMs`, `traced`, `event`, `reportMetrics` and
 * `reportAfterShutdownMs` apply to it.
 */
export interface InvocationSpec {
  /** Default: a random UUID. */
  requestId?: string;
  /** The handler's run time (ms; default 20). */
  handlerMs?: number;
  lines?: LogLine[];
  /** runtimeDone's status (default success). */
  status?: 'success' | 'error' | 'failure' | 'timeout';
  /** Default: `Sandbox.Timedout` for a timeout, `Error` for other failures. */
  errorType?: string;
  /**
   * Function timeout (deadline = start + timeoutMs; ms; default the real
   * function's, else 3,000).
   */
  timeoutMs?: number;
  /** False: no X-Ray context (default: traced, sampled). */
  traced?: boolean;
  /** Extra report metrics (initDurationMs, restoreDurationMs...). */
  reportMetrics?: Record<string, number>;
  /** A real function's event (JSON text; default `{}`). */
  event?: string;
  /**
   * Holds this invocation's `platform.report` until the next SHUTDOWN and
   * emits it this long (ms) after SHUTDOWN is sent: a report Lambda is late
   * with (on Managed Instances, an invocation still finishing), which the
   * extension must wait for.
   */
  reportAfterShutdownMs?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

/**
 * A fresh X-Ray context as Lambda writes it (lambda-apis.md §3.1,
 * TraceContext): `traceId` the 32 hex digits OTel expects, `value` the
 * `Root=1-…;Parent=…;Sampled=…` header, `parent` 16 hex digits.
 */
export function xrayHeader(sampled = true): {
  traceId: string;
  value: string;
  parent: string;
} {
  const epoch = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  const rest = randomBytes(12).toString('hex');
  const parent = randomBytes(8).toString('hex');
  return {
    traceId: epoch + rest,
    parent,
    value: `Root=1-${epoch}-${rest};Parent=${parent};Sampled=${sampled ? 1 : 0}`,
  };
}

/**
 * The environment above. `start()` its Runtime API, `launch()` the
 * extension, `invoke()` / `shutdown()` per script; what happened is kept in
 * the readonly records below for the checks.
 */
export class LambdaEmulator {
  readonly api: RuntimeApi;
  readonly launches: LaunchRecord[] = [];
  readonly invocations: InvocationRecord[] = [];
  /** One per subscription, across launches. */
  readonly deliveries: TelemetryDelivery[] = [];
  /** Every line the extension wrote. */
  readonly output: string[] = [];
  /** Every function log line the handler wrote, in order. */
  readonly functionLines: EmittedLine[] = [];
  private _child: ChildProcess | undefined;
  private _launch: LaunchRecord | undefined;
  private _exited: Promise<void> = Promise.resolve();
  private _frozen = false;
  private _initDurationMs: number | undefined;
  private _restoreDurationMs: number | undefined;
  /** Reports held for the next SHUTDOWN (`reportAfterShutdownMs`). */
  private _lateReports: { emit: () => void; afterMs: number }[] = [];
  /** The real function's process in this environment. */
  private _fn: FunctionProcess | undefined;
  private _runtimeInitError: string | undefined;
  private _runtimeResult: RuntimeResult | undefined;
  /** The request id the real function is working on. */
  private _inFlight: string | undefined;
  /** Function records written before any subscription (Lambda keeps them). */
  private _early: EmulatedEvent[] = [];
  private readonly _o: Required<
    Pick<
      EmulatorOptions,
      | 'functionName'
      | 'functionVersion'
      | 'memoryMb'
      | 'region'
      | 'accountId'
      | 'freezeProcess'
      | 'captureExtensionOutput'
      | 'shutdownBudgetMs'
      | 'runtimeShutdownMs'
      | 'initTimeoutMs'
    >
  > &
    EmulatorOptions;

  constructor(opts: EmulatorOptions) {
    this._o = {
      functionName: 'demo-function',
      functionVersion: '$LATEST',
      memoryMb: 128,
      region: 'us-east-1',
      accountId: '123456789012',
      freezeProcess: true,
      captureExtensionOutput: true,
      shutdownBudgetMs: 2_000,
      runtimeShutdownMs: 300,
      initTimeoutMs: 10_000,
      ...opts,
    };
    this.api = new RuntimeApi({
      functionName: this._o.functionName,
      functionVersion: this._o.functionVersion,
      handler: 'index.handler',
      accountId: this._o.accountId,
      managedInstances: this._o.managedInstances ?? false,
      telemetryUnsupported: this._o.telemetryUnsupported ?? false,
      failSubscribe: this._o.failSubscribe ?? false,
      executables: () => [basename(this._o.extensionPath)],
      onRegister: (ext) => this._onRegister(ext),
      onSubscribe: (ext) => this._onSubscribe(ext),
      onRuntimeInitError: (type) => {
        this._runtimeInitError = type;
      },
      onRuntimeResult: (r) => {
        this._runtimeResult = r;
      },
    });
    if (this._o.function && this._o.managedInstances) {
      throw new Error(
        'a real function runs one invocation at a time: not on Managed Instances'
      );
    }
  }

  get functionArn(): string {
    return `arn:aws:lambda:${this._o.region}:${this._o.accountId}:function:${this._o.functionName}`;
  }

  get extension(): ExtensionState | undefined {
    return [...this.api.extensions.values()][0];
  }

  get running(): boolean {
    return this._child !== undefined && this._launch?.exitedAt === undefined;
  }

  async start(): Promise<void> {
    await this.api.start();
  }

  /** Emits an event to every current subscriber. */
  emit(type: string, record: unknown, timeMs = Date.now()): void {
    const event: EmulatedEvent = { time: iso(timeMs), type, record };
    for (const d of this._currentDeliveries()) d.emit(event);
  }

  /**
   * Starts a new execution environment: spawns the extension and plays the
   * init phase. `phase: 'invoke'` is a suppressed init (re-run inside the
   * first invoke after a reset). `restore` (SnapStart): the init makes the
   * snapshot, the environment is frozen (what was emitted so far is marked
   * as the snapshot's), then thawed and restored (restoreStart,
   * restoreRuntimeDone, restoreReport). Resolves once init (or the restore)
   * is over and frozen.
   */
  async launch(
    opts: {
      initializationType?: string;
      phase?: 'init' | 'invoke';
      restore?: boolean;
      /** A real function's log format in this environment. */
      logFormat?: 'Text' | 'JSON';
    } = {}
  ): Promise<LaunchRecord> {
    this.api.reset();
    const initializationType =
      opts.initializationType ??
      (this._o.managedInstances ? 'lambda-managed-instances' : 'on-demand');
    const phase = opts.phase ?? 'init';
    const record: LaunchRecord = {
      pid: undefined,
      initializationType,
      phase,
      spawnedAt: Date.now(),
    };
    this.launches.push(record);
    this._launch = record;
    this._frozen = false;
    const env: Record<string, string | undefined> = {
      ...(this._o.baseEnv ?? process.env),
      AWS_LAMBDA_RUNTIME_API: this.api.address,
      AWS_LAMBDA_FUNCTION_NAME: this._o.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: this._o.functionVersion,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this._o.memoryMb),
      AWS_LAMBDA_INITIALIZATION_TYPE: initializationType,
      AWS_REGION: this._o.region,
      AWS_DEFAULT_REGION: this._o.region,
      TZ: ':UTC',
      ...this._o.env,
    };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    record.spawnedAt = Date.now();
    const child = spawn(this._o.extensionPath, [], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this._child = child;
    record.pid = child.pid;
    this._exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        record.exitedAt = Date.now();
        record.exitCode = code;
        record.signal = signal;
        resolve();
      });
      child.on('error', (err) => {
        this.output.push(`spawn failed: ${err.message}`);
        record.exitedAt = Date.now();
        record.exitCode = -1;
        resolve();
      });
    });
    this._pipeOutput(child);
    const fnOpts = this._o.function;
    if (fnOpts) this._spawnFunction(fnOpts, record, env, opts.logFormat);

    // Init ends when the extension parks in /next (or dies, or runs out of
    // time), and a real runtime has called /next too (or failed its init).
    const until = record.spawnedAt + this._o.initTimeoutMs;
    const runtimeReady = (): boolean =>
      !this._fn ||
      this.api.runtimeWaiting ||
      this._runtimeInitError !== undefined ||
      !this._fn.running;
    while (
      Date.now() < until &&
      !(
        (record.exitedAt !== undefined || this.api.allWaiting()) &&
        runtimeReady()
      )
    ) {
      await sleep(2);
    }
    const ext = this.extension;
    if (ext?.initError !== undefined) record.initError = ext.initError;
    if (ext?.nextCalls[0] !== undefined) {
      record.firstNextAt = ext.nextCalls[0];
      record.initMs = record.firstNextAt - record.spawnedAt;
    }
    if (this._fn) {
      record.functionInitStatus = this.api.runtimeWaiting
        ? 'success'
        : runtimeReady()
          ? 'error'
          : 'timeout';
      const type =
        this._runtimeInitError ??
        (record.functionInitStatus === 'timeout'
          ? 'Sandbox.Timedout'
          : this._fn.running
            ? undefined
            : 'Runtime.ExitError');
      if (record.functionInitStatus !== 'success' && type)
        record.functionInitErrorType = type;
    } else {
      // The scripted runtime's own init runs in parallel; the phase ends
      // with the later.
      const runtimeDone = record.spawnedAt + (this._o.runtimeInitMs ?? 100);
      if (runtimeDone > Date.now()) await sleep(runtimeDone - Date.now());
    }
    this.api.initDone = true;
    let done = Date.now();
    if (opts.restore) {
      // SnapStart: the init above made the snapshot (its events describe
      // it, not this environment), then Lambda froze and snapshotted the
      // environment, extension included; this environment starts at the
      // restore, which the extension sees only as the restore's events.
      this._emitInit(record.spawnedAt, done, initializationType, phase);
      await this._delivered(Date.now() + 1_000);
      await this.freeze();
      for (const d of this._currentDeliveries()) d.markSnapshot();
      record.snapshotAt = Date.now();
      this.thaw();
      const restoredAt = Date.now();
      await sleep(this._o.restoreMs ?? 20);
      done = Date.now();
      this.emit(
        'platform.restoreStart',
        {
          functionName: this._o.functionName,
          functionVersion: this._o.functionVersion,
          runtimeVersion: 'nodejs:22.v40',
          instanceMaxMemory: this._o.memoryMb,
        },
        restoredAt
      );
      this.emit('platform.restoreRuntimeDone', { status: 'success' });
      this.emit('platform.restoreReport', {
        status: 'success',
        metrics: { durationMs: done - restoredAt },
      });
      this._restoreDurationMs = done - restoredAt;
    } else {
      this._initDurationMs = done - record.spawnedAt;
      this._emitInit(record.spawnedAt, done, initializationType, phase);
      // A SnapStart init is snapshotted holding what it was sent.
      if (initializationType === 'snap-start')
        await this._delivered(Date.now() + 1_000);
    }
    await this.freeze();
    return record;
  }

  /**
   * Waits (until `untilMs`, epoch ms) for every event emitted so far to
   * reach the listener, so the extension holds them when frozen.
   */
  private async _delivered(untilMs: number): Promise<void> {
    while (
      Date.now() < untilMs &&
      this._currentDeliveries().some((d) => d.log.some((e) => !e.delivered))
    ) {
      await sleep(2);
    }
  }

  private _emitInit(
    start: number,
    end: number,
    initializationType: string,
    phase: string
  ): void {
    const durationMs = end - start;
    const status = this._launch?.functionInitStatus ?? 'success';
    const errorType = this._launch?.functionInitErrorType;
    const outcome = { status, ...(errorType ? { errorType } : {}) };
    this.emit(
      'platform.initStart',
      {
        initializationType,
        phase,
        runtimeVersion: 'nodejs:22.v40',
        runtimeVersionArn: `arn:aws:lambda:${this._o.region}::runtime:0123456789abcdef`,
        functionName: this._o.functionName,
        functionVersion: this._o.functionVersion,
        instanceMaxMemory: this._o.memoryMb,
      },
      start
    );
    this.emit(
      'platform.initRuntimeDone',
      { initializationType, phase, ...outcome, spans: [] },
      end
    );
    this.emit(
      'platform.initReport',
      { initializationType, phase, ...outcome, metrics: { durationMs } },
      end
    );
  }

  /** Lambda freezes once the runtime and every extension wait in /next. */
  async freeze(): Promise<void> {
    // Managed Instances run invocations concurrently and are not frozen.
    if (this._frozen || this._o.managedInstances) return;
    this._frozen = true;
    for (const d of this._currentDeliveries()) d.setThawed(false);
    await Promise.all(this._currentDeliveries().map((d) => d.idle()));
    if (this._o.freezeProcess && this.running) this._child?.kill('SIGSTOP');
    if (this._o.freezeProcess) this._fn?.signal('SIGSTOP');
  }

  thaw(): void {
    if (!this._frozen) return;
    this._frozen = false;
    if (this._o.freezeProcess && this.running) this._child?.kill('SIGCONT');
    if (this._o.freezeProcess) this._fn?.signal('SIGCONT');
    for (const d of this._currentDeliveries()) d.setThawed(true);
  }

  /** One invocation, start to report; the environment is frozen after it. */
  async invoke(spec: InvocationSpec = {}): Promise<InvocationRecord> {
    const requestId = spec.requestId ?? randomUUID();
    const handlerMs = spec.handlerMs ?? 20;
    const timeoutMs = spec.timeoutMs ?? this._o.function?.timeoutMs ?? 3_000;
    this.thaw();
    const startedAt = Date.now();
    // Every /next so far belongs to earlier invocations (counted, not
    // compared by time: one in the same millisecond as this start would be
    // taken for this invocation's and its overhead reported as 0).
    const callsBefore = this.extension?.nextCalls.length ?? 0;
    const deadlineMs = startedAt + timeoutMs;
    const trace = spec.traced === false ? undefined : xrayHeader();
    const tracing = trace
      ? {
          spanId: randomBytes(8).toString('hex'),
          type: 'X-Amzn-Trace-Id',
          value: trace.value,
        }
      : undefined;
    this.emit(
      'platform.start',
      {
        requestId,
        version: this._o.functionVersion,
        ...(tracing ? { tracing } : {}),
      },
      startedAt
    );
    if (!this._o.managedInstances) {
      this.api.send({
        eventType: 'INVOKE',
        deadlineMs,
        requestId,
        invokedFunctionArn: this.functionArn,
        ...(trace
          ? { tracing: { type: 'X-Amzn-Trace-Id', value: trace.value } }
          : {}),
      });
    }

    let status: string;
    let errorType: string | undefined;
    let runtimeDoneAt: number;
    if (this._o.function) {
      // A real function: what its process did decides the outcome.
      const real = await this._runFunction(
        requestId,
        deadlineMs,
        trace?.value,
        spec.event ?? '{}'
      );
      ({ status, errorType, runtimeDoneAt } = real);
      this.emit(
        'platform.runtimeDone',
        {
          requestId,
          status,
          ...(errorType ? { errorType } : {}),
          metrics: {
            durationMs: runtimeDoneAt - startedAt,
            ...(real.result
              ? { producedBytes: Buffer.byteLength(real.result.body) }
              : {}),
          },
          spans: real.result
            ? [
                {
                  name: 'responseLatency',
                  start: iso(startedAt),
                  durationMs: real.result.startedAt - startedAt,
                },
                {
                  name: 'responseDuration',
                  start: iso(real.result.startedAt),
                  durationMs: real.result.endedAt - real.result.startedAt,
                },
                {
                  name: 'runtimeOverhead',
                  start: iso(real.result.endedAt),
                  durationMs: Math.max(0, runtimeDoneAt - real.result.endedAt),
                },
              ]
            : [],
          ...(tracing ? { tracing } : {}),
        },
        runtimeDoneAt
      );
    } else {
      status = spec.status ?? 'success';
      // The handler: its log lines over its run time.
      const runFor = status === 'timeout' ? timeoutMs : handlerMs;
      const lines = [...(spec.lines ?? [])].sort(
        (a, b) => (a.atMs ?? 0) - (b.atMs ?? 0)
      );
      for (const line of lines) {
        const at = startedAt + Math.min(line.atMs ?? 0, runFor);
        if (at > Date.now()) await sleep(at - Date.now());
        this.emit('function', this._functionRecord(line, requestId));
        this.functionLines.push({ requestId, line });
      }
      const end = startedAt + runFor;
      if (end > Date.now()) await sleep(end - Date.now());
      runtimeDoneAt = Date.now();
      const durationMs = runtimeDoneAt - startedAt;
      errorType =
        spec.errorType ??
        (status === 'timeout'
          ? 'Sandbox.Timedout'
          : status === 'success'
            ? undefined
            : 'Error');
      const spanStart = iso(startedAt);
      if (!this._o.managedInstances) {
        this.emit(
          'platform.runtimeDone',
          {
            requestId,
            status,
            ...(errorType ? { errorType } : {}),
            metrics: { durationMs, producedBytes: 42 },
            spans: [
              {
                name: 'responseLatency',
                start: spanStart,
                durationMs: Math.max(0, durationMs - 1),
              },
              {
                name: 'responseDuration',
                start: iso(runtimeDoneAt - 1),
                durationMs: 0.5,
              },
              {
                name: 'runtimeOverhead',
                start: iso(runtimeDoneAt - 0.5),
                durationMs: 0.4,
              },
            ],
            ...(tracing ? { tracing } : {}),
          },
          runtimeDoneAt
        );
      }
    }
    const inv: InvocationRecord = {
      requestId,
      status,
      startedAt,
      runtimeDoneAt,
      launch: this.launches.length - 1,
      ...(trace && tracing
        ? {
            traceId: trace.traceId,
            parentSpanId: trace.parent,
            spanId: tracing.spanId,
          }
        : {}),
      ...(errorType ? { errorType } : {}),
    };
    this.invocations.push(inv);

    // Lambda waits for every extension's /next, up to the function deadline;
    // one registered for SHUTDOWN only is not sent INVOKE, so not waited for
    // (it has no overhead figure and cannot time out).
    const shutdownOnly =
      this.extension !== undefined && !this.extension.events.includes('INVOKE');
    const ext = shutdownOnly ? undefined : this.extension;
    while (this.running && ext && !ext.pending && Date.now() < deadlineMs)
      await sleep(1);
    const nextAt = ext ? ext.nextCalls[callsBefore] : undefined;
    if (ext?.pending && nextAt !== undefined) {
      inv.nextAt = nextAt;
      inv.extensionOverheadMs = Math.max(0, nextAt - runtimeDoneAt);
    } else if (this.running && !this._o.managedInstances && !shutdownOnly) {
      inv.extensionTimedOut = true;
    }
    const reportAt = Date.now();
    const metrics: Record<string, number> = {
      durationMs: reportAt - startedAt,
      billedDurationMs: Math.ceil(reportAt - startedAt),
      memorySizeMB: this._o.memoryMb,
      maxMemoryUsedMB: this._o.function
        ? this._measuredMemoryMb()
        : Math.min(this._o.memoryMb, 60 + (this.invocations.length % 7)),
      ...spec.reportMetrics,
    };
    if (this._initDurationMs !== undefined) {
      metrics.initDurationMs = this._initDurationMs;
      this._initDurationMs = undefined;
    }
    if (this._restoreDurationMs !== undefined) {
      metrics.restoreDurationMs = this._restoreDurationMs;
      metrics.billedRestoreDurationMs = Math.ceil(this._restoreDurationMs);
      this._restoreDurationMs = undefined;
    }
    inv.reportMetrics = this._o.managedInstances
      ? { durationMs: metrics.durationMs as number }
      : metrics;
    const report = {
      requestId,
      status,
      ...(errorType ? { errorType } : {}),
      metrics: this._o.managedInstances
        ? { durationMs: metrics.durationMs }
        : metrics,
      spans: [
        {
          name: 'extensionOverhead',
          start: iso(runtimeDoneAt),
          durationMs: inv.extensionOverheadMs ?? 0,
        },
      ],
      ...(tracing ? { tracing } : {}),
    };
    if (status === 'timeout' || inv.extensionTimedOut) {
      // A timeout resets the environment: SHUTDOWN first, and the report
      // reaches the extension during its shutdown.
      await this.shutdown('timeout', () =>
        this.emit('platform.report', report, reportAt)
      );
      return inv;
    }
    if (this._o.function && !this._fn?.running) {
      // The function process is gone (it exited, or its init failed):
      // Lambda resets the environment, and the next invocation inits anew.
      await this.shutdown('failure', () =>
        this.emit('platform.report', report, reportAt)
      );
      return inv;
    }
    if (spec.reportAfterShutdownMs !== undefined) {
      this._lateReports.push({
        emit: () => this.emit('platform.report', report, reportAt),
        afterMs: spec.reportAfterShutdownMs,
      });
    } else {
      this.emit('platform.report', report, reportAt);
    }
    await this.freeze();
    return inv;
  }

  /**
   * Ends the environment: SHUTDOWN to the extension with an epoch-ms
   * deadline, then SIGKILL at that deadline if it has not exited.
   */
  async shutdown(
    reason = 'spindown',
    beforeWait?: () => void
  ): Promise<LaunchRecord | undefined> {
    const launch = this._launch;
    if (!launch || !this._child) return launch;
    this.thaw();
    const shutdownStart = Date.now();
    launch.shutdownAt = shutdownStart;
    // The runtime gets SIGTERM and its share first (lambda-apis.md §1.6).
    const fn = this._fn;
    if (fn) {
      fn.signal('SIGTERM');
      await Promise.race([
        fn.exited,
        sleep(Math.min(this._o.runtimeShutdownMs, 50)),
      ]);
      await fn.kill();
    } else {
      await sleep(Math.min(this._o.runtimeShutdownMs, 50));
    }
    const deadlineMs = shutdownStart + this._o.shutdownBudgetMs;
    launch.shutdownReason = reason;
    launch.shutdownDeadlineMs = deadlineMs;
    if (this.running)
      this.api.send({
        eventType: 'SHUTDOWN',
        deadlineMs,
        shutdownReason: reason,
      });
    beforeWait?.();
    const sentAt = Date.now();
    const late = this._lateReports
      .splice(0)
      .map(({ emit, afterMs }) =>
        setTimeout(emit, Math.max(0, sentAt + afterMs - Date.now()))
      );
    let killTimer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      killTimer = setTimeout(
        () => {
          if (this.running) {
            launch.killed = true;
            this._child?.kill('SIGKILL');
          }
          resolve();
        },
        Math.max(0, deadlineMs - Date.now())
      );
    });
    await Promise.race([this._exited, killed]);
    clearTimeout(killTimer);
    for (const t of late) clearTimeout(t);
    await this._exited;
    launch.exitedBeforeDeadline =
      !launch.killed &&
      launch.exitedAt !== undefined &&
      launch.exitedAt <= deadlineMs;
    for (const d of this._currentDeliveries()) d.stop();
    this._child = undefined;
    return launch;
  }

  async close(): Promise<void> {
    await this._fn?.kill();
    if (this.running) {
      this._child?.kill('SIGCONT');
      this._child?.kill('SIGKILL');
      await this._exited;
    }
    for (const d of this.deliveries) d.stop();
    await this.api.close();
  }

  /** Starts the real function's process for this environment. */
  private _spawnFunction(
    fn: FunctionOptions,
    record: LaunchRecord,
    lambdaEnv: Record<string, string | undefined>,
    logFormat = fn.logFormat ?? 'Text'
  ): void {
    this._runtimeInitError = undefined;
    this._runtimeResult = undefined;
    record.logFormat = logFormat;
    const env: Record<string, string> = {};
    // The runtime gets the Lambda variables, not the extension's settings.
    for (const [k, v] of Object.entries({
      ...(this._o.baseEnv ?? process.env),
      ...fn.env,
    })) {
      if (v !== undefined && !(this._o.env && k in this._o.env)) env[k] = v;
    }
    for (const k of Object.keys(lambdaEnv)) {
      const v = lambdaEnv[k];
      if (k.startsWith('AWS_') || k === 'TZ') {
        if (v !== undefined) env[k] = v;
      }
    }
    Object.assign(env, {
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: fn.taskRoot,
      AWS_LAMBDA_LOG_FORMAT: logFormat,
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${this._o.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `emulator/[${this._o.functionVersion}]${randomBytes(16).toString('hex')}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_RUNTIME_DIR: fn.taskRoot,
      LANG: 'en_US.UTF-8',
    });
    // Lambda applies the application log level only with the JSON format.
    if (fn.logLevel && logFormat === 'JSON')
      env.AWS_LAMBDA_LOG_LEVEL = fn.logLevel;
    else delete env.AWS_LAMBDA_LOG_LEVEL;
    this._fn = new FunctionProcess({
      runtimeClient: fn.runtimeClient,
      handler: fn.handler,
      taskRoot: fn.taskRoot,
      ...(fn.nodePath ? { nodePath: fn.nodePath } : {}),
      env,
      logFormat,
      onRecord: (r) => this._onFunctionRecord(r),
      ...(fn.onNote ? { onNote: fn.onNote } : {}),
    });
    if (this._fn.pid !== undefined) record.functionPid = this._fn.pid;
  }

  /** Hands the invocation to the runtime and waits for what it does. */
  private async _runFunction(
    requestId: string,
    deadlineMs: number,
    traceHeader: string | undefined,
    event: string
  ): Promise<FunctionOutcome> {
    const fn = this._fn;
    const initError = this._launch?.functionInitErrorType;
    if (!fn?.running || !this.api.runtimeWaiting) {
      // Init failed (or the process died): the invocation fails with it.
      return {
        status: 'error',
        errorType: initError ?? 'Runtime.ExitError',
        runtimeDoneAt: Date.now(),
      };
    }
    this._runtimeResult = undefined;
    this._inFlight = requestId;
    try {
      return await this._awaitFunction(
        fn,
        requestId,
        deadlineMs,
        traceHeader,
        event
      );
    } finally {
      this._inFlight = undefined;
    }
  }

  private async _awaitFunction(
    fn: FunctionProcess,
    requestId: string,
    deadlineMs: number,
    traceHeader: string | undefined,
    event: string
  ): Promise<FunctionOutcome> {
    const nextBefore = this.api.runtimeNextCalls.length;
    this.api.invokeRuntime({
      requestId,
      deadlineMs,
      invokedFunctionArn: this.functionArn,
      ...(traceHeader ? { traceHeader } : {}),
      body: event,
    });
    const answered = (): RuntimeResult | undefined =>
      this._runtimeResult?.requestId === requestId
        ? this._runtimeResult
        : undefined;
    while (!answered() && fn.running && Date.now() < deadlineMs) await sleep(1);
    const result = answered();
    if (!result) {
      if (!fn.running) {
        await fn.exited;
        return {
          status: 'error',
          errorType: 'Runtime.ExitError',
          runtimeDoneAt: Date.now(),
        };
      }
      // The deadline: Lambda stops the function (and resets the
      // environment, which invoke() does on `timeout`).
      await fn.kill();
      return {
        status: 'timeout',
        errorType: 'Sandbox.Timedout',
        runtimeDoneAt: Date.now(),
      };
    }
    // runtimeDone comes when the runtime is back in /next: its overhead
    // after the response (bounded by the deadline).
    while (
      this.api.runtimeNextCalls.length === nextBefore &&
      fn.running &&
      Date.now() < deadlineMs
    )
      await sleep(1);
    const nextAt = this.api.runtimeNextCalls[nextBefore] ?? Date.now();
    return {
      status: result.kind === 'response' ? 'success' : 'error',
      ...(result.errorType ? { errorType: result.errorType } : {}),
      runtimeDoneAt: nextAt,
      result,
    };
  }

  /** Peak memory of the environment's processes (function and extension). */
  private _measuredMemoryMb(): number {
    const fn = peakMemoryMb(this._fn?.pid) ?? 0;
    const ext = peakMemoryMb(this._child?.pid) ?? 0;
    return Math.ceil(fn + ext);
  }

  private _onFunctionRecord(r: FunctionRecord): void {
    this._o.onFunctionRecord?.(r);
    const event: EmulatedEvent = {
      time: iso(r.timeMs),
      type: 'function',
      record: r.record,
    };
    const deliveries = this._currentDeliveries();
    if (deliveries.length === 0) this._early.push(event);
    for (const d of deliveries) d.emit(event);
    this.functionLines.push({
      // A line without an id of its own (stdout, stderr) belongs to the
      // invocation running when it was written.
      requestId: r.requestId ?? this._inFlight ?? '',
      line: {
        format: 'record',
        message: '',
        record: () => r.record,
        expect: expectedFromRuntime(r),
      },
    });
  }

  private _functionRecord(line: LogLine, requestId: string): unknown {
    const now = Date.now();
    const level = line.level ?? 'INFO';
    switch (line.format ?? 'text') {
      case 'json':
        return {
          timestamp: iso(now),
          level,
          requestId,
          message: line.message,
          ...line.fields,
        };
      case 'object':
        return { ...line.fields };
      case 'record':
        return line.record ? line.record(requestId) : line.message;
      case 'plain':
        return `${String(line.message)}\n`;
      default:
        return `${iso(now)}\t${requestId}\t${level}\t${String(line.message)}\n`;
    }
  }

  private _currentDeliveries(): TelemetryDelivery[] {
    const sub = this.extension?.subscription;
    return this.deliveries.filter(
      (d) => d.subscription === sub && sub !== undefined
    );
  }

  private _onRegister(ext: ExtensionState): void {
    if (this._launch) this._launch.registeredAt = ext.registeredAt;
  }

  private _onSubscribe(ext: ExtensionState): void {
    const sub = ext.subscription;
    if (!sub) return;
    if (this._launch) this._launch.subscribedAt = Date.now();
    const delivery = new TelemetryDelivery(sub, {
      onDropped: (events, reason) => {
        const bytes = events.reduce((n, e) => n + JSON.stringify(e).length, 0);
        delivery.emit({
          time: iso(Date.now()),
          type: 'platform.logsDropped',
          record: {
            droppedBytes: bytes,
            droppedRecords: events.length,
            reason,
          },
        });
      },
    });
    delivery.setThawed(!this._frozen);
    this.deliveries.push(delivery);
    delivery.emit({
      time: iso(Date.now()),
      type: 'platform.extension',
      record: { name: ext.name, state: 'Ready', events: ext.events },
    });
    delivery.emit({
      time: iso(Date.now()),
      type: 'platform.telemetrySubscription',
      record: { name: ext.name, state: 'Subscribed', types: sub.types },
    });
    // What the function wrote before the subscription (an early init).
    for (const e of this._early.splice(0)) delivery.emit(e);
  }

  private _pipeOutput(child: ChildProcess): void {
    const onLine = (line: string): void => {
      if (line === '') return;
      this.output.push(line);
      this._o.onOutput?.(line);
      if (this._o.captureExtensionOutput) this.emit('extension', `${line}\n`);
    };
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) onLine(p);
      });
      stream?.on('end', () => {
        if (rest) onLine(rest);
        rest = '';
      });
    }
  }
}

/**
 * What a receiver must see for a record the runtime client wrote, from the
 * frame alone (README, "Log records"): a text frame's message after the
 * `time\trequestId\tLEVEL\t` prefix, a JSON frame's `message`; the level
 * the frame header gives; the frame's own time. A stdout or stderr line is
 * a plain line, or a JSON object the README's key tables read; only its
 * arrival is checked there.
 */
export function expectedFromRuntime(r: FunctionRecord): ExpectedLog {
  if (r.frame) {
    const timeMs = Number(r.frame.timeUs / 1000n);
    const level = r.level ? { severityText: r.level } : {};
    if (typeof r.record === 'string') {
      const parts = r.record.split('\t');
      const message =
        parts.length >= 4
          ? parts.slice(3).join('\t').replace(/\n$/, '')
          : r.record.replace(/\n$/, '');
      // A JSON document logged as text is read as a record (its own
      // message, level and time win: README, Log records): only its
      // arrival is certain here.
      if (isJsonObject(message)) return {};
      if (parts.length >= 4) return { body: message, ...level, timeMs };
      return { body: message, ...level };
    }
    return 'message' in r.record
      ? { body: r.record.message, ...level, timeMs }
      : { ...level, timeMs };
  }
  if (typeof r.record === 'string') {
    const line = r.record.replace(/\n$/, '');
    // A line shaped like a runtime's (tabs, a bracketed level) is read as
    // one; only a plain line's body is certain.
    return /\t|^\[[A-Z]+\]/.test(line) || isJsonObject(line)
      ? {}
      : { body: line };
  }
  return {};
}

function isJsonObject(text: string): boolean {
  if (!text.startsWith('{')) return false;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}
