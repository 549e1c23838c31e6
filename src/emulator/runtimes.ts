/**
 * Function log records as the Python and .NET managed runtimes write them,
 * byte for byte, so the emulator can speak as those functions. Each shape
 * is taken from the runtime's public source (cited per function); the
 * Telemetry API passes a TEXT record as the string the runtime framed, and
 * a JSON-format record as the parsed object (lambda-apis.md §3.3).
 */

/** An ISO time as the runtimes print it: milliseconds, `Z`. */
const isoMs = (ms: number): string => new Date(ms).toISOString();

/**
 * Python, Text format: `[LEVEL]\ttime\trequestId\tmessage\n`
 * (aws-lambda-python-runtime-interface-client, awslambdaric/bootstrap.py
 * `_setup_logging`: `"[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"`,
 * `time.gmtime`). Levels: DEBUG, INFO, WARNING, ERROR, CRITICAL.
 */
export function pythonText(
  level: string,
  timeMs: number,
  requestId: string,
  message: string
): string {
  return `[${level}]\t${isoMs(timeMs)}\t${requestId}\t${message}\n`;
}

/**
 * Python, JSON format (awslambdaric/lambda_runtime_log_utils.py
 * `JsonFormatter`): timestamp, level, message, logger, requestId, then the
 * record's extra keys; None values left out.
 */
export function pythonJson(
  level: string,
  timeMs: number,
  requestId: string,
  message: string,
  extra: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    timestamp: isoMs(timeMs),
    level,
    message,
    logger: 'root',
    requestId,
    ...extra,
  };
}

/** The warning before Python's unhandled-error record (lambda_literals.py). */
export const PYTHON_UNHANDLED_WARNING =
  'LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, runtime updates can be triggered by a function change, or can be applied automatically. To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html';

/** An unhandled Python exception, in the fields awslambdaric reports. */
export interface PythonError {
  errorType: string;
  errorMessage: string;
  /** `traceback.format_list` entries: `  File "...", line N, in f\n    code\n`. */
  stackTrace: string[];
}

/**
 * Python's unhandled exception, Text format: the `logging.warning` of
 * PYTHON_UNHANDLED_WARNING, then `log_error`'s record: `[ERROR] Type: msg`,
 * `Traceback (most recent call last):`, each frame line with its leading
 * spaces turned into U+00A0, joined by `\n` (FramedTelemetryLogSink
 * `log_error`; bootstrap.py `replace_line_indentation`). The error record
 * has no time and no request id.
 */
export function pythonUnhandledText(
  timeMs: number,
  requestId: string,
  e: PythonError
): [string, string] {
  const lines = [`[ERROR] ${e.errorType}: ${e.errorMessage}`];
  lines.push('Traceback (most recent call last):');
  for (const frame of e.stackTrace) {
    for (const line of frame.split('\n')) {
      if (line === '') continue;
      const indent = line.length - line.trimStart().length;
      lines.push('\u00a0'.repeat(indent) + line.slice(indent));
    }
  }
  return [
    pythonText('WARNING', timeMs, requestId, PYTHON_UNHANDLED_WARNING),
    lines.join('\n'),
  ];
}

/**
 * Python's unhandled exception, JSON format: the warning as a JSON record,
 * then `log_error`'s `{timestamp, log_level: "ERROR", errorMessage,
 * errorType, requestId, stackTrace}`: time `%Y-%m-%dT%H:%M:%S` (no
 * fraction, no zone) and no `message`. Older awslambdaric releases name the
 * level `log_level` (the form public bug reports show); newer ones `level`.
 */
export function pythonUnhandledJson(
  timeMs: number,
  requestId: string,
  e: PythonError
): [Record<string, unknown>, Record<string, unknown>] {
  return [
    pythonJson('WARNING', timeMs, requestId, PYTHON_UNHANDLED_WARNING),
    {
      timestamp: isoMs(timeMs).slice(0, 19),
      log_level: 'ERROR',
      errorMessage: e.errorMessage,
      errorType: e.errorType,
      requestId,
      stackTrace: e.stackTrace,
    },
  ];
}

/** .NET's level labels in the text format (DefaultLogMessageFormatter). */
export const DOTNET_TEXT_LEVELS = {
  Trace: 'trce',
  Debug: 'dbug',
  Information: 'info',
  Warning: 'warn',
  Error: 'fail',
  Critical: 'crit',
} as const;
/** A .NET LogLevel name, Trace .. Critical (DOTNET_TEXT_LEVELS's keys). */
export type DotnetLevel = keyof typeof DOTNET_TEXT_LEVELS;

/**
 * .NET, Text format: `time\trequestId\tlevel\tmessage`, the level
 * abbreviated, an exception's ToString() after a `\n`
 * (aws-lambda-dotnet, Amazon.Lambda.RuntimeSupport/Helpers/Logging/
 * DefaultLogMessageFormatter.cs; time `yyyy-MM-ddTHH:mm:ss.fffZ`,
 * AbstractLogMessageFormatter.DateFormat).
 */
export function dotnetText(
  level: DotnetLevel,
  timeMs: number,
  requestId: string,
  message: string,
  exception?: string
): string {
  const text = exception
    ? message
      ? `${message}\n${exception}`
      : exception
    : message;
  return `${isoMs(timeMs)}\t${requestId}\t${DOTNET_TEXT_LEVELS[level]}\t${text}`;
}

/**
 * .NET, JSON format (JsonLogMessageFormatter.cs): timestamp, level (the
 * full name), requestId, traceId, message, the template's properties, and
 * for an exception errorType, errorMessage and stackTrace (its ToString()
 * split at `\n`, each line trimmed).
 */
export function dotnetJson(
  level: DotnetLevel,
  timeMs: number,
  requestId: string,
  message: string,
  props: Record<string, unknown> = {},
  exception?: { type: string; message: string; toString: string }
): Record<string, unknown> {
  return {
    timestamp: isoMs(timeMs),
    level,
    requestId,
    message,
    ...props,
    ...(exception
      ? {
          errorType: exception.type,
          errorMessage: exception.message,
          stackTrace: exception.toString.split('\n').map((l) => l.trim()),
        }
      : {}),
  };
}
