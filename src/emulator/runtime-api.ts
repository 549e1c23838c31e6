/**
 * The Extensions API, the Telemetry API and the Runtime API (for a real
 * runtime client, function-process.ts) as Lambda serves them, on loopback:
 * the status codes, headers and checks of lambda-apis.md §1-2. Part of the
 * product (the demo and the tests run the real layer against it), and it
 * imports nothing from the extension: it only speaks HTTP.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** The schemaVersion values a subscription may name (lambda-apis.md §2.1). */
export const SCHEMA_VERSIONS = ['2025-01-29', '2022-12-13', '2022-07-01'];
/** The streams a subscription's `types` may list (lambda-apis.md §2.1). */
export const TELEMETRY_TYPES = ['platform', 'function', 'extension'];
/**
 * Each buffering field's inclusive [min, max]: items, bytes, ms
 * (lambda-apis.md §2.1, the buffering table).
 */
export const BUFFERING_LIMITS = {
  maxItems: [1_000, 10_000],
  maxBytes: [262_144, 1_048_576],
  timeoutMs: [25, 30_000],
} as const;
/** AWS documents 10,000 / 262,144 / 1,000 ms as the buffering defaults. */
export const BUFFERING_DEFAULTS = {
  maxItems: 10_000,
  maxBytes: 262_144,
  timeoutMs: 1_000,
};

/** A subscription's buffering, defaults filled in (lambda-apis.md §2.1). */
export interface Buffering {
  /** Events buffered before a POST. */
  maxItems: number;
  /** Bytes buffered before a POST (the serialized events). */
  maxBytes: number;
  /** Longest a batch waits from its first event (ms). */
  timeoutMs: number;
}

/** A subscription the Telemetry API accepted (lambda-apis.md §2.1). */
export interface Subscription {
  schemaVersion: string;
  /** Streams: `platform`, `function`, `extension`. */
  types: string[];
  buffering: Buffering;
  /** As the extension sent it (host sandbox.localdomain). */
  uri: string;
  /** Where we actually connect: the same port on 127.0.0.1. */
  target: URL;
}

/**
 * The body of an /extension/event/next answer (lambda-apis.md §1.3): INVOKE
 * with `deadlineMs` (epoch ms), `requestId`, `invokedFunctionArn` and
 * `tracing` when traced; SHUTDOWN with `deadlineMs` and `shutdownReason`.
 */
export interface NextEventBody {
  eventType: 'INVOKE' | 'SHUTDOWN';
  [key: string]: unknown;
}

/**
 * One registered extension as the API tracks it (lambda-apis.md §1.2-1.4,
 * §2.1); times are epoch ms.
 */
export interface ExtensionState {
  /** Its Lambda-Extension-Identifier (a UUID). */
  id: string;
  /** Its Lambda-Extension-Name. */
  name: string;
  /** What it registered for: `INVOKE`, `SHUTDOWN`. */
  events: string[];
  registeredAt: number;
  /** Times of each /event/next call. */
  nextCalls: number[];
  subscription?: Subscription;
  /** Why its subscription was refused, in a few words. */
  subscriptionRejected?: string;
  /** `Type: body` posted to /init/error (the body cut at 500 chars). */
  initError?: string;
  /** The same for /exit/error. */
  exitError?: string;
  /** Its parked /event/next, and since when. */
  pending?: { res: ServerResponse; since: number } | undefined;
  /** Events not yet handed over (sent at its next /event/next). */
  queued: NextEventBody[];
}

/** What a RuntimeApi serves, and whom it tells (emulator.ts wires these). */
export interface RuntimeApiOptions {
  /** The /register answer's functionName, functionVersion and handler. */
  functionName: string;
  functionVersion: string;
  handler: string;
  /** In the /register answer when the `accountId` feature is asked for. */
  accountId: string;
  /** Managed Instances: INVOKE registration is refused, schema 2025-01-29 only. */
  managedInstances?: boolean;
  /** Answer subscriptions with 202 "not supported", as SAM / RIE do. */
  telemetryUnsupported?: boolean;
  /** Answer subscriptions with 500 (a Lambda service error), for fault tests. */
  failSubscribe?: boolean;
  /** File names of the executables launched from /opt/extensions. */
  executables: () => string[];
  onRegister?: (ext: ExtensionState) => void;
  onSubscribe?: (ext: ExtensionState) => void;
  onNext?: (ext: ExtensionState) => void;
  /** The runtime posted to /runtime/init/error. */
  onRuntimeInitError?: (errorType: string, body: string) => void;
  /** The runtime answered the current invocation. */
  onRuntimeResult?: (result: RuntimeResult) => void;
  /** The runtime called /runtime/invocation/next. */
  onRuntimeNext?: () => void;
}

