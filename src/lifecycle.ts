/**
 * The extension's whole life, top to bottom: register, listen, subscribe,
 * then answer `/next` until SHUTDOWN. This is the only module that decides
 * *when* telemetry is flushed.
 */
import type { Config } from './config/config.js';
import {
  DEADLINE_MARGIN_MS,
  SHUTDOWN_FALLBACK_BUDGET_MS,
  SHUTDOWN_PLAUSIBLE_MAX_MS,
} from './constants.js';
import type { BatchExporter } from './export/result.js';
import type { Mapper } from './map/mapper.js';
import {
  createExtensionsApi,
  type ExtensionsApi,
  type NextEvent,
  type RegisterResult,
} from './lambda/extensions-api.js';
import {
  eventType,
  requestIdOf,
  type TelemetryEvent,
} from './lambda/events.js';
import { createFilter } from './lambda/filter.js';
import { type Listener, startListener } from './lambda/listener.js';
import { subscribe } from './lambda/telemetry-api.js';
import { Dispatcher, dispatchDue } from './pipeline/dispatcher.js';
import { BoundedQueue } from './pipeline/queue.js';
import { untilDeadline } from './util/deadline.js';
import type { Logger } from './util/log.js';

/** A dispatch format: how events become items, and who sends them. */
export interface Format<T> {
  mapper: Mapper<T>;
  /** Undefined: nowhere to send (no endpoint); events are discarded. */
  exporter: BatchExporter<T> | undefined;
  /** Problems found while setting up, logged once each. */
  warnings?: string[];
}

export interface LifecycleDeps<T> {
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
   */
  loadFormat: () => Promise<Format<T>>;
  api?: ExtensionsApi;
}

/** How the process should end. */
export type ExitCode = 0 | 1;

interface ShutdownRequest {
  reason: string;
  deadlineMs: number | undefined;
}

/** Remembers the last few report ids: enough to know the last one came. */
const REPORTS_REMEMBERED = 16;

export class Lifecycle<T> {
  private readonly _log: Logger;
  private readonly _now: () => number;
  private readonly _api: ExtensionsApi;
  private readonly _dispatcher: Dispatcher<T>;
  private _format: Promise<Format<T> | undefined> | undefined;
  private _mapper: Mapper<T> | undefined;
  private _discard = false;
  /** Events that came before the format finished loading. */
  private _early: TelemetryEvent[] = [];
  private _earlyDropped = 0;
  private _listener: Listener | undefined;
  /** What register answered (account id, function name...). */
  registration: RegisterResult | undefined;
  private _received = 0;
  private _filtered = 0;
  private readonly _keep: ReturnType<typeof createFilter>;
  private _discarded = 0;
  private _lastInvokeId: string | undefined;
  /** Between INVOKE and our next /next: the only time we may send (not LMI). */
  private _invoke: { requestId?: string; deadlineMs: number } | undefined;
  /** runtimeDone ids seen, for the `end` policy's wait. */
  private readonly _done: string[] = [];
  /** platform.logsDropped records, summed. */
  private _lambdaDropped = 0;
  private _reportedDrops = '';
  private readonly _reports: string[] = [];
  private _onTelemetry: (() => void) | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _signal: (req: ShutdownRequest) => void = () => undefined;
  private readonly _signalled: Promise<ShutdownRequest>;

  constructor(private readonly _deps: LifecycleDeps<T>) {
    this._log = _deps.log;
    this._now = _deps.now ?? Date.now;
    this._api = _deps.api ?? createExtensionsApi(_deps.runtimeApi);
    const { config } = _deps;
    this._dispatcher = new Dispatcher<T>({
      queue: new BoundedQueue<T>(config.queue),
      maxRequestBytes: config.export.maxRequestBytes,
      maxBatchItems: config.export.maxBatchItems,
      log: this._log,
      retry: config.retry,
      now: this._now,
    });
    this._keep = createFilter(config.filters);
    this._signalled = new Promise((resolve) => {
      this._signal = resolve;
    });
  }

