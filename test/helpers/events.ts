/**
 * Telemetry API event types whose events go into spans: their platform log
 * lines ride along and count no event (README, counting).
 */
export const IN_SPANS: ReadonlySet<string> = new Set([
  'platform.start',
  'platform.runtimeDone',
  'platform.report',
  'platform.initStart',
  'platform.initRuntimeDone',
  'platform.initReport',
  'lambda-telemetry-otel.drops',
]);
