import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach } from 'vitest';
import {
  LambdaEmulator,
  type EmulatorOptions,
} from '../../src/emulator/emulator.js';
import { Sink } from '../../src/emulator/sink.js';

export { freePort } from './net.js';

/** The built layer's launcher, as Lambda would find it in /opt/extensions. */
export const LAUNCHER = resolve('dist/layer/extensions/lambda-telemetry-otel');
if (!existsSync(LAUNCHER)) {
  throw new Error(
    `${LAUNCHER} is missing: run npm run build (npm test does it)`
  );
}

/** Short waits so the suite stays fast; production defaults are larger. */
export const FAST_ENV = {
  LAMBDA_TELEMETRY_OTEL_LISTENER_HOST: '127.0.0.1',
  LAMBDA_TELEMETRY_OTEL_EXPORT_TIMEOUT_MS: '1000',
};

export interface Harness {
  emu: LambdaEmulator;
  sink: Sink;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/**
 * A receiver and an emulator for the built layer. `env` may be a function
 * of the receiver's URL, for settings that must name it.
 */
export async function harness(
  env: Env | ((sinkUrl: string) => Env) = {},
  opts: Partial<EmulatorOptions> = {}
): Promise<Harness> {
  const sink = new Sink();
  const url = await sink.start();
  const extra = typeof env === 'function' ? env(url) : env;
  const emu = new LambdaEmulator({
    extensionPath: LAUNCHER,
    captureExtensionOutput: false,
    ...opts,
    // The raw format: these tests compare events JSON-for-JSON.
    env: {
      DISPATCH_POST_URI: url,
      DISPATCH_FORMAT: 'raw',
      ...FAST_ENV,
      ...extra,
    },
  });
  await emu.start();
  return {
    emu,
    sink,
    async close() {
      await emu.close();
      await sink.close();
    },
  };
}

/** Serialized function/platform events the emulator emitted, from delivery logs. */
export function emitted(emu: LambdaEmulator, type?: string): string[] {
  return emu.deliveries.flatMap((d) =>
    d.log.filter((l) => (type ? l.type === type : true)).map((l) => l.json)
  );
}

/** The extension's own JSON log lines. */
export function ownLogs(emu: LambdaEmulator): Record<string, unknown>[] {
  return emu.output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/**
 * `start` for one test file: each harness it makes is closed after the test
 * that made it.
 */
export function harnesses(): (
  ...args: Parameters<typeof harness>
) => Promise<Harness> {
  const open: Harness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });
  return async (...args) => {
    const h = await harness(...args);
    open.push(h);
    return h;
  };
}
