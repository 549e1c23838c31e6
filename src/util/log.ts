/**
 * The extension's own log: one JSON line per entry on stdout.
 *
 * Lambda sends everything an extension writes back through the Telemetry API
 * `extension` stream, which we subscribe to by default. So nothing on the
 * per-batch path may log unconditionally: repeated messages go through
 * `limited()`, which caps each key for the life of the process.
 */

/**
 * The extension's own levels, lowest first; `silent` prints nothing
 * (LAMBDA_TELEMETRY_OTEL_LOG_LEVEL, README settings).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 100,
};

/** How many times one rate-limited key may print before it goes quiet. */
export const MAX_REPEATS_PER_KEY = 5;

/** Extra keys merged into the JSON line after `level`, `ext` and `msg`. */
export type LogFields = Record<string, unknown>;

/**
 * The extension's log. A line below `level` is not written; nothing throws
 * (a field that cannot be serialised is left out, a broken stdout ignored).
 */
export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /**
   * Logs at most MAX_REPEATS_PER_KEY times for `key` over the process
   * lifetime; the last one allowed says that later ones are suppressed.
   */
  limited(
    level: Exclude<LogLevel, 'silent'>,
    key: string,
    msg: string,
    fields?: LogFields
  ): void;
}

/**
 * A logger that writes lines at `level` and above through `write` (stdout by
 * default), each `{"level","ext":name,"msg",...fields}` plus a newline. The
 * `limited()` counts live in this logger, for the life of the process.
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => {
    process.stdout.write(line);
  },
  name = 'lambda-telemetry-otel'
): Logger {
  const counts = new Map<string, number>();
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < RANK[level]) return;
    let line: string;
    try {
      line = JSON.stringify({ level: lvl, ext: name, msg, ...fields });
    } catch {
      line = JSON.stringify({ level: lvl, ext: name, msg });
    }
    try {
      write(`${line}\n`);
    } catch {
      // stdout gone (EPIPE at shutdown): nothing useful left to do.
    }
  };
  const logger: Logger = {
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    limited(lvl, key, msg, fields) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n > MAX_REPEATS_PER_KEY) return;
      emit(
        lvl,
        n === MAX_REPEATS_PER_KEY ? `${msg} (further ones not logged)` : msg,
        fields
      );
    },
  };
  return logger;
}
