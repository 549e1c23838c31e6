/**
 * The extension's whole life, top to bottom: register, listen, subscribe,
 * then answer `/next` until SHUTDOWN. It tells the flush policy
 * (flush-policy.ts) of each INVOKE, tick and SHUTDOWN; the policy decides
 * *when* telemetry is flushed.
 */
import type { Config } from './config/config.js';
import {
  DEADLINE_MARGIN_MS,
  SHUTDOWN_FALLBACK_BUDGET_MS,
  SHUTDOWN_PLAUSIBLE_MAX_MS,
} from './constants.js';
import { FlushPolicy } from './flush-policy.js';
import { Intake } from './intake.js';
import {
  createExtensionsApi,
  type ExtensionsApi,
  type NextEvent,
  type RegisterResult,
} from './lambda/extensions-api.js';
import { type Listener, startListener } from './lambda/listener.js';
import { subscribe } from './lambda/telemetry-api.js';
import type { Format, TelemetryPipeline } from './pipeline/pipeline.js';
import type { Logger } from './util/log.js';

/**
 * What the lifecycle needs; `api` (default: the client for `runtimeApi`) and
 * `now` (epoch ms, default `Date.now`) are replaced in tests.
 */
export interface LifecycleDeps {
  config: Readonly<Config>;
  /** The launcher's file name: Lambda matches it against /opt/extensions. */
  extensionName: string;
  /** AWS_LAMBDA_RUNTIME_API (host:port). */
  runtimeApi: string;
  log: Logger;
  now?: () => number;
  /** Configuration problems (already logged); STRICT turns them into /init/error. */
  configProblems?: readonly string[];
  /**
   * Loads the format (mapping and export stack); called once the first
   * `/next` is on its way, so its cost is not part of the extension's init.
   * Gets the register response (account id, function name).
   */
  loadFormat: (registration: RegisterResult | undefined) => Promise<Format>;
  api?: ExtensionsApi;
}

/** How the process should end. */
export type ExitCode = 0 | 1;

interface ShutdownRequest {
  reason: string;
  deadlineMs: number | undefined;
}

/**
 * One extension's life (see above). `run()` is called once; `requestShutdown`
 * may be called at any time after.
 */
export class Lifecycle {
  private readonly _log: Logger;
  private readonly _now: () => number;
  private readonly _api: ExtensionsApi;
  private readonly _intake: Intake;
  private readonly _policy: FlushPolicy;
  private _loading: Promise<unknown> | undefined;
  private _pipeline: TelemetryPipeline | undefined;
  private _listener: Listener | undefined;
  /** What register answered (account id, function name...). */
  registration: RegisterResult | undefined;
  private _reportedDrops = '';
  private _timer: NodeJS.Timeout | undefined;
  private _signal: (req: ShutdownRequest) => void = () => undefined;
  private readonly _signalled: Promise<ShutdownRequest>;

  constructor(private readonly _deps: LifecycleDeps) {
    this._log = _deps.log;
    this._now = _deps.now ?? Date.now;
    this._api = _deps.api ?? createExtensionsApi(_deps.runtimeApi);
    const { config } = _deps;
    this._intake = new Intake({
      filters: config.filters,
      sequential: !config.managedInstances,
      maxEarlyEvents: config.queue.maxEvents,
      snapStart: config.snapStart,
      log: this._log,
      now: this._now,
    });
    this._policy = new FlushPolicy({
      options: {
        flush: config.flush,
        managedInstances: config.managedInstances,
        exportTimeoutMs: config.export.timeoutMs,
        invokeWaitMs: config.export.invokeWaitMs,
        shutdownWaitMs: config.shutdownWaitMs,
        bufferTimeoutMs: config.subscription.timeoutMs,
        reportsSubscribed: config.subscription.types.includes('platform'),
      },
      pipeline: () => this._pipeline,
      loading: () => this._loading,
      intake: this._intake,
      beforeFlush: () => this._reportDrops(),
      onError: (err) =>
        this._log.limited('error', 'flush', 'flush failed', {
          error: errorText(err),
        }),
      now: this._now,
    });
    this._intake.onDelivery = () => this._policy.onDelivery();
    this._signalled = new Promise((resolve) => {
      this._signal = resolve;
    });
  }

  /** SIGTERM and friends: behave as SHUTDOWN with the fallback budget. */
  requestShutdown(reason: string): void {
    this._signal({ reason, deadlineMs: undefined });
  }

