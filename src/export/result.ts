/**
 * What an export attempt came to, and which failures are worth another
 * try: the same rules as the OpenTelemetry OTLP exporters (ecosystem.md B.2), so both formats behave
 * alike: throttling and gateway errors and network failures are transient;
 * any other status means this batch will never be accepted.
 */

/**
 * What one raw-format request came to (see above). `retryAfterMs` is the
 * receiver's Retry-After in ms.
 */
export type ExportResult =
  | { status: 'success' }
  /** The body would pass the request size bound: send the items in halves. */
  | { status: 'too-large' }
  | { status: 'retryable'; reason: string; retryAfterMs?: number }
  | { status: 'failure'; reason: string; httpStatus?: number };

/** What the pipeline needs of an exporter, whatever the format. */
export interface BatchExporter<T> {
  /**
   * Items of different channels (OTLP logs and traces) go in separate
   * requests; the dispatcher groups them. Absent: one channel.
   */
  channel?(item: T): string;
  /**
   * Sends `items` (one channel) as one request, finished or aborted by
   * `deadlineMs` or when `signal` aborts (both: retryable).
   */
  export(
    items: readonly T[],
    deadlineMs: number,
    signal?: AbortSignal
  ): Promise<ExportResult>;
  shutdown(): Promise<void>;
  /**
   * Closes every pooled connection; later exports open new ones (after a
   * SnapStart restore: sockets from before the snapshot are shared by every
   * restored copy).
   */
  dropConnections?(): void;
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * The result of an HTTP status: 2xx success; 429/502/503/504 retryable
 * (with Retry-After, as ms, when it parses); anything else a failure.
 */
export function resultForStatus(
  status: number,
  retryAfter?: string | string[] | undefined
): ExportResult {
  if (status >= 200 && status < 300) return { status: 'success' };
  if (RETRYABLE_STATUSES.has(status)) {
    const after = parseRetryAfter(
      Array.isArray(retryAfter) ? retryAfter[0] : retryAfter
    );
    return after === undefined
      ? { status: 'retryable', reason: `HTTP ${status}` }
      : { status: 'retryable', reason: `HTTP ${status}`, retryAfterMs: after };
  }
  return { status: 'failure', reason: `HTTP ${status}`, httpStatus: status };
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now()
): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1_000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Network-level failures (refused, reset, timed out, aborted at a deadline)
 * are transient: the batch stays queued for the next flush.
 */
export function resultForError(err: unknown): ExportResult {
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } })?.code ??
    (err as { cause?: { code?: unknown } })?.cause?.code;
  const name = (err as { name?: unknown })?.name;
  const reason =
    typeof code === 'string'
      ? code
      : typeof name === 'string'
        ? name
        : 'network error';
  return { status: 'retryable', reason };
}
