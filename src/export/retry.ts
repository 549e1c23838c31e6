/**
 * How long to wait before trying a transiently failed request again:
 * exponential backoff with +-20 % jitter (so a fleet of environments does
 * not retry in step), replaced by the receiver's Retry-After when it sends
 * one. Whether the wait fits before the deadline is the caller's call.
 */

/** The raw format's waits (LAMBDA_TELEMETRY_OTEL_RETRY_BASE_MS, _MAX_MS). */
export interface RetryPolicy {
  /** First wait. */
  baseMs: number;
  /** No wait is longer than this (Retry-After included). */
  maxMs: number;
}

/**
 * The wait (ms) before retry number `attempt` (0 for the first): the
 * receiver's `retryAfterMs` capped at `maxMs`, else
 * `baseMs * 2^attempt` capped at `maxMs`, +-20 % jitter, capped again.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxMs);
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  const jitter = 1 + (random() * 0.4 - 0.2);
  return Math.max(0, Math.min(policy.maxMs, Math.round(exp * jitter)));
}