  /** SIGTERM and friends: behave as SHUTDOWN with the fallback budget. */
  requestShutdown(reason: string): void {
    this._signal({ reason, deadlineMs: undefined });
  }

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
        onEvents: (events) => this._receive(events),
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
    this._format = this._deps.loadFormat().then(
      (format) => {
        const mapper = format.mapper;
        this._mapper = mapper;
        if (mapper.release)
          this._dispatcher.setRelease((items) => mapper.release?.(items));
        for (const w of format.warnings ?? []) log.warn(w);
        if (format.exporter === undefined) {
          this._discard = true;
          log.warn(
            'no endpoint is configured (DISPATCH_POST_URI or OTEL_EXPORTER_OTLP_ENDPOINT); telemetry will be discarded'
          );
        } else {
          this._dispatcher.setExporter(Promise.resolve(format.exporter));
        }
        const early = this._early;
        this._early = [];
        this._map(early);
        return format;
      },
      (err: unknown) => {
        log.error('the export stack failed to load; telemetry is discarded', {
          error: errorText(err),
        });
        this._discard = true;
        this._early = [];
        return undefined;
      }
    );
    // On Managed Instances no INVOKE ever comes: the timer (and the batch
    // size, checked on receipt) are the only flush triggers. Elsewhere it is
    // the backup for long invocations, and only runs inside one.
    this._timer = setInterval(() => this._flushIfDue(), config.flushIntervalMs);
    this._timer.unref();
  }

  /**
   * One pass over a delivery, each event parsed as it is read (batch.ts):
   * count, filter, note what the lifecycle waits for, then map.
   */
  private _receive(batch: Iterable<TelemetryEvent>): void {
    const keep = this._keep;
    const mapper = this._discard ? undefined : this._mapper;
    for (const event of batch) {
      this._received++;
      if (keep && !keep(event)) {
        this._filtered++;
        continue;
      }
      this._note(event);
      if (this._discard) this._discarded++;
      else if (mapper === undefined) this._early.push(event);
      else this._mapOne(mapper, event);
    }
    if (mapper !== undefined) mapper.seal(this._enqueue);
    // The format is still loading (only at the very start): early events
    // are held within the queue's event bound.
    const over = this._early.length - this._deps.config.queue.maxEvents;
    if (over > 0) {
      this._early.splice(0, over);
      this._earlyDropped += over;
    }
    this._onTelemetry?.();
    if (this._deps.config.managedInstances) this._flushIfDue();
  }

  /** What the lifecycle itself waits for or reports. */
  private _note(event: TelemetryEvent): void {
    const type = eventType(event);
    if (type === 'platform.report' || type === 'platform.runtimeDone') {
      const id = requestIdOf(event);
      const seen = type === 'platform.report' ? this._reports : this._done;
      if (id !== undefined) {
        seen.push(id);
        if (seen.length > REPORTS_REMEMBERED) seen.shift();
      }
    } else if (type === 'platform.logsDropped') {
      const n = (event.record as { droppedRecords?: unknown } | null)
        ?.droppedRecords;
      if (typeof n === 'number' && Number.isFinite(n)) this._lambdaDropped += n;
    }
  }

  private readonly _enqueue = (
    item: Parameters<Dispatcher<T>['enqueue']>[0]
  ): void => this._dispatcher.enqueue(item);

  private _map(events: TelemetryEvent[]): void {
    if (this._discard || this._mapper === undefined) {
      this._discarded += events.length;
      return;
    }
    for (const event of events) this._mapOne(this._mapper, event);
    this._mapper.seal(this._enqueue);
  }

  private _mapOne(mapper: Mapper<T>, event: TelemetryEvent): void {
    try {
      mapper.map(event, this._enqueue);
    } catch (err) {
      this._discarded++;
      this._log.limited(
        'error',
        'map',
        'an event could not be mapped; skipped',
        {
          type: eventType(event),
          error: errorText(err),
        }
      );
    }
  }

  /** Events received and not yet sent, wherever they wait. */
  private _waitingEvents(): number {
    return (
      this._dispatcher.queuedEvents +
      (this._mapper?.pendingEvents ?? 0) +
      this._early.length
    );
  }

  private _flushIfDue(): void {
    const { config } = this._deps;
    // Outside an invocation we may be frozen at any moment: a request must
    // never be left half-sent across a freeze.
    if (!config.managedInstances && this._invoke === undefined) return;
    if (!dispatchDue(this._waitingEvents(), config.dispatch.minBatchSize)) {
      return;
    }
    const deadlineMs = Math.min(
      this._now() + config.export.timeoutMs,
      this._invoke?.deadlineMs ?? Number.POSITIVE_INFINITY
    );
    this._flush(deadlineMs, false).catch((err: unknown) =>
      this._log.limited('error', 'flush', 'flush failed', {
        error: errorText(err),
      })
    );
  }

  /**
   * Waits (bounded) for the format to load so early events are mapped, then
   * sends the queue. `drain` releases what the mapper holds back first.
   */
  private async _flush(deadlineMs: number, drain: boolean): Promise<void> {
    if (this._format !== undefined && this._mapper === undefined) {
      await untilDeadline(this._format, deadlineMs, this._now);
    }
    if (drain && this._mapper !== undefined) {
      this._mapper.drain(this._enqueue);
    }
    this._reportDrops();
    await this._dispatcher.flush({
      deadlineMs,
      // SHUTDOWN is the last chance: retry until its deadline.
      ...(drain ? { attempts: Number.POSITIVE_INFINITY } : {}),
    });
  }

  /**
   * Puts the drop counts into the stream itself whenever they changed, so
   * the backend learns what is missing (no anchor does this).
   */
  private _reportDrops(): boolean {
    const s = this._dispatcher.stats;
    const counts = {
      queueOverflow: s.overflowEvents + this._earlyDropped,
      rejected: s.rejectedEvents,
      lambdaDropped: this._lambdaDropped,
    };
    if (counts.queueOverflow + counts.rejected + counts.lambdaDropped === 0) {
      return false;
    }
    const key = JSON.stringify(counts);
    if (key === this._reportedDrops || this._mapper === undefined) return false;
    this._reportedDrops = key;
    this._mapper.reportDrops(counts, this._enqueue);
    return true;
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
    this._lastInvokeId = event.requestId;
    this._invoke = {
      ...(event.requestId !== undefined ? { requestId: event.requestId } : {}),
      deadlineMs: fnDeadline,
    };
    this._mapper?.noteInvoke(event.requestId, event.invokedFunctionArn);
    try {
      const rid = event.requestId;
      if (config.flush === 'end' && rid !== undefined) {
        // Wait for this invocation's runtimeDone (and the lines before it),
        // then send before /next: the data leaves before the freeze.
        await this._waitFor(() => this._done.includes(rid), fnDeadline);
      }
      // `next-invoke`: the export runs while the handler runs (the seed's
      // behaviour), shipping what came since the last INVOKE.
      if (dispatchDue(this._waitingEvents(), config.dispatch.minBatchSize)) {
        await this._flush(
          Math.min(this._now() + config.export.timeoutMs, fnDeadline),
          false
        );
      }
    } catch (err) {
      this._log.limited('error', 'flush', 'flush failed', {
        error: errorText(err),
      });
    } finally {
      this._invoke = undefined;
      // Nothing may stay half-sent across the freeze that may follow /next.
      await this._dispatcher.settle(fnDeadline);
    }
  }

  private async _shutdown(req: ShutdownRequest): Promise<ExitCode> {
    const { config, log } = this._deps;
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

    if (this._listener !== undefined && !this._discard) {
      // The last invocation's platform.report is emitted only after we
      // called /next, so it usually arrives now. Wait for it, bounded by a
      // share of the budget so the flush keeps the rest.
      const waitUntil = Math.min(
        received + config.shutdownWaitMs,
        received + (deadline - received) / 2
      );
      await this._waitForLateTelemetry(waitUntil);
      // Whatever arrives while a flush runs gets another pass, in time.
      let before = -1;
      do {
        const sentBefore = this._dispatcher.stats.sentEvents;
        if (sentBefore === before) break;
        before = sentBefore;
        await this._flush(deadline, true);
      } while (this._waitingEvents() > 0 && this._now() < deadline);
      // Drops found by the last flush are told too, if time allows.
      if (this._reportDrops() && this._now() < deadline) {
        await this._dispatcher.flush({ deadlineMs: deadline });
      }
    }
    await this._close();
    const s = this._dispatcher.stats;
    log.info('shutdown', {
      reason: req.reason,
      received: this._received,
      filtered: this._filtered,
      sent: s.sentEvents,
      unsent: this._dispatcher.queuedEvents,
      overflowDropped: s.overflowEvents,
      rejected: s.rejectedEvents,
      discarded: this._discarded + (this._mapper?.discardedEvents ?? 0),
      overflowBeforeLoad: this._earlyDropped,
      lambdaDropped: this._lambdaDropped,
      retries: s.retryableFailures,
      aborted: s.aborted,
      msLeft: deadline + DEADLINE_MARGIN_MS - this._now(),
      ...memoryFigures(),
    });
    return 0;
  }

  private _waitForLateTelemetry(untilMs: number): Promise<void> {
    return this._waitFor(
      () =>
        this._lastInvokeId === undefined ||
        this._reports.includes(this._lastInvokeId),
      untilMs
    );
  }

  /** Resolves when `done()` holds after some telemetry, or at `untilMs`. */
  private _waitFor(done: () => boolean, untilMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, Math.max(0, untilMs - this._now()));
      this._onTelemetry = () => {
        if (done()) finish();
      };
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this._onTelemetry = undefined;
    });
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
