/**
 * Extensions API client (lambda-apis.md §1): register, next, init/error,
 * exit/error. Speaks plain HTTP to AWS_LAMBDA_RUNTIME_API on loopback.
 */
import { EXTENSIONS_API_VERSION } from '../constants.js';
import { httpRequest } from '../util/http.js';

/**
 * What register answers (lambda-apis.md §1.2): the identifier from the
 * `Lambda-Extension-Identifier` header; the rest from the body, when present
 * and a string.
 */
export interface RegisterResult {
  extensionId: string;
  functionName?: string;
  functionVersion?: string;
  handler?: string;
  accountId?: string;
}

/** The events an extension may register for (lambda-apis.md §1.2). */
export type LambdaEventType = 'INVOKE' | 'SHUTDOWN';

/**
 * An INVOKE from `/event/next` (lambda-apis.md §1.3); `deadlineMs` is the
 * invocation's deadline (epoch ms).
 */
export interface InvokeEvent {
  eventType: 'INVOKE';
  deadlineMs?: number;
  requestId?: string;
  invokedFunctionArn?: string;
  tracing?: { type?: string; value?: string };
}

/**
 * A SHUTDOWN from `/event/next` (lambda-apis.md §1.3, §1.6); `deadlineMs`
 * (epoch ms) ends the shutdown phase.
 */
export interface ShutdownEvent {
  eventType: 'SHUTDOWN';
  deadlineMs?: number;
  shutdownReason?: string;
}

/** One event from `/event/next`. */
export type NextEvent = InvokeEvent | ShutdownEvent;

/** A call the Extensions API answered with an unexpected status. */
export class ExtensionsApiError extends Error {
  override readonly name = 'ExtensionsApiError';
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions
  ) {
    super(message, options);
  }
}

/**
 * The Extensions API calls (lambda-apis.md §1). Each rejects with an
 * `ExtensionsApiError` on an unexpected status, and with the socket's error
 * when the call itself fails.
 */
export interface ExtensionsApi {
  register(name: string, events: LambdaEventType[]): Promise<RegisterResult>;
  /**
   * Long poll with no client timeout: we are frozen while it waits.
   * `onSent` runs once the request is on its way to Lambda.
   */
  next(onSent?: () => void): Promise<NextEvent>;
  initError(errorType: string, message: string): Promise<void>;
  exitError(errorType: string, message: string): Promise<void>;
}

/**
 * A client for `runtimeApi` (AWS_LAMBDA_RUNTIME_API, host:port). It keeps
 * the identifier from `register`; `initError` and `exitError` do nothing
 * before it (1 s limit each). `next` also rejects (a `SyntaxError`) on a
 * body that is not JSON.
 */
export function createExtensionsApi(runtimeApi: string): ExtensionsApi {
  const base = `http://${runtimeApi}/${EXTENSIONS_API_VERSION}/extension`;
  let id: string | undefined;

  const reportError = async (
    path: 'init/error' | 'exit/error',
    errorType: string,
    message: string
  ): Promise<void> => {
    if (id === undefined) return;
    const res = await httpRequest({
      method: 'POST',
      url: `${base}/${path}`,
      headers: {
        'lambda-extension-identifier': id,
        'lambda-extension-function-error-type': errorType,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        errorMessage: message,
        errorType,
        stackTrace: [],
      }),
      deadlineMs: Date.now() + 1_000,
    });
    // The documented success is 202 Accepted (the Go sample expects 200).
    if (res.status !== 202 && res.status !== 200) {
      throw new ExtensionsApiError(
        `${path} answered ${res.status}`,
        res.status
      );
    }
  };

  return {
    async register(name, events) {
      const res = await httpRequest({
        method: 'POST',
        url: `${base}/register`,
        headers: {
          'lambda-extension-name': name,
          'lambda-extension-accept-feature': 'accountId',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ events }),
      });
      if (res.status !== 200) {
        throw new ExtensionsApiError(
          `register answered ${res.status}: ${res.body.slice(0, 200)}`,
          res.status
        );
      }
      const header = res.headers['lambda-extension-identifier'];
      const extensionId = Array.isArray(header) ? header[0] : header;
      if (!extensionId) {
        throw new ExtensionsApiError(
          'register answered without Lambda-Extension-Identifier',
          res.status
        );
      }
      id = extensionId;
      let body: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(res.body);
        if (parsed !== null && typeof parsed === 'object') {
          body = parsed as Record<string, unknown>;
        }
      } catch {
        // The body is informative only; the identifier is what matters.
      }
      const str = (k: string): Partial<Record<string, string>> =>
        typeof body[k] === 'string' ? { [k]: body[k] as string } : {};
      return {
        extensionId,
        ...str('functionName'),
        ...str('functionVersion'),
        ...str('handler'),
        ...str('accountId'),
      } as RegisterResult;
    },

    async next(onSent) {
      const res = await httpRequest({
        method: 'GET',
        url: `${base}/event/next`,
        headers: { 'lambda-extension-identifier': id ?? '' },
        ...(onSent ? { onSent } : {}),
      });
      if (res.status !== 200) {
        throw new ExtensionsApiError(
          `event/next answered ${res.status}: ${res.body.slice(0, 200)}`,
          res.status
        );
      }
      const event = JSON.parse(res.body) as NextEvent;
      if (event.eventType !== 'INVOKE' && event.eventType !== 'SHUTDOWN') {
        throw new ExtensionsApiError(
          `event/next sent unknown eventType ${JSON.stringify((event as { eventType?: unknown }).eventType)}`,
          res.status
        );
      }
      return event;
    },

    initError: (errorType, message) =>
      reportError('init/error', errorType, message),
    exitError: (errorType, message) =>
      reportError('exit/error', errorType, message),
  };
}
