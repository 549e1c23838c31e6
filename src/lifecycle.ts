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
import { type Listener, startListener } from './lambda/listener.js';
import { subscribe } from './lambda/telemetry-api.js';
import { toRawItem } from './map/raw-item.js';
import { Dispatcher } from './pipeline/dispatcher.js';
import { BoundedQueue } from './pipeline/queue.js';
import type { Logger } from './util/log.js';

export interface LifecycleDeps {
  config: Readonly<Config>;
  /** The launcher's file name: Lambda matches it against /opt/extensions. */
  extensionName: string;
  /** AWS_LAMBDA_RUNTIME_API (host:port). */
  runtimeApi: string;
  log: Logger;
  now?: () => number;
  /** Loads the export stack; called once the first `/next` is on its way. */
  loadExporter: () => Promise<BatchExporter<string>>;
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

export class Lifecycle {
  private readonly _log: Logger;
  private readonly _now: () => number;
  private readonly _api: ExtensionsApi;
  private readonly _dispatcher: Dispatcher<string>;
  private _listener: Listener | undefined;
  private _received = 0;
  private _discarded = 0;
  private _lastInvokeId: string | undefined;
  private readonly _reports: string[] = [];
  private _onTelemetry: (() => void) | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _signal: (req: ShutdownRequest) => void = () => undefined;
  private readonly _signalled: Promise<ShutdownRequest>;

  constructor(private readonly _deps: LifecycleDeps) {
    this._log = _deps.log;
    this._now = _deps.now ?? Date.now;
    this._api = _deps.api ?? createExtensionsApi(_deps.runtimeApi);
    const { config } = _deps;
    this._dispatcher = new Dispatcher<string>({
      queue: new BoundedQueue<string>(config.queue),
      minBatchSize: config.dispatch.minBatchSize,
      maxRequestBytes: config.export.maxRequestBytes,
      log: this._log,
      now: this._now,
    });
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
    log.debug('registered', { functionName: registration.functionName });

    // 2. Listen and subscribe, before the first /next (Lambda closes
    //    subscriptions when init ends).
    const active = await this._startTelemetry(registration.extensionId);
    if (!active && config.strict) {
      await this._api
        .initError('Extension.SubscribeFailed', 'telemetry subscription failed')
        .catch((err: unknown) =>
          log.error('init/error failed', { error: errorText(err) })
        );
      return 1;
    }
    if (active && config.dispatch.postUri === undefined) {
      log.warn('DISPATCH_POST_URI is not set; telemetry will be discarded');
    }

    // 3. The event loop. The exporter stack starts loading only after the
    //    first /next is sent, while the runtime is still initialising.
    let first = true;
    for (;;) {
      const next = this._api.next().then(
        (event): { kind: 'event'; event: NextEvent } => ({
          kind: 'event',
          event,
        }),
        (error: unknown): { kind: 'error'; error: unknown } => ({
          kind: 'error',
          error,
        })
      );
      if (first) {
        first = false;
        if (active) this._afterFirstNext();
      }
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
    const { config } = this._deps;
    if (config.dispatch.postUri !== undefined) {
      this._dispatcher.setExporter(this._deps.loadExporter());
    }
    if (config.managedInstances) {
      // No INVOKE ever comes on Managed Instances: a timer (and the batch
      // size, checked on receipt) are the only flush triggers.
      this._timer = setInterval(
        () => this._flushIfReady(),
        config.flushIntervalMs
      );
      this._timer.unref();
    }
  }

  private _receive(events: TelemetryEvent[]): void {
    this._received += events.length;
    if (this._deps.config.dispatch.postUri === undefined) {
      this._discarded += events.length;
      return;
    }
    for (const event of events) {
      if (eventType(event) === 'platform.report') {
        const id = requestIdOf(event);
        if (id !== undefined) {
          this._reports.push(id);
          if (this._reports.length > REPORTS_REMEMBERED) this._reports.shift();
        }
      }
      this._dispatcher.enqueue(toRawItem(event));
    }
    this._onTelemetry?.();
    if (this._deps.config.managedInstances) this._flushIfReady();
  }

  private _flushIfReady(): void {
    if (!this._dispatcher.ready) return;
    const deadlineMs = this._now() + this._deps.config.export.timeoutMs;
    this._dispatcher.flush({ force: false, deadlineMs }).catch((err: unknown) =>
      this._log.limited('error', 'flush', 'flush failed', {
        error: errorText(err),
      })
    );
  }

  private async _onInvoke(
    event: NextEvent & { eventType: 'INVOKE' }
  ): Promise<void> {
    this._lastInvokeId = event.requestId;
    if (!this._dispatcher.ready) return;
    // The export runs while the handler runs (the seed's behaviour), and
    // /next is never held past the function's own deadline.
    const now = this._now();
    const fnDeadline =
      typeof event.deadlineMs === 'number' && event.deadlineMs > now
        ? event.deadlineMs - DEADLINE_MARGIN_MS
        : Number.POSITIVE_INFINITY;
    const deadlineMs = Math.min(
      now + this._deps.config.export.timeoutMs,
      fnDeadline
    );
    try {
      await this._dispatcher.flush({ force: false, deadlineMs });
    } catch (err) {
      this._log.limited('error', 'flush', 'flush failed', {
        error: errorText(err),
      });
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

    if (this._listener !== undefined && config.dispatch.postUri !== undefined) {
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
      while (this._dispatcher.queuedEvents > 0 && this._now() < deadline) {
        const sentBefore = this._dispatcher.stats.sentEvents;
        if (sentBefore === before) break;
        before = sentBefore;
        await this._dispatcher.flush({ force: true, deadlineMs: deadline });
      }
    }
    await this._close();
    const s = this._dispatcher.stats;
    log.info('shutdown', {
      reason: req.reason,
      received: this._received,
      sent: s.sentEvents,
      unsent: this._dispatcher.queuedEvents,
      overflowDropped: s.overflowEvents,
      rejected: s.rejectedEvents,
      discarded: this._discarded,
      msLeft: deadline + DEADLINE_MARGIN_MS - this._now(),
    });
    return 0;
  }

  private _waitForLateTelemetry(untilMs: number): Promise<void> {
    const done = (): boolean =>
      this._lastInvokeId === undefined ||
      this._reports.includes(this._lastInvokeId);
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

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error
      ? `${err.message} (${cause.message})`
      : err.message;
  }
  return String(err);
}
