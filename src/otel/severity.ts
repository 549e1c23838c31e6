/**
 * The one table of log level names and OpenTelemetry severity numbers, read
 * by the receipt filter (lambda/filter.ts), the log mapper (otel/logs.ts),
 * the configuration's minimum severities (config/) and the emulator's
 * expectations. Imports nothing: the filter runs in the entry chunk, before
 * any OpenTelemetry package loads.
 *
 * Numbers: the OpenTelemetry log data model, "Field: SeverityNumber"
 * (https://opentelemetry.io/docs/specs/otel/logs/data-model/#field-severitynumber):
 * TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20, FATAL 21-24;
 * equal to `@opentelemetry/api`'s `SeverityNumber` enum.
 */

/** The severity numbers we use (OTel log data model). */
export const SEVERITY_NUMBER = {
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  INFO2: 10,
  WARN: 13,
  ERROR: 17,
  FATAL: 21,
  FATAL2: 22,
  FATAL3: 23,
} as const;

/**
 * Level names as loggers write them (upper case) to severity numbers. The
 * mapping of names other than OTel's own follows the data model's appendix
 * (syslog, java.util.logging, .NET, Serilog).
 */
export const SEVERITY_BY_NAME: Readonly<Record<string, number>> = {
  ALL: SEVERITY_NUMBER.TRACE,
  TRACE: SEVERITY_NUMBER.TRACE,
  TRCE: SEVERITY_NUMBER.TRACE, // .NET
  VERBOSE: SEVERITY_NUMBER.TRACE, // Serilog
  FINEST: SEVERITY_NUMBER.TRACE, // java.util.logging
  FINER: SEVERITY_NUMBER.TRACE,
  FINE: SEVERITY_NUMBER.DEBUG,
  DEBUG: SEVERITY_NUMBER.DEBUG,
  DBUG: SEVERITY_NUMBER.DEBUG, // .NET
  INFO: SEVERITY_NUMBER.INFO,
  INFORMATION: SEVERITY_NUMBER.INFO, // .NET, Serilog
  CONFIG: SEVERITY_NUMBER.INFO, // java.util.logging
  NOTICE: SEVERITY_NUMBER.INFO2,
  WARN: SEVERITY_NUMBER.WARN,
  WARNING: SEVERITY_NUMBER.WARN,
  ERROR: SEVERITY_NUMBER.ERROR,
  ERR: SEVERITY_NUMBER.ERROR,
  FAIL: SEVERITY_NUMBER.ERROR, // .NET
  SEVERE: SEVERITY_NUMBER.ERROR, // java.util.logging
  FATAL: SEVERITY_NUMBER.FATAL,
  CRITICAL: SEVERITY_NUMBER.FATAL,
  CRIT: SEVERITY_NUMBER.FATAL, // .NET
  ALERT: SEVERITY_NUMBER.FATAL2, // syslog
  EMERGENCY: SEVERITY_NUMBER.FATAL3,
  EMERG: SEVERITY_NUMBER.FATAL3,
};

/** pino / bunyan numeric levels (common in Node JSON logs) to level names. */
export const NUMERIC_LEVEL_NAME: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * The names a configured minimum (`..._MIN_SEVERITY`) may take: OTel's six
 * short names, plus WARNING. Each is also a key of SEVERITY_BY_NAME.
 */
export const MIN_SEVERITY_NAMES = [
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'WARNING',
  'ERROR',
  'FATAL',
] as const;

/**
 * The severity number of a level name (any case, surrounding space
 * ignored) or a pino/bunyan number; `undefined` for anything else.
 */
export function severityNumberOf(level: unknown): number | undefined {
  if (typeof level === 'string') {
    return SEVERITY_BY_NAME[level.trim().toUpperCase()];
  }
  if (typeof level === 'number') {
    const name = NUMERIC_LEVEL_NAME[level];
    return name === undefined ? undefined : SEVERITY_BY_NAME[name];
  }
  return undefined;
}

/**
 * The short name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) of a severity
 * number that starts its range; `undefined` for any other number.
 */
export function severityShortName(n: number): string | undefined {
  for (const name of ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']) {
    if (SEVERITY_BY_NAME[name] === n) return name;
  }
  return undefined;
}
