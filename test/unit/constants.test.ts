/**
 * Relations between constants that depend on each other, not their values:
 * change a number freely as long as these still hold.
 */
import { describe, expect, it } from 'vitest';
import {
  BUFFER_LIMITS,
  DEADLINE_MARGIN_MS,
  DEFAULT_BUFFERING,
  DEFAULT_EXPORT_TIMEOUT_MS,
  DEFAULT_INVOKE_EXPORT_WAIT_MS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_QUEUE_EVENTS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_RETRY,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  LISTENER_BODY_SLACK_BYTES,
  LISTENER_DRAIN_MAX_MS,
  SHUTDOWN_EXPORT_RESERVE_MS,
  SHUTDOWN_FALLBACK_BUDGET_MS,
  SHUTDOWN_PLAUSIBLE_MAX_MS,
} from '../../src/constants.js';
import { setting } from '../../src/config/settings.js';

/** Lambda gives external extensions at most 2,000 ms at SHUTDOWN (Extensions API, Shutdown phase). */
const LAMBDA_SHUTDOWN_MAX_MS = 2_000;

describe('constants', () => {
  it('shutdown: the fallback budget, margin and export reserve fit in what Lambda gives', () => {
    expect(SHUTDOWN_FALLBACK_BUDGET_MS).toBeLessThan(LAMBDA_SHUTDOWN_MAX_MS);
    expect(DEADLINE_MARGIN_MS + SHUTDOWN_EXPORT_RESERVE_MS).toBeLessThan(
      SHUTDOWN_FALLBACK_BUDGET_MS
    );
    expect(SHUTDOWN_PLAUSIBLE_MAX_MS).toBeGreaterThan(LAMBDA_SHUTDOWN_MAX_MS);
    expect(setting('SHUTDOWN_WAIT_MS').max).toBeLessThanOrEqual(
      LAMBDA_SHUTDOWN_MAX_MS
    );
    expect(LISTENER_DRAIN_MAX_MS).toBeLessThanOrEqual(LAMBDA_SHUTDOWN_MAX_MS);
  });

  it('buffering defaults sit inside the Telemetry API limits', () => {
    for (const k of ['maxItems', 'maxBytes', 'timeoutMs'] as const) {
      expect(DEFAULT_BUFFERING[k]).toBeGreaterThanOrEqual(BUFFER_LIMITS[k].min);
      expect(DEFAULT_BUFFERING[k]).toBeLessThanOrEqual(BUFFER_LIMITS[k].max);
    }
    expect(LISTENER_BODY_SLACK_BYTES).toBeGreaterThan(0);
  });

  it('queue and request bounds: a full delivery and a batch fit in the queue', () => {
    expect(DEFAULT_MAX_QUEUE_EVENTS).toBeGreaterThanOrEqual(
      BUFFER_LIMITS.maxItems.max
    );
    expect(DEFAULT_MAX_QUEUE_EVENTS).toBeGreaterThanOrEqual(
      DEFAULT_MAX_EXPORT_BATCH_SIZE
    );
    expect(DEFAULT_MAX_QUEUE_BYTES).toBeGreaterThanOrEqual(
      DEFAULT_MAX_REQUEST_BYTES
    );
    expect(DEFAULT_MAX_QUEUE_BYTES).toBeGreaterThanOrEqual(
      BUFFER_LIMITS.maxBytes.max
    );
  });

  it('retry and export waits: the backoff grows, and waits stay under an export', () => {
    expect(DEFAULT_RETRY).toEqual({
      baseMs: DEFAULT_RETRY_BASE_MS,
      maxMs: DEFAULT_RETRY_MAX_MS,
    });
    expect(DEFAULT_RETRY_BASE_MS).toBeLessThanOrEqual(DEFAULT_RETRY_MAX_MS);
    expect(DEFAULT_RETRY_MAX_MS).toBeLessThan(DEFAULT_EXPORT_TIMEOUT_MS);
    expect(DEFAULT_INVOKE_EXPORT_WAIT_MS).toBeLessThan(
      DEFAULT_EXPORT_TIMEOUT_MS
    );
  });

  it('every integer default is inside its own range', () => {
    for (const name of [
      'EXPORT_TIMEOUT_MS',
      'INVOKE_EXPORT_WAIT_MS',
      'MAX_REQUEST_BYTES',
      'MAX_QUEUE_EVENTS',
      'MAX_QUEUE_BYTES',
      'RETRY_BASE_MS',
      'RETRY_MAX_MS',
      'MAX_EXPORT_BATCH_SIZE',
    ]) {
      const s = setting(name);
      expect(s.default as number, name).toBeGreaterThanOrEqual(s.min ?? 0);
      expect(s.default as number, name).toBeLessThanOrEqual(
        s.max ?? Number.MAX_SAFE_INTEGER
      );
    }
  });
});
