/**
 * The configuration file: OpenTelemetry's declarative format
 * (`file_format: "1.0"`), of which we read `resource`, the `batch`
 * processors and `otlp_http` exporters of `logger_provider` and
 * `tracer_provider`, plus our own section `lambda_telemetry_otel`.
 *
 * The file is translated into the names of the variables it stands for
 * (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, our FLUSH, ...), so that one loader
 * (config.ts) validates everything the same way. `${VAR}` and
 * `${VAR:-default}` are substituted in scalar values only, as the
 * declarative spec says, and `$$` is a literal `$`.
 *
 * Loaded (with the YAML parser) only when a file exists.
 */
import { fileKeys } from './settings.js';
import { parseDocument } from 'yaml';

/**
 * A configuration file translated to the names of the variables it stands
 * for (see above), for `loadConfig` to validate.
 */
export interface FileSettings {
  /** Our settings, keyed like our variables without the prefix, plus DISPATCH_*. */
  ours: Record<string, string>;
  /** Standard settings, keyed like the OTEL_* variables they replace. */
  std: Record<string, string>;
  /** Where each key came from, for messages: `lambda_telemetry_otel.flush`. */
  origin: Record<string, string>;
  /** One clear line each. */
  problems: string[];
}

type Env = Readonly<Record<string, string | undefined>>;
type Obj = Record<string, unknown>;

/** Keys of our section, and the name each stands for (settings.ts). */
const OURS = fileKeys('lambda_telemetry_otel');
const DISPATCH = fileKeys('lambda_telemetry_otel.dispatch');

const SUBSTITUTION =
  /\$\$|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}/g;

/** `${VAR}`, `${env:VAR}`, `${VAR:-default}` and `$$`, in one scalar. */
export function substitute(
  value: string,
  env: Env,
  problems: string[],
  where: string
): string {
  return value.replace(
    SUBSTITUTION,
    (
      match,
      name: string | undefined,
      def: string | undefined,
      bad: string | undefined
    ) => {
      if (match === '$$') return '$';
      if (bad !== undefined) {
        // Not quoted: what sits between the braces may be a secret typed
        // in the wrong place, and this line reaches the backend.
        problems.push(
          `${where}: a \${...} that is not a valid substitution (a variable name: letters, digits and _, not starting with a digit); left as it is`
        );
        return match;
      }
      const v = env[name as string];
      return v !== undefined && v !== '' ? v : (def ?? '');
    }
  );
}

/**
 * Translates the file's `text` (YAML) at `path`, substituting from `env`.
 * Never throws: invalid YAML, a top level that is not a mapping, an unknown
 * key or a wrong shape is a line in `problems` (the rest is still read).
 */
