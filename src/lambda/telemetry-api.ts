/**
 * Telemetry API subscription (lambda-apis.md §2.1). Must happen before the
 * first `/next`: Lambda closes subscriptions once init is over.
 */
import {
  SANDBOX_HOST,
  TELEMETRY_API_VERSION,
  TELEMETRY_SCHEMA_VERSION,
} from '../constants.js';
import { httpRequest } from '../util/http.js';
import { ExtensionsApiError } from './extensions-api.js';

/**
 * One subscription (lambda-apis.md §2.1): `port` is the listener's;
 * `buffering` is sent as is (`maxBytes` bytes, `timeoutMs` ms).
 */
export interface SubscribeOptions {
  runtimeApi: string;
  extensionId: string;
  port: number;
  types: readonly string[];
  buffering: { maxItems: number; maxBytes: number; timeoutMs: number };
}

/** `not-supported`: the API answered 202 (a local emulator: no telemetry). */
export type SubscribeOutcome = 'subscribed' | 'not-supported';

/** The URI Lambda posts to: always sandbox.localdomain, whatever we bound. */
export function destinationUri(port: number): string {
  return `http://${SANDBOX_HOST}:${port}/`;
}

/**
 * Subscribes (5 s limit). Resolves on 200 or 202; rejects with an
 * `ExtensionsApiError` on any other status, and with the socket's error when
 * the call fails.
 */
export async function subscribe(
  opts: SubscribeOptions
): Promise<SubscribeOutcome> {
  const res = await httpRequest({
    method: 'PUT',
    url: `http://${opts.runtimeApi}/${TELEMETRY_API_VERSION}/telemetry`,
    headers: {
      'lambda-extension-identifier': opts.extensionId,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      schemaVersion: TELEMETRY_SCHEMA_VERSION,
      types: opts.types,
      // All three sent explicitly: the documented defaults disagree.
      buffering: opts.buffering,
      destination: { protocol: 'HTTP', URI: destinationUri(opts.port) },
    }),
    deadlineMs: Date.now() + 5_000,
  });
  if (res.status === 200) return 'subscribed';
  // 202: accepted but not supported (local emulators such as SAM / RIE).
  if (res.status === 202) return 'not-supported';
  throw new ExtensionsApiError(
    `telemetry subscribe answered ${res.status}: ${res.body.slice(0, 200)}`,
    res.status
  );
}