/** What Lambda hands the runtime with each invocation. */
export interface RuntimeInvocation {
  requestId: string;
  /** Epoch ms (Lambda-Runtime-Deadline-Ms). */
  deadlineMs: number;
  invokedFunctionArn: string;
  /** The X-Amzn-Trace-Id value, when traced. */
  traceHeader?: string;
  /** The event, as JSON text. */
  body: string;
}

/**
 * The runtime's answer to one invocation: its POST to
 * /runtime/invocation/{requestId}/response or /error (the Runtime API).
 */
export interface RuntimeResult {
  requestId: string;
  kind: 'response' | 'error';
  /** For errors: Lambda-Runtime-Function-Error-Type, by validErrorType. */
  errorType?: string;
  /** The response or error body, as UTF-8 text. */
  body: string;
  /**
   * When the request began to arrive, and when it had all arrived (epoch
   * ms).
   */
  startedAt: number;
  endedAt: number;
}

const RUNTIME = '/2018-06-01/runtime';

/** Error responses carry {errorType, errorMessage} (lambda-apis.md §1.5). */
function fail(
  res: ServerResponse,
  status: number,
  errorType: string,
  errorMessage: string
): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ errorType, errorMessage }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The loopback server behind AWS_LAMBDA_RUNTIME_API. `start()` listens on
 * 127.0.0.1 (a free port), `send()` queues INVOKE / SHUTDOWN for the
 * extensions, `invokeRuntime()` hands an invocation to a real runtime.
 * Requests are checked as Lambda checks them (lambda-apis.md §1-2; the
 * Runtime API under /2018-06-01/runtime); a refusal carries the §1.5 body
 * `{errorType, errorMessage}`. An unknown route is 404, a handler that
 * throws 500 `InternalServerError`.
 */
export class RuntimeApi {
  readonly extensions = new Map<string, ExtensionState>();
  /** Closed once every registered extension has called /next in init. */
  initDone = false;
  /** Fault injection: the next /event/next call gets this status (once). */
  failNextWith: number | undefined;
  /** Times of each runtime /invocation/next call. */
  readonly runtimeNextCalls: number[] = [];
  /** The runtime's parked /next, if it is waiting. */
  private _runtimePending: ServerResponse | undefined;
  private _runtimeQueued: RuntimeInvocation | undefined;
  /** The invocation the runtime holds: only its id may be answered. */
  private _runtimeCurrent: string | undefined;
  private _server: Server | undefined;
  private _address = '';