export function parseConfigFile(
  text: string,
  path: string,
  env: Env
): FileSettings {
  const out: FileSettings = { ours: {}, std: {}, origin: {}, problems: [] };
  let doc: unknown;
  try {
    // Silent: the library's own warnings go to stderr with the source line,
    // which may hold a header value. Ours say where, never what.
    const parsed = parseDocument(text, {
      // prettyErrors: positions (linePos); its message is never quoted.
      prettyErrors: true,
      uniqueKeys: true,
      logLevel: 'silent',
    });
    const [error] = parsed.errors;
    if (error) {
      out.problems.push(
        `config file ${path}: not valid YAML at ${position(error.linePos)} (${error.code}; a value that starts with !, *, &, @ or % must be quoted)`
      );
      return out;
    }
    for (const w of parsed.warnings) {
      // A tag (!x) or similar changed a value: said, and the file is not
      // used rather than sending a wrong header.
      out.problems.push(
        `config file ${path}: ${position(w.linePos)} (${w.code}): a value that starts with ! or % is read as a YAML tag or directive; quote it`
      );
    }
    if (parsed.warnings.length > 0) return out;
    doc = parsed.toJS();
  } catch {
    // toJS() throws for an alias (*x) that names no anchor; its message
    // quotes the value.
    out.problems.push(
      `config file ${path}: not valid YAML (an alias that names no anchor: a value that starts with * must be quoted)`
    );
    return out;
  }
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    out.problems.push(`config file ${path}: the top level must be a mapping`);
    return out;
  }
  const root = substituteAll(doc as Obj, env, out.problems, path) as Obj;

  const fileFormat = root.file_format;
  if (
    fileFormat !== undefined &&
    String(fileFormat) !== '1.0' &&
    !String(fileFormat).startsWith('1.0')
  ) {
    out.problems.push(
      `config file ${path}: file_format ${JSON.stringify(fileFormat)} is not 1.0; read as 1.0`
    );
  }

  const set = (
    target: 'ours' | 'std',
    key: string,
    value: unknown,
    origin: string
  ): void => {
    if (value === undefined || value === null) return;
    let text: string;
    if (Array.isArray(value)) text = value.map((v) => String(v)).join(',');
    else if (typeof value === 'object') {
      out.problems.push(
        `config file ${path}: ${origin} must be a scalar or a list`
      );
      return;
    } else text = String(value);
    // The explicit key of our section wins over a mapped standard one.
    if (target === 'ours' && out.ours[key] !== undefined) return;
    out[target][key] = text;
    out.origin[key] = `${origin} in ${path}`;
  };

  // Our own section first: it wins over the batch-processor mapping below.
  const ours = root.lambda_telemetry_otel;
  if (ours !== undefined) {
    if (!isObj(ours)) {
      out.problems.push(
        `config file ${path}: lambda_telemetry_otel must be a mapping`
      );
    } else {
      for (const [k, v] of Object.entries(ours)) {
        if (k === 'dispatch' && isObj(v)) {
          for (const [dk, dv] of Object.entries(v)) {
            const name = DISPATCH[dk];
            if (name)
              set('ours', name, dv, `lambda_telemetry_otel.dispatch.${dk}`);
            else
              out.problems.push(
                `config file ${path}: unknown key lambda_telemetry_otel.dispatch.${dk}; ignored`
              );
          }
          continue;
        }
        const name = OURS[k];
        if (name === undefined) {
          out.problems.push(
            `config file ${path}: unknown key lambda_telemetry_otel.${k}; ignored`
          );
          continue;
        }
        if (name === 'HEADERS') {
          set(
            'ours',
            name,
            nameValueList(v, `lambda_telemetry_otel.${k}`, path, out.problems),
            `lambda_telemetry_otel.${k}`
          );
        } else {
          set('ours', name, v, `lambda_telemetry_otel.${k}`);
        }
      }
    }
  }

  const resource = root.resource;
  if (isObj(resource)) {
    const list = nameValueList(
      resource.attributes,
      'resource.attributes',
      path,
      out.problems
    );
    const parts = list === '' ? [] : [list];
    if (
      typeof resource.attributes_list === 'string' &&
      resource.attributes_list.trim() !== ''
    ) {
      parts.unshift(resource.attributes_list.trim());
    }
    if (parts.length > 0)
      set(
        'std',
        'OTEL_RESOURCE_ATTRIBUTES',
        parts.join(','),
        'resource.attributes'
      );
  }

  for (const [provider, signal] of [
    ['logger_provider', 'LOGS'],
    ['tracer_provider', 'TRACES'],
  ] as const) {
    const p = root[provider];
    if (p === undefined) continue;
    const processors = isObj(p) ? p.processors : undefined;
    if (!Array.isArray(processors)) {
      out.problems.push(
        `config file ${path}: ${provider}.processors must be a list`
      );
      continue;
    }
    processors.forEach((proc, i) => {
      const at = `${provider}.processors[${i}]`;
      const batch = isObj(proc) ? (proc.batch ?? proc.simple) : undefined;
      if (!isObj(batch)) {
        out.problems.push(
          `config file ${path}: ${at} has no batch processor; ignored`
        );
        return;
      }
      // The standard batch keys map onto our processor.
      set(
        'ours',
        'FLUSH_INTERVAL_MS',
        batch.schedule_delay,
        `${at}.batch.schedule_delay`
      );
      set(
        'ours',
        'EXPORT_TIMEOUT_MS',
        batch.export_timeout,
        `${at}.batch.export_timeout`
      );
      set(
        'ours',
        'MAX_QUEUE_EVENTS',
        batch.max_queue_size,
        `${at}.batch.max_queue_size`
      );
      set(
        'ours',
        'MAX_EXPORT_BATCH_SIZE',
        batch.max_export_batch_size,
        `${at}.batch.max_export_batch_size`
      );
      const exporter = isObj(batch.exporter) ? batch.exporter : undefined;
      const http =
        exporter && isObj(exporter.otlp_http) ? exporter.otlp_http : undefined;
      if (!http) {
        out.problems.push(
          `config file ${path}: ${at}.batch.exporter has no otlp_http exporter; ignored`
        );
        return;
      }
      readOtlpHttp(http, signal, `${at}.batch.exporter.otlp_http`);
    });
  }

  // Metrics: the exporter of each reader (the declarative format's
  // `meter_provider.readers[].periodic.exporter.otlp_http`). Its interval
  // is not ours to keep: metrics are collected with the flushes (README,
  // Metrics).
  const meters = root.meter_provider;
  if (meters !== undefined) {
    const readers = isObj(meters) ? meters.readers : undefined;
    if (!Array.isArray(readers)) {
      out.problems.push(
        `config file ${path}: meter_provider.readers must be a list`
      );
    } else {
      let used: string | undefined;
      readers.forEach((reader, i) => {
        const at = `meter_provider.readers[${i}]`;
        // One metrics exporter: the first reader's; a later one (valid or
        // not) must not replace it.
        if (used !== undefined) {
          out.problems.push(
            `config file ${path}: ${at} ignored: only the first reader (${used}) is used`
          );
          return;
        }
        const periodic = isObj(reader) ? reader.periodic : undefined;
        const exporter =
          isObj(periodic) && isObj(periodic.exporter)
            ? periodic.exporter
            : undefined;
        const http =
          exporter && isObj(exporter.otlp_http)
            ? exporter.otlp_http
            : undefined;
        if (!http) {
          out.problems.push(
            `config file ${path}: ${at} has no periodic reader with an otlp_http exporter; ignored`
          );
          return;
        }
        const otlpAt = `${at}.periodic.exporter.otlp_http`;
        used = at;
        readOtlpHttp(http, 'METRICS', otlpAt);
        set(
          'std',
          'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
          http.temporality_preference,
          `${otlpAt}.temporality_preference`
        );
      });
    }
  }
  return out;

  /** One `otlp_http` exporter's fields, as the variables of `signal`. */
  function readOtlpHttp(
    http: Obj,
    signal: 'LOGS' | 'TRACES' | 'METRICS',
    at: string
  ): void {
    set(
      'std',
      `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`,
      http.endpoint,
      `${at}.endpoint`
    );
    const headers = [
      nameValueList(http.headers, `${at}.headers`, path, out.problems),
      typeof http.headers_list === 'string' ? http.headers_list : '',
    ]
      .filter((h) => h !== '')
      .join(',');
    if (headers !== '')
      set(
        'std',
        `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
        headers,
        `${at}.headers`
      );
    shared(
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      http.compression,
      `${at}.compression`
    );
    shared('OTEL_EXPORTER_OTLP_TIMEOUT', http.timeout, `${at}.timeout`);
    set(
      'std',
      `OTEL_EXPORTER_OTLP_${signal}_CERTIFICATE`,
      http.certificate_file ?? http.certificate,
      `${at}.certificate_file`
    );
    if (http.encoding !== undefined) {
      const e = String(http.encoding).toLowerCase();
      const protocol =
        e === 'json' ? 'http/json' : e === 'protobuf' ? 'http/protobuf' : e;
      shared('OTEL_EXPORTER_OTLP_PROTOCOL', protocol, `${at}.encoding`);
    }
  }

  /**
   * A setting every signal shares (one protocol, compression and timeout
   * for all exports): the first exporter that gives it wins, and another
   * that gives a different value is said rather than silently changing
   * the signals before it.
   */
  function shared(key: string, value: unknown, origin: string): void {
    if (value === undefined || value === null) return;
    const first = out.origin[key];
    if (out.std[key] !== undefined && first !== undefined) {
      if (String(value).toLowerCase() !== out.std[key]?.toLowerCase())
        out.problems.push(
          `config file ${path}: ${origin} differs from ${first}, which is used (one value for every signal)`
        );
      return;
    }
    set('std', key, value, origin);
  }
}

/** `line L, column C` of a YAML position, for messages. */
function position(
  linePos: readonly { line: number; col: number }[] | undefined
): string {
  const p = linePos?.[0];
  return p ? `line ${p.line}, column ${p.col}` : 'an unknown position';
}

/**
 * `[{name, value}]` (resource attributes, headers) as `k=v,...`, values
 * percent-encoded. Messages may quote a name, never a value: values are
 * secrets when they are headers.
 */
function nameValueList(
  v: unknown,
  at: string,
  path: string,
  problems: string[]
): string {
  if (v === undefined || v === null) return '';
  if (!Array.isArray(v)) {
    problems.push(`config file ${path}: ${at} must be a list of {name, value}`);
    return '';
  }
  const parts: string[] = [];
  for (const h of v) {
    if (
      isObj(h) &&
      typeof h.name === 'string' &&
      // A scalar: a mapping or a list would be sent as "[object Object]".
      ['string', 'number', 'boolean'].includes(typeof h.value)
    ) {
      parts.push(
        `${encodeURIComponent(h.name)}=${encodeURIComponent(String(h.value))}`
      );
    } else {
      const name =
        isObj(h) && typeof h.name === 'string'
          ? ` (${JSON.stringify(h.name)})`
          : '';
      problems.push(
        `config file ${path}: ${at} entry${name} needs a name and a scalar value; skipped`
      );
    }
  }
  return parts.join(',');
}

function substituteAll(
  v: unknown,
  env: Env,
  problems: string[],
  path: string
): unknown {
  if (typeof v === 'string')
    return substitute(v, env, problems, `config file ${path}`);
  if (Array.isArray(v))
    return v.map((x) => substituteAll(x, env, problems, path));
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v))
      out[k] = substituteAll(x, env, problems, path);
    return out;
  }
  return v;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
