/**
 * Whether AWS's Node.js runtime interface client (`aws-lambda-ric`, an
 * optional dependency) is here and built: its install scripts compile a
 * native addon (curl and aws-lambda-cpp, with cmake, make and a C++
 * compiler) and build nothing on macOS or without a toolchain, in which case
 * `npm ci` still succeeds without it. Found or not, with the reason in one
 * line, so the demo can say why it falls back to the scripted runtime.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * findRuntimeClient's answer: `entry` the path of aws-lambda-ric's
 * index.mjs (what the function process runs) and its package `version`
 * (`?` if unreadable), or the `reason` it cannot be used, in one line.
 */
export type RuntimeClient =
  | { found: true; entry: string; version: string }
  | { found: false; reason: string };

let cached: RuntimeClient | undefined;

/**
 * Looks for aws-lambda-ric from `from` (a file URL or path; default this
 * module), checks its native addon loads in `nodePath` (default this Node:
 * the one that will run the function). Cached for the default arguments.
 */
export function findRuntimeClient(
  opts: { from?: string; nodePath?: string; platform?: string } = {}
): RuntimeClient {
  const useCache = Object.keys(opts).length === 0;
  if (useCache && cached) return cached;
  const result = look(opts);
  if (useCache) cached = result;
  return result;
}

function look(opts: {
  from?: string;
  nodePath?: string;
  platform?: string;
}): RuntimeClient {
  const platform = opts.platform ?? process.platform;
  if (platform !== 'linux') {
    return {
      found: false,
      reason: `aws-lambda-ric builds only on Linux (this is ${platform})`,
    };
  }
  let pkgPath: string;
  try {
    pkgPath = createRequire(opts.from ?? import.meta.url).resolve(
      'aws-lambda-ric/package.json'
    );
  } catch {
    return {
      found: false,
      reason:
        'aws-lambda-ric is not installed (npm skips it on Node 20, which its engines refuse: PATH="$PWD/node_modules/.bin:$PATH" npm install adds it; or its native build failed)',
    };
  }
  const dir = dirname(pkgPath);
  const addon = join(dir, 'rapid-client.node');
  if (!existsSync(addon)) {
    return {
      found: false,
      reason:
        'aws-lambda-ric is installed but its native addon was not built (its install scripts did not run)',
    };
  }
  // Loaded in a child, by the Node that will run the function: an addon
  // built for another Node, or one that crashes, only costs the check.
  const check = spawnSync(
    opts.nodePath ?? process.execPath,
    ['-e', `require(${JSON.stringify(addon)})`],
    {
      encoding: 'utf8',
      timeout: 10_000,
      // The addon reads the Runtime API address when it loads (and aborts
      // without one); nothing connects to it here.
      env: { ...process.env, AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' },
    }
  );
  if (check.status !== 0) {
    const why = (check.stderr || String(check.error ?? check.signal))
      .split('\n')
      .find((l) => /Error|error/.test(l));
    return {
      found: false,
      reason: `aws-lambda-ric's native addon does not load in Node ${process.versions.node}: ${why?.trim() ?? `exit ${String(check.status)}`}`,
    };
  }
  let version = '?';
  try {
    version = (createRequire(pkgPath)('./package.json') as { version: string })
      .version;
  } catch {
    // Only for display.
  }
  return { found: true, entry: join(dir, 'index.mjs'), version };
}
