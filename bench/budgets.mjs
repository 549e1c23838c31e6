// Performance budgets (issue: Performance). A budget changes only with the
// reason in the commit message and in the closing note.

/** Our init may be at most this much slower than the minimal extension (ms). */
export const INIT_OVER_MINIMAL_MS = 15;
/** p99 of Lambda's extensionOverhead with the default flush policy (ms). */
export const OVERHEAD_P99_NEXT_INVOKE_MS = 2;
/** With `end`: the subscribed timeoutMs + the export's round trip + this (ms). */
export const OVERHEAD_END_SLACK_MS = 5;
/** Telemetry API events per second of extension CPU time. */
export const THROUGHPUT_MIN_EVENTS_PER_S = 100_000;
/** Peak RSS over a bare node process under 10,000-event batches (MiB). */
export const RSS_OVER_BARE_MIB = 30;
/** Under the flood the RSS must stay flat: the second half may grow by at most (MiB). */
export const FLOOD_RSS_GROWTH_MIB = 10;
/** Flushing 10,000 pending records at SHUTDOWN (ms). */
export const SHUTDOWN_FLUSH_MS = 500;
/** What loads before the first /next (bytes). */
export const ENTRY_CHUNK_BYTES = 50 * 1024;
/** All of the layer's JavaScript (bytes). */
export const LAYER_JS_BYTES = 1.5 * 1024 * 1024;