  /**
   * Registers, subscribes and answers `/next` until SHUTDOWN. Resolves with 0
   * after SHUTDOWN (or `requestShutdown`), with 1 when register, `/next` or a
   * strict init fails; it does not reject. The caller exits with it.
   */
  async run(): Promise<ExitCode> {
    const { config, log } = this._deps;

    // 1. Register. On Managed Instances INVOKE is refused (lambda-apis.md §1.6).
    let registration: RegisterResult;
    try {
      registration = await this._api.register(
        this._deps.extensionName,
        config.managedInstances ? ['SHUTDOWN'] : ['INVOKE', 'SHUTDOWN']
      );
    } catch (err) {
      // No identifier yet, so /init/error cannot be called; exiting is what
      // the docs ask for ("non-recoverable, exit promptly").
      log.error('register failed', { error: errorText(err) });
      return 1;
    }
    this.registration = registration;
    log.debug('registered', { functionName: registration.functionName });

    // A bad configuration fails init only when asked to (fail-open otherwise:
    // the problems were logged, and what is valid is used).
    if (config.strict && (this._deps.configProblems ?? []).length > 0) {
      await this._api
        .initError(
          'Extension.ConfigInvalid',
          (this._deps.configProblems ?? []).join('; ')
        )
        .catch((err: unknown) =>
          log.error('init/error failed', { error: errorText(err) })
        );
      return 1;
    }

    // 2. Listen and subscribe, before the first /next (Lambda closes
    //    subscriptions when init ends). Disabled: registered, but idle.
    const active = config.disabled
      ? false
      : await this._startTelemetry(registration.extensionId);
    if (config.disabled)
      log.info('disabled by LAMBDA_TELEMETRY_OTEL_DISABLED; idle');
    if (!active && !config.disabled && config.strict) {
      await this._api
        .initError('Extension.SubscribeFailed', 'telemetry subscription failed')
        .catch((err: unknown) =>
          log.error('init/error failed', { error: errorText(err) })
        );
      return 1;
    }

    // 3. The event loop. The exporter stack starts loading only after the
    //    first /next is sent, while the runtime is still initialising.
    let first = active;
    for (;;) {
      // Compiling the export stack blocks the thread for tens of ms: it
      // starts only once the first /next has left, so Lambda sees our init
      // end first and the compile overlaps the runtime's own init.
      const onSent = first ? () => this._afterFirstNext() : undefined;
      first = false;
      const next = this._api.next(onSent).then(
        (event): { kind: 'event'; event: NextEvent } => ({
          kind: 'event',
          event,
        }),
        (error: unknown): { kind: 'error'; error: unknown } => ({
          kind: 'error',
          error,
        })
      );
      const outcome = await Promise.race([
        next,
        this._signalled.then((req) => ({ kind: 'signal' as const, req })),
      ]);
      if (outcome.kind === 'signal') return this._shutdown(outcome.req);
      if (outcome.kind === 'error') {
        log.error('event/next failed; exiting', {
          error: errorText(outcome.error),
        });
        await this._api
          .exitError('Extension.NextFailed', errorText(outcome.error))
          .catch(() => undefined);
        await this._close();
        return 1;
      }
      const event = outcome.event;
      if (event.eventType === 'SHUTDOWN') {
        return this._shutdown({
          reason: event.shutdownReason ?? 'unknown',
          deadlineMs: event.deadlineMs,
        });
      }
      if (active) await this._onInvoke(event);
    }
  }

  /** Starts the listener and subscribes; false if telemetry cannot flow. */
  private async _startTelemetry(extensionId: string): Promise<boolean> {
    const { config, log } = this._deps;
    try {
      this._listener = await startListener({
        host: config.listener.host,
        hostOverridden: config.listener.hostOverridden,
        port: config.listener.port,
        maxBytes: config.subscription.maxBytes,
        log,
        onEvents: (events) => this._intake.receive(events),
      });
      const outcome = await subscribe({
        runtimeApi: this._deps.runtimeApi,
        extensionId,
        port: this._listener.port,
        types: config.subscription.types,
        buffering: {
          maxItems: config.subscription.maxItems,
          maxBytes: config.subscription.maxBytes,
          timeoutMs: config.subscription.timeoutMs,
        },
      });
      if (outcome === 'not-supported') {
        log.warn(
          'Telemetry API not supported here (202); is this a local emulator?'
        );
      }
      return true;
    } catch (err) {
      log.error('telemetry subscription failed; the extension stays idle', {
        error: errorText(err),
      });
      await this._close();
      return false;
    }
  }

  private _afterFirstNext(): void {
    const { config, log } = this._deps;
    this._loading = this._deps.loadFormat(this.registration).then(
      (format) => {
        for (const w of format.warnings) log.warn(w);
        if (format.pipeline === undefined) {
          log.warn(
            'no endpoint is configured (DISPATCH_POST_URI or OTEL_EXPORTER_OTLP_ENDPOINT); telemetry will be discarded'
          );
        }
        this._pipeline = format.pipeline;
        this._intake.attach(format.pipeline);
      },
      (err: unknown) => {
        log.error('the export stack failed to load; telemetry is discarded', {
          error: errorText(err),
        });
        this._intake.attach(undefined);
      }
    );
    // On Managed Instances no INVOKE ever comes: the timer (and the batch
    // size, checked on receipt) are the only flush triggers. Elsewhere it is
    // the backup for long invocations, and only runs inside one.
    this._timer = setInterval(
      () => this._policy.tick(),
      config.flushIntervalMs
    );
    this._timer.unref();
  }