  constructor(private readonly _opts: RuntimeApiOptions) {}

  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    return this._address;
  }

  /** Listens; resolves with the address (host:port). */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const startedAt = Date.now();
      this._requestStarted.set(req, startedAt);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this._route(req, res, Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          fail(res, 500, 'InternalServerError', String(err));
        }
      });
    });
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve)
    );
    this._server = server;
    this._address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this._address;
  }

  private readonly _requestStarted = new WeakMap<IncomingMessage, number>();

  async close(): Promise<void> {
    this._runtimePending?.destroy();
    for (const ext of this.extensions.values()) ext.pending?.res.destroy();
    const server = this._server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Forgets every extension and reopens registration (a reset / new sandbox). */
  reset(): void {
    for (const ext of this.extensions.values()) ext.pending?.res.destroy();
    this.extensions.clear();
    this.initDone = false;
    this.resetRuntime();
  }

  /** Forgets the runtime (its process is gone; a new one will come). */
  resetRuntime(): void {
    this._runtimePending?.destroy();
    this._runtimePending = undefined;
    this._runtimeQueued = undefined;
    this._runtimeCurrent = undefined;
  }

  /** The runtime is parked in /runtime/invocation/next. */
  get runtimeWaiting(): boolean {
    return this._runtimePending !== undefined;
  }

  /** Hands an invocation to the runtime (now, or at its next /next). */
  invokeRuntime(inv: RuntimeInvocation): void {
    this._runtimeQueued = inv;
    this._deliverRuntime();
  }

  private _deliverRuntime(): void {
    const res = this._runtimePending;
    const inv = this._runtimeQueued;
    if (!res || !inv) return;
    this._runtimePending = undefined;
    this._runtimeQueued = undefined;
    this._runtimeCurrent = inv.requestId;
    // The headers the runtime interface clients require (request id,
    // deadline, ARN) and the trace header when the invocation is traced.
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': inv.requestId,
      'lambda-runtime-deadline-ms': String(inv.deadlineMs),
      'lambda-runtime-invoked-function-arn': inv.invokedFunctionArn,
    };
    if (inv.traceHeader) headers['lambda-runtime-trace-id'] = inv.traceHeader;
    res.writeHead(200, headers).end(inv.body);
  }

  /** Every registered extension is parked in /next. */
  allWaiting(): boolean {
    if (this.extensions.size === 0) return false;
    for (const ext of this.extensions.values()) if (!ext.pending) return false;
    return true;
  }

  /** Sends an event to every extension registered for it. */
  send(event: NextEventBody): void {
    for (const ext of this.extensions.values()) {
      if (!ext.events.includes(event.eventType)) continue;
      ext.queued.push(event);
      this._deliver(ext);
    }
  }

  private _deliver(ext: ExtensionState): void {
    if (!ext.pending) return;
    const event = ext.queued.shift();
    if (!event) return;
    const { res } = ext.pending;
    ext.pending = undefined;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
    };
    if (event.eventType === 'INVOKE') {
      headers['lambda-extension-event-identifier'] = randomUUID();
    }
    res.writeHead(200, headers).end(JSON.stringify(event));
  }

  private _route(
    req: IncomingMessage,
    res: ServerResponse,
    body: string
  ): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'POST' && path === '/2020-01-01/extension/register') {
      this._register(req, res, body);
    } else if (
      req.method === 'GET' &&
      path === '/2020-01-01/extension/event/next'
    ) {
      this._next(req, res);
    } else if (
      req.method === 'POST' &&
      (path === '/2020-01-01/extension/init/error' ||
        path === '/2020-01-01/extension/exit/error')
    ) {
      this._error(
        req,
        res,
        path.endsWith('init/error') ? 'init' : 'exit',
        body
      );
    } else if (req.method === 'PUT' && path === '/2022-07-01/telemetry') {
      this._subscribe(req, res, body);
    } else if (path.startsWith(`${RUNTIME}/`)) {
      this._runtime(req, res, path.slice(RUNTIME.length), body);
    } else {
      fail(res, 404, 'NotFound', `no route for ${req.method} ${path}`);
    }
  }

  /** The Runtime API (lambda-apis.md, Runtime API), for a real runtime client. */
  private _runtime(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: string
  ): void {
    if (req.method === 'GET' && path === '/invocation/next') {
      if (this._runtimePending) {
        fail(res, 400, 'InvalidStateTransition', 'already waiting for /next');
        return;
      }
      this.runtimeNextCalls.push(Date.now());
      // A /next ends the invocation the runtime held, answered or not.
      this._runtimeCurrent = undefined;
      this._runtimePending = res;
      res.on('close', () => {
        if (this._runtimePending === res) this._runtimePending = undefined;
      });
      this._opts.onRuntimeNext?.();
      this._deliverRuntime();
      return;
    }
    if (req.method === 'POST' && path === '/init/error') {
      if (this._runtimeCurrent !== undefined || this.runtimeNextCalls.length) {
        fail(res, 403, 'InvalidStateTransition', 'init is over');
        return;
      }
      const type = validErrorType(
        header(req, 'lambda-runtime-function-error-type')
      );
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end('{"status":"OK"}');
      this._opts.onRuntimeInitError?.(type, body);
      return;
    }
    const m = /^\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method === 'POST' && m) {
      const requestId = decodeURIComponent(m[1] as string);
      if (requestId !== this._runtimeCurrent) {
        fail(
          res,
          400,
          'InvalidRequestID',
          `${requestId} is not the invocation in progress`
        );
        return;
      }
      // One answer per invocation, as Lambda accepts.
      this._runtimeCurrent = undefined;
      const kind = m[2] as 'response' | 'error';
      const errorType =
        kind === 'error'
          ? validErrorType(header(req, 'lambda-runtime-function-error-type'))
          : undefined;
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end('{"status":"OK"}');
      this._opts.onRuntimeResult?.({
        requestId,
        kind,
        ...(errorType !== undefined ? { errorType } : {}),
        body,
        startedAt: this._requestStarted.get(req) ?? Date.now(),
        endedAt: Date.now(),
      });
      return;
    }
    fail(res, 404, 'NotFound', `no route for ${req.method} ${path}`);
  }

  private _register(
    req: IncomingMessage,
    res: ServerResponse,
    body: string
  ): void {
    const name = header(req, 'lambda-extension-name');
    if (!name) {
      fail(
        res,
        403,
        'Extension.InvalidExtensionName',
        'Lambda-Extension-Name is empty'
      );
      return;
    }
    if (this.initDone) {
      fail(
        res,
        403,
        'Extension.RegistrationClosed',
        'registration is closed after init'
      );
      return;
    }
    let parsed: { events?: unknown; configurationKeys?: unknown };
    try {
      parsed = body.trim() === '' ? {} : (JSON.parse(body) as typeof parsed);
    } catch {
      fail(res, 403, 'InvalidRequestFormat', 'register body is not JSON');
      return;
    }
    if (parsed.configurationKeys !== undefined) {
      fail(
        res,
        403,
        'InvalidRequestFormat',
        'configurationKeys is deprecated; use environment variables'
      );
      return;
    }
    const events = Array.isArray(parsed.events)
      ? (parsed.events as unknown[])
      : [];
    for (const e of events) {
      if (e !== 'INVOKE' && e !== 'SHUTDOWN') {
        fail(
          res,
          403,
          'Extension.InvalidEventType',
          `unknown event type ${JSON.stringify(e)}`
        );
        return;
      }
      if (e === 'INVOKE' && this._opts.managedInstances) {
        fail(
          res,
          403,
          'Extension.InvalidEventType',
          'INVOKE is not available on Lambda Managed Instances'
        );
        return;
      }
    }
    // A name that matches no executable in /opt/extensions is taken as an
    // internal extension, which may not have SHUTDOWN (lambda-apis.md §1.2).
    if (
      !this._opts.executables().includes(name) &&
      events.includes('SHUTDOWN')
    ) {
      fail(
        res,
        403,
        'Extension.InvalidEventType',
        `ShutdownEventNotSupportedForInternalExtension: ${name} is not an executable in /opt/extensions`
      );
      return;
    }
    for (const ext of this.extensions.values()) {
      if (ext.name === name) {
        fail(
          res,
          403,
          'Extension.InvalidExtensionState',
          `${name} is already registered`
        );
        return;
      }
    }
    if (this.extensions.size >= 10) {
      fail(res, 403, 'Extension.TooManyExtensions', 'at most 10 extensions');
      return;
    }
    const ext: ExtensionState = {
      id: randomUUID(),
      name,
      events: events as string[],
      registeredAt: Date.now(),
      nextCalls: [],
      queued: [],
    };
    this.extensions.set(ext.id, ext);
    const features = (header(req, 'lambda-extension-accept-feature') ?? '')
      .split(',')
      .map((s) => s.trim());
    const out: Record<string, string> = {
      functionName: this._opts.functionName,
      functionVersion: this._opts.functionVersion,
      handler: this._opts.handler,
    };
    if (features.includes('accountId')) out.accountId = this._opts.accountId;
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'lambda-extension-identifier': ext.id,
      })
      .end(JSON.stringify(out));
    this._opts.onRegister?.(ext);
  }

  private _identify(
    req: IncomingMessage,
    res: ServerResponse
  ): ExtensionState | undefined {
    const id = header(req, 'lambda-extension-identifier');
    if (!id) {
      fail(
        res,
        403,
        'Extension.MissingExtensionIdentifier',
        'Lambda-Extension-Identifier is missing'
      );
      return undefined;
    }
    if (!UUID.test(id)) {
      fail(
        res,
        403,
        'Extension.InvalidExtensionIdentifier',
        'Lambda-Extension-Identifier is not a UUID'
      );
      return undefined;
    }
    const ext = this.extensions.get(id);
    if (!ext) {
      fail(
        res,
        403,
        'Extension.UnknownExtensionIdentifier',
        'unknown extension identifier'
      );
      return undefined;
    }
    return ext;
  }

  private _next(req: IncomingMessage, res: ServerResponse): void {
    const ext = this._identify(req, res);
    if (!ext) return;
    if (ext.pending) {
      fail(
        res,
        403,
        'Extension.InvalidExtensionState',
        'already waiting for an event'
      );
      return;
    }
    if (this.failNextWith !== undefined) {
      const status = this.failNextWith;
      this.failNextWith = undefined;
      fail(res, status, 'InternalServerError', 'the Runtime API failed');
      return;
    }
    const now = Date.now();
    ext.nextCalls.push(now);
    ext.pending = { res, since: now };
    res.on('close', () => {
      if (ext.pending?.res === res) ext.pending = undefined;
    });
    if (!this.initDone && this.allWaiting()) this.initDone = true;
    this._opts.onNext?.(ext);
    this._deliver(ext);
  }

  private _error(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'init' | 'exit',
    body: string
  ): void {
    const ext = this._identify(req, res);
    if (!ext) return;
    const type = header(req, 'lambda-extension-function-error-type');
    if (!type) {
      fail(
        res,
        403,
        'Extension.MissingHeader',
        'Lambda-Extension-Function-Error-Type is missing'
      );
      return;
    }
    const text = `${type}: ${body.slice(0, 500)}`;
    if (kind === 'init') ext.initError = text;
    else ext.exitError = text;
    res
      .writeHead(202, { 'content-type': 'application/json' })
      .end('{"status":"OK"}');
  }

  private _subscribe(
    req: IncomingMessage,
    res: ServerResponse,
    body: string
  ): void {
    const ext = this._identify(req, res);
    if (!ext) return;
    if (this._opts.telemetryUnsupported) {
      res.writeHead(202, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          errorType: 'Telemetry.NotSupported',
          errorMessage: 'Telemetry API is not supported',
        })
      );
      return;
    }
    if (this._opts.failSubscribe) {
      ext.subscriptionRejected = 'service error';
      fail(res, 500, 'InternalServerError', 'telemetry subscription failed');
      return;
    }
    if (this.initDone) {
      ext.subscriptionRejected = 'subscription closed';
      fail(
        res,
        403,
        'Telemetry.SubscriptionClosed',
        'subscriptions are closed after init'
      );
      return;
    }
    const bad = (msg: string): void => {
      ext.subscriptionRejected = msg;
      fail(res, 400, 'ValidationError', msg);
    };
    let s: {
      schemaVersion?: unknown;
      types?: unknown;
      buffering?: Partial<Record<keyof Buffering, unknown>>;
      destination?: { protocol?: unknown; URI?: unknown };
    };
    try {
      s = JSON.parse(body) as typeof s;
    } catch {
      bad('body is not JSON');
      return;
    }
    if (
      typeof s.schemaVersion !== 'string' ||
      !SCHEMA_VERSIONS.includes(s.schemaVersion)
    ) {
      bad(`schemaVersion must be one of ${SCHEMA_VERSIONS.join(', ')}`);
      return;
    }
    if (this._opts.managedInstances && s.schemaVersion !== '2025-01-29') {
      bad('schemaVersion 2025-01-29 is required on Lambda Managed Instances');
      return;
    }
    if (
      !Array.isArray(s.types) ||
      s.types.length === 0 ||
      !s.types.every((t) => TELEMETRY_TYPES.includes(t as string))
    ) {
      bad(
        'types should not be empty and may list platform, function, extension'
      );
      return;
    }
    const buffering = { ...BUFFERING_DEFAULTS };
    for (const key of Object.keys(BUFFERING_LIMITS) as (keyof Buffering)[]) {
      const v = s.buffering?.[key];
      if (v === undefined) continue;
      const [min, max] = BUFFERING_LIMITS[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        bad(`buffering.${key} must be an integer in ${min}..${max}`);
        return;
      }
      buffering[key] = v;
    }
    if (
      s.destination?.protocol !== 'HTTP' ||
      typeof s.destination.URI !== 'string'
    ) {
      bad('destination must be {protocol: "HTTP", URI}');
      return;
    }
    let uri: URL;
    try {
      uri = new URL(s.destination.URI);
    } catch {
      bad('destination.URI is not a URL');
      return;
    }
    if (uri.protocol !== 'http:') {
      bad('destination.URI must be http');
      return;
    }
    if (uri.hostname !== 'sandbox.localdomain' && uri.hostname !== 'sandbox') {
      bad('destination.URI host must be sandbox.localdomain');
      return;
    }
    if (uri.port === '' || uri.port === '9001') {
      bad('URI port is not provided or is reserved');
      return;
    }
    // Lambda maps sandbox.localdomain to the sandbox's own loopback.
    const target = new URL(uri.toString());
    target.hostname = '127.0.0.1';
    ext.subscription = {
      schemaVersion: s.schemaVersion,
      types: s.types as string[],
      buffering,
      uri: s.destination.URI,
      target,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end('"OK"');
    this._opts.onSubscribe?.(ext);
  }
}

/**
 * The error type Lambda reports for a runtime's error: the
 * Lambda-Runtime-Function-Error-Type header when it names a `Runtime.` or
 * `Function.` error, else `Function.Unknown` / `Runtime.Unknown` (the rule
 * of Lambda's RAPID, as the runtime interface emulator carries it). The
 * Node client's native error call sends no such header, so a thrown error
 * is `Runtime.Unknown` there, its own type only in the error body.
 */
export function validErrorType(header: string | undefined): string {
  if (header && /(Runtime|Function)\.[A-Z][a-zA-Z]+/.test(header))
    return header;
  if (header?.startsWith('Function.')) return 'Function.Unknown';
  return 'Runtime.Unknown';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
