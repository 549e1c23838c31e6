/**
 * Entry point, run by the launcher as `node index.mjs <extension-name>`.
 * Wires configuration to the lifecycle and is the only place that exits.
 */
import {
  configFilePath,
  type LoadedConfig,
  loadConfig,
} from './config/config.js';
import { EXTENSION_NAME } from './constants.js';
import { type Format, Lifecycle } from './lifecycle.js';
import { RawMapper } from './map/raw.js';
import { createLogger } from './util/log.js';
import { keepYoungGenerationSmall } from './util/memory.js';

/**
 * The configuration, with the file if there is one. The YAML parser loads
 * only then: without a file, nothing of it is on the start-up path.
 */
async function configure(env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  const { path, explicit } = configFilePath(env);
  const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const loaded = loadConfig(env);
    if (explicit) {
      loaded.warnings.unshift(
        `config file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); using the environment only`
      );
    }
    return loaded;
  }
  const { parseConfigFile } = await import('./config/file.js');
  return loadConfig(env, parseConfigFile(text, path, env));
}

async function main(): Promise<number> {
  const { config, warnings } = await configure(process.env);
  const log = createLogger(config.logLevel);
  for (const w of warnings) log.warn(w);

  const runtimeApi = config.runtimeApi;
  if (!runtimeApi) {
    log.error('AWS_LAMBDA_RUNTIME_API is not set: not running under Lambda');
    return 1;
  }

  // A telemetry tool must never take the function down: an extension that
  // dies during an invocation fails it and resets the environment. Anything
  // that escapes is logged (capped) and the process carries on.
  process.on('uncaughtException', (err) =>
    log.limited('error', 'uncaught', 'uncaught exception', {
      error: String(err),
    })
  );
  process.on('unhandledRejection', (err) =>
    log.limited('error', 'unhandled', 'unhandled rejection', {
      error: String(err),
    })
  );

  // Both formats load after the first /next: none of the mapping and
  // encoding is needed to register, and init is what every cold start pays.
  const importFormat = async (): Promise<Format<unknown>> => {
    if (config.dispatch.format === 'raw') {
      const postUri = config.dispatch.postUri;
      if (postUri === undefined)
        return { mapper: new RawMapper(), exporter: undefined };
      const { createRawJsonExporter } = await import('./export/raw-json.js');
      return {
        mapper: new RawMapper(),
        exporter: createRawJsonExporter({
          url: postUri,
          timeoutMs: config.export.timeoutMs,
          maxRequestBytes: config.export.maxRequestBytes,
        }),
      } as Format<unknown>;
    }
    const { createOtlpFormat } = await import('./otel/format.js');
    return (await createOtlpFormat(
      config,
      lifecycle.registration
    )) as Format<unknown>;
  };
  const loadFormat = async (): Promise<Format<unknown>> => {
    const format = await importFormat();
    // After the modules have loaded: see memory.ts for why here.
    keepYoungGenerationSmall();
    return format;
  };

  const lifecycle: Lifecycle<unknown> = new Lifecycle<unknown>({
    config,
    extensionName: process.argv[2] || EXTENSION_NAME,
    runtimeApi,
    log,
    loadFormat,
    configProblems: warnings,
  });
  // Lambda sends SHUTDOWN, but a local runner (or a human) sends SIGTERM.
  process.once('SIGTERM', () => lifecycle.requestShutdown('SIGTERM'));
  process.once('SIGINT', () => lifecycle.requestShutdown('SIGINT'));
  return lifecycle.run();
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stdout.write(
      `${JSON.stringify({ level: 'error', ext: EXTENSION_NAME, msg: 'fatal', error: String(err) })}\n`
    );
    process.exit(1);
  }
);