  /**
   * Puts the drop counts into the stream itself whenever they changed, so
   * the backend learns what is missing (no anchor does this).
   */
  private _reportDrops(): void {
    const p = this._pipeline;
    if (p === undefined) return;
    const s = p.stats;
    const counts = {
      queueOverflow: s.overflowEvents + this._intake.earlyDropped,
      rejected: s.rejectedEvents,
      lambdaDropped: this._intake.lambdaDropped,
    };
    if (counts.queueOverflow + counts.rejected + counts.lambdaDropped === 0) {
      return;
    }
    const key = JSON.stringify(counts);
    if (key === this._reportedDrops) return;
    this._reportedDrops = key;
    p.reportDrops(counts);
  }

  private async _onInvoke(
    event: NextEvent & { eventType: 'INVOKE' }
  ): Promise<void> {
    const { config } = this._deps;
    const now = this._now();
    // /next is never held past the function's own deadline.
    const fnDeadline =
      typeof event.deadlineMs === 'number' && event.deadlineMs > now
        ? event.deadlineMs - DEADLINE_MARGIN_MS
        : now + config.export.timeoutMs;
    this._pipeline?.noteInvoke(event.requestId, event.invokedFunctionArn);
    await this._policy.onInvoke(event.requestId, fnDeadline);
  }

  private async _shutdown(req: ShutdownRequest): Promise<ExitCode> {
    const { log } = this._deps;
    const received = this._now();
    const plausible =
      typeof req.deadlineMs === 'number' &&
      req.deadlineMs > received &&
      req.deadlineMs - received <= SHUTDOWN_PLAUSIBLE_MAX_MS;
    const deadline =
      (plausible
        ? (req.deadlineMs as number)
        : received + SHUTDOWN_FALLBACK_BUDGET_MS) - DEADLINE_MARGIN_MS;
    clearInterval(this._timer);
    this._intake.releaseHeld();
    if (this._listener !== undefined && !this._intake.discarding) {
      await this._policy.onShutdown(deadline, received);
    }
    const p = this._pipeline;
    await p?.shutdown(deadline);
    // Read after the exporters' shutdown: what it still sent is `sent`.
    const unsent = p?.waitingEvents ?? this._intake.earlyEvents;
    const inFlight = p?.inFlightEvents ?? 0;
    const listener = this._listener;
    await this._close();
    const s = p?.stats;
    // Read after the close: a cut record's half still held counts as dropped.
    const l = listener?.stats();
    log.info('shutdown', {
      reason: req.reason,
      received: this._intake.received,
      filtered: this._intake.filtered,
      sent: s?.sentEvents ?? 0,
      unsent,
      lostInFlight: inFlight,
      overflowDropped: s?.overflowEvents ?? 0,
      rejected: s?.rejectedEvents ?? 0,
      ...(s?.overflowRecords !== undefined
        ? {
            overflowRecords: s.overflowRecords,
            rejectedRecords: s.rejectedRecords,
          }
        : {}),
      discarded: this._intake.discarded + (s?.discardedEvents ?? 0),
      overflowBeforeLoad: this._intake.earlyDropped,
      lambdaDropped: this._intake.lambdaDropped,
      snapshotDropped: this._intake.snapshotDropped,
      refusedBodies: l?.refusedBodies ?? 0,
      tooLargeBodies: l?.tooLargeBodies ?? 0,
      cutRecordsJoined: l?.cutRecordsJoined ?? 0,
      cutRecordsDropped: l?.cutRecordsDropped ?? 0,
      failedExports: s?.failedExports ?? 0,
      msLeft: deadline + DEADLINE_MARGIN_MS - this._now(),
      ...memoryFigures(),
    });
    return 0;
  }

  private async _close(): Promise<void> {
    clearInterval(this._timer);
    await this._listener?.close().catch(() => undefined);
    this._listener = undefined;
  }
}

/** The process's memory in MiB, for the shutdown line. */
function memoryFigures(): Record<string, number> {
  const m = process.memoryUsage();
  const mib = (n: number): number => Math.round(n / 1_048_576);
  return {
    rssMiB: mib(m.rss),
    heapUsedMiB: mib(m.heapUsed),
    heapTotalMiB: mib(m.heapTotal),
    externalMiB: mib(m.external),
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error
      ? `${err.message} (${cause.message})`
      : err.message;
  }
  return String(err);
}
