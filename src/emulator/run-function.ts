/**
 * Real functions under the emulator: the user's handler (`--function`), or
 * the demo's own (examples/function), run by AWS's Node.js runtime
 * interface client with the extension beside it. Where the client is not
 * built, the demo keeps the scripted runtime (scenario.ts) and says why.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type EmulatorOptions,
  type FunctionOptions,
  LambdaEmulator,
} from './emulator.js';
import { findRuntimeClient } from './runtime-client.js';
import {
  emitLogsDropped,
  runScenario,
  type ScenarioOptions,
} from './scenario.js';

/** The demo's handler, beside the package (dist/emulator -> ../../examples). */
export const EXAMPLE_FUNCTION = fileURLToPath(
  new URL('../../examples/function/index.mjs', import.meta.url)
);
/** The demo's event (examples/function/event.json), beside its handler. */
export const EXAMPLE_EVENT = fileURLToPath(
  new URL('../../examples/function/event.json', import.meta.url)
);

/**
 * `path/to/handler.mjs[:exportName]` or a folder (handler from `_HANDLER`,
 * else `index.handler`) -> Lambda's LAMBDA_TASK_ROOT and `_HANDLER`.
 */
export function resolveHandler(
  spec: string,
  env: Record<string, string | undefined> = process.env
): { taskRoot: string; handler: string } {
  // A trailing `:name` is the export (a Windows drive letter is not: Linux only).
  const m = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(spec);
  const path = resolve(m?.[1] ?? spec);
  const exportName = m?.[2] ?? 'handler';
  if (!existsSync(path)) throw new Error(`no function at ${path}`);
  if (statSync(path).isDirectory()) {
    return { taskRoot: path, handler: env._HANDLER ?? 'index.handler' };
  }
  const file = basename(path, extname(path));
  return { taskRoot: dirname(path), handler: `${file}.${exportName}` };
}

/** Reads an event file: JSON, passed to the function as written. */
export function readEvent(path: string | undefined): string {
  if (path === undefined) return '{}';
  const text = readFileSync(resolve(path), 'utf8');
  JSON.parse(text); // a broken file is the user's to fix, said before any run
  return text;
}

/**
 * runFunction's options: the emulator's, with the real function's
 * (`runtimeClient` left out: findRuntimeClient's, else runFunction throws).
 */
export interface RunFunctionOptions extends Omit<EmulatorOptions, 'function'> {
  function: Omit<FunctionOptions, 'runtimeClient'> & {
    runtimeClient?: string;
  };
  /** One event (JSON text) per invocation. */
  events: string[];
}

/**
 * One environment's life for a real function: init, each event in turn
 * (after a reset, a suppressed init first, as Lambda does), SHUTDOWN.
 */
export async function runFunction(
  opts: RunFunctionOptions
): Promise<LambdaEmulator> {
  const emu = new LambdaEmulator({
    ...opts,
    function: { ...opts.function, runtimeClient: runtimeClientOrThrow(opts) },
  });
  await emu.start();
  try {
    await emu.launch();
    for (const event of opts.events) {
      if (!emu.running) await emu.launch({ phase: 'invoke' });
      await emu.invoke({ event });
    }
    if (emu.running) await emu.shutdown('spindown');
  } finally {
    await emu.close();
  }
  return emu;
}

function runtimeClientOrThrow(opts: RunFunctionOptions): string {
  if (opts.function.runtimeClient) return opts.function.runtimeClient;
  const rc = findRuntimeClient();
  if (!rc.found) throw new Error(`cannot run a real function: ${rc.reason}`);
  return rc.entry;
}

/**
 * The demo with the real runtime client: the example function in the Text
 * format (a cold start, invocations, a thrown error, a timeout and its
 * reset), then in the JSON format (the suppressed init, a logsDropped,
 * SHUTDOWN), then a SnapStart restore.
 */
export async function runFunctionScenario(
  opts: ScenarioOptions & { runtimeClient: string }
): Promise<LambdaEmulator> {
  const { taskRoot, handler } = resolveHandler(EXAMPLE_FUNCTION);
  const event = readEvent(EXAMPLE_EVENT);
  const emu = new LambdaEmulator({
    ...opts,
    function: {
      runtimeClient: opts.runtimeClient,
      taskRoot,
      handler,
      logFormat: 'Text',
      logLevel: 'DEBUG',
    },
  });
  await emu.start();
  try {
    await emu.launch({ logFormat: 'Text' });
    for (let i = 0; i < (opts.invocations ?? 5); i++)
      await emu.invoke({ event });
    await emu.invoke({
      event: JSON.stringify({ orderId: 'o-18', fail: 'insufficient funds' }),
    });
    await emu.invoke({
      timeoutMs: opts.timeoutMs ?? 300,
      event: JSON.stringify({ orderId: 'o-19', slowMs: 5_000 }),
    });
    if (emu.running) await emu.shutdown('timeout');
    await emu.launch({ phase: 'invoke', logFormat: 'JSON' });
    await emu.invoke({ event });
    emu.thaw();
    emitLogsDropped(emu);
    await emu.invoke({
      event: JSON.stringify({ orderId: 'o-20', fail: 'card expired' }),
    });
    await emu.shutdown('spindown');
    await emu.launch({
      initializationType: 'snap-start',
      restore: true,
      logFormat: 'JSON',
    });
    await emu.invoke({ event });
    await emu.shutdown('spindown');
  } finally {
    await emu.close();
  }
  return emu;
}

/**
 * What `npm start` runs: the user's function when asked (`--function`,
 * `--event`), else the demo, with the real runtime client where it is
 * built and the scripted runtime elsewhere. `say` gets one line on which.
 */
export async function runDemo(
  args: { function?: string; event?: string; invocations: number },
  base: ScenarioOptions,
  say: (line: string) => void
): Promise<LambdaEmulator> {
  const rc = findRuntimeClient();
  if (args.function !== undefined) {
    if (!rc.found) throw new Error(`cannot run ${args.function}: ${rc.reason}`);
    const fn = resolveHandler(args.function);
    const event = readEvent(args.event);
    say(
      `  function  ${fn.taskRoot} (_HANDLER=${fn.handler}) under aws-lambda-ric ${rc.version}, ${args.invocations} invocation(s)`
    );
    return runFunction({
      ...base,
      function: { ...fn, runtimeClient: rc.entry },
      events: Array.from({ length: args.invocations }, () => event),
    });
  }
  if (!rc.found) {
    say(`  runtime   scripted: ${rc.reason}`);
    return runScenario(base);
  }
  say(
    `  function  examples/function under aws-lambda-ric ${rc.version} (Text, then JSON log format)`
  );
  return runFunctionScenario({ ...base, runtimeClient: rc.entry });
}
