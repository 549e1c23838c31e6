/**
 * DISPATCH_FORMAT=raw wired up: the events as Lambda sent them, serialized
 * once on receipt (RawMapper), queued and batched by the Dispatcher (its
 * retries are the RETRY_* settings), and POSTed as one JSON array by the
 * undici exporter. Loaded after the first `/next`; undici loads only here.
 */
import type { Config } from '../config/config.js';
import { createRawJsonExporter } from '../export/raw-json.js';
import type { Emit } from '../map/mapper.js';
import { RawMapper } from '../map/raw.js';
import { Dispatcher, dispatchDue } from '../pipeline/dispatcher.js';
import type { Format } from '../pipeline/pipeline.js';
import { BoundedQueue } from '../pipeline/queue.js';
import type { Logger } from '../util/log.js';

/**
 * The raw format for `config`; its `pipeline` is undefined without
 * DISPATCH_POST_URI. No warnings of its own.
 */
export async function createRawFormat(
  config: Readonly<Config>,
  log: Logger
): Promise<Format> {
  const postUri = config.dispatch.postUri;
  if (postUri === undefined) return { pipeline: undefined, warnings: [] };
  const mapper = new RawMapper();
  const dispatcher = new Dispatcher<string>({
    queue: new BoundedQueue<string>(config.queue),
    maxRequestBytes: config.export.maxRequestBytes,
    maxBatchItems: config.export.maxBatchItems,
    log,
    retry: config.retry,
  });
  const exporter = createRawJsonExporter({
    url: postUri,
    timeoutMs: config.export.timeoutMs,
    // DISPATCH_POST_URI's headers (ours only, never the function's):
    // the config puts them on the logs target it derives from it.
    headers: config.otlp.logs?.headers ?? {},
    maxRequestBytes: config.export.maxRequestBytes,
  });
  dispatcher.setExporter(Promise.resolve(exporter));
  const enqueue: Emit<string> = (item) => dispatcher.enqueue(item);
  return {
    warnings: [],
    pipeline: {
      map: (event) => mapper.map(event, enqueue),
      seal: () => undefined,
      noteInvoke: () => undefined,
      get waitingEvents() {
        return dispatcher.queuedEvents;
      },
      // Requests finish or are aborted within each flush's deadline; those
      // cut at it (queued again) are what the receiver may or may not have.
      get inFlightEvents() {
        return dispatcher.abandonedEvents;
      },
      due: () =>
        dispatchDue(dispatcher.queuedEvents, config.dispatch.minBatchSize),
      async flush(deadlineMs, final) {
        await dispatcher.flush({
          deadlineMs,
          // SHUTDOWN is the last chance: retry until its deadline.
          ...(final ? { attempts: Number.POSITIVE_INFINITY } : {}),
        });
      },
      // Requests of this format can be aborted: none is left half-sent
      // across the freeze that may follow /next.
      settle: (deadlineMs) => dispatcher.settle(deadlineMs),
      // No ids are made in this format: only the connections matter.
      afterRestore: () => exporter.dropConnections?.(),
      reportDrops: (counts) => mapper.reportDrops(counts, enqueue),
      get stats() {
        const s = dispatcher.stats;
        return {
          sentEvents: s.sentEvents,
          rejectedEvents: s.rejectedEvents,
          overflowEvents: s.overflowEvents,
          discardedEvents: 0,
          failedExports: s.retryableFailures,
        };
      },
      get slowestExportMs() {
        return dispatcher.stats.slowestRequestMs;
      },
      shutdown: async () => undefined,
    },
  };
}
