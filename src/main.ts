/**
 * Entry point, run by the launcher as `node index.mjs <extension-name>`.
 * Wires configuration to the lifecycle and is the only place that exits.
 */
import {
  configFilePath,
  type LoadedConfig,
  loadConfig,
} from './config/config.js';
import { describeConfig } from './config/describe.js';
import { EXTENSION_NAME } from './constants.js';
import type { RegisterResult } from './lambda/extensions-api.js';
import { Lifecycle } from './lifecycle.js';
import type { Format } from './pipeline/pipeline.js';
import { createLogger } from './util/log.js';
import { keepYoungGenerationSmall } from './util/memory.js';

/**
 * The configuration, with the file if there is one. The YAML parser loads
 * only then: without a file, nothing of it is on the start-up path.
 */
async function configure(
  env: NodeJS.ProcessEnv
): Promise<LoadedConfig & { file: string | undefined }> {
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
    return { ...loaded, file: undefined };
  }
  const { parseConfigFile } = await import('./config/file.js');
  return { ...loadConfig(env, parseConfigFile(text, path, env)), file: path };
}

async function main(): Promise<number> {
  const { config, warnings, file } = await configure(process.env);
  const log = createLogger(config.logLevel);
  for (const w of warnings) log.warn(w);
  // Once, so a user can see which file was read and where each signal
  // goes; it reaches their backend too, so describeConfig keeps secrets out.
  log.info('effective configuration', { ...describeConfig(config, file) });

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

  // The OTLP exporters read OTEL_EXPORTER_OTLP_* from the environment
  // whatever they are given (ecosystem.md B.2b), and an extension inherits
  // the function's: often another vendor's endpoint and key. The
  // configuration has read what it needs; nothing else may see them.
  dropStandardOtelVariables(process.env);

  // Both formats load after the first /next: none of the mapping and
  // export stack is needed to register, and init is what every cold start
  // pays.
  const loadFormat = async (
    registration: RegisterResult | undefined
  ): Promise<Format> => {
    const format =
      config.dispatch.format === 'raw'
        ? await (await import('./formats/raw.js')).createRawFormat(config, log)
        : await (await import('./formats/otlp.js')).createOtlpFormat(
            config,
            registration,
            log
          );
    // After the modules have loaded: see memory.ts for why here.
    keepYoungGenerationSmall();
    return format;
  };

  const lifecycle = new Lifecycle({
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

/**
 * Removes the standard OpenTelemetry SDK variables (`OTEL_*`) from this
 * process's environment, in place. Called once the configuration has read
 * them: the exporters and SDK parts built later must not merge in the
 * function's headers, timeout, compression or certificates.
 */
export function dropStandardOtelVariables(env: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(env)) {
    if (key.startsWith('OTEL_')) delete env[key];
  }
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
