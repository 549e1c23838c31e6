/**
 * The layer as Lambda sees it: the launcher picks a Node, refuses an old one
 * with one clear line, keeps the function's NODE_OPTIONS out, and the zip
 * keeps the launcher executable.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaEmulator } from '../../src/emulator/emulator.js';
import { FAST_ENV, LAUNCHER } from '../helpers/layer.js';

const NODE22_DIR = resolve('node_modules/node/bin');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
};
const [minMajor, minMinor] = (/>=\s*(\d+)\.(\d+)/.exec(pkg.engines.node) ?? [])
  .slice(1)
  .map(Number) as [number, number];

const emus: LambdaEmulator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(emus.splice(0).map((e) => e.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function launchWith(
  extensionPath: string,
  env: Record<string, string | undefined>
) {
  const emu = new LambdaEmulator({
    extensionPath,
    captureExtensionOutput: false,
    initTimeoutMs: 5_000,
    baseEnv: {},
    env: { ...FAST_ENV, ...env },
  });
  emus.push(emu);
  await emu.start();
  const launch = await emu.launch();
  return { emu, launch };
}

/** The first `node` on a PATH without npm's additions. */
function systemNode(): { path: string; version: string } | undefined {
  for (const dir of ['/usr/local/bin', '/usr/bin', '/bin']) {
    const path = join(dir, 'node');
    if (existsSync(path)) {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' })
        .trim()
        .slice(1);
      return { path, version };
    }
  }
  return undefined;
}

function olderThanEngines(version: string): boolean {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return major < minMajor || (major === minMajor && minor < minMinor);
}

describe('launcher', () => {
  it('runs on the Node that a plain PATH offers, or refuses it in one line if too old', async () => {
    const found = systemNode();
    expect(found, 'a node on the plain system PATH').toBeDefined();
    const { emu, launch } = await launchWith(LAUNCHER, {
      PATH: '/usr/local/bin:/usr/bin:/bin',
    });
    if (olderThanEngines(found?.version ?? '0.0')) {
      expect(launch.exitCode).toBe(1);
      expect(emu.output).toHaveLength(1);
      const line = JSON.parse(emu.output[0] as string) as {
        level: string;
        msg: string;
      };
      expect(line.level).toBe('error');
      expect(line.msg).toContain(
        `Node ${found?.version} is older than ${pkg.engines.node}`
      );
      expect(emu.extension).toBeUndefined();
    } else {
      expect(launch.initMs).toBeDefined();
      expect(emu.extension?.name).toBe('lambda-telemetry-otel');
    }
  });

  it('registers under its own file name with a current Node on PATH', async () => {
    const { emu, launch } = await launchWith(LAUNCHER, {
      PATH: `${NODE22_DIR}:/usr/bin:/bin`,
    });
    expect(launch.initMs).toBeDefined();
    expect(emu.extension?.name).toBe('lambda-telemetry-otel');
    expect(emu.extension?.subscription?.types).toEqual([
      'platform',
      'function',
      'extension',
    ]);
    expect((await emu.shutdown())?.exitCode).toBe(0);
  });

  it("keeps the function's NODE_OPTIONS out of the extension", async () => {
    const { emu, launch } = await launchWith(LAUNCHER, {
      PATH: `${NODE22_DIR}:/usr/bin:/bin`,
      NODE_OPTIONS: '--require /nonexistent/otel-wrapper.js',
    });
    expect(launch.initMs).toBeDefined();
    expect((await emu.shutdown())?.exitCode).toBe(0);
  });

  it.each(['8', '1', 'big', '99999'])(
    'LAMBDA_TELEMETRY_OTEL_MAX_HEAP_MB=%s: one warning, no cap, and the extension runs (a tiny heap crashed it)',
    async (value) => {
      const { emu, launch } = await launchWith(LAUNCHER, {
        PATH: `${NODE22_DIR}:/usr/bin:/bin`,
        LAMBDA_TELEMETRY_OTEL_MAX_HEAP_MB: value,
      });
      expect(launch.initMs).toBeDefined();
      await emu.invoke({ handlerMs: 5, lines: [{ atMs: 1, message: 'x' }] });
      expect((await emu.shutdown())?.exitCode).toBe(0);
      expect(
        emu.output.filter((l) => l.includes('MAX_HEAP_MB must be'))
      ).toHaveLength(1);
    }
  );

  it('prefers a Node bundled in the layer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layer-'));
    dirs.push(dir);
    cpSync(dirname(dirname(LAUNCHER)), dir, { recursive: true });
    const marker = join(dir, 'bundled-node-ran');
    const bundled = join(dir, 'lambda-telemetry-otel', 'bin', 'node');
    cpSync(join(NODE22_DIR, 'node'), `${bundled}.real`);
    writeFileSync(
      bundled,
      `#!/bin/sh\ntouch '${marker}'\nexec "$0.real" "$@"\n`
    );
    chmodSync(bundled, 0o755);
    const { emu, launch } = await launchWith(
      join(dir, 'extensions', 'lambda-telemetry-otel'),
      {
        PATH: '/usr/bin:/bin',
      }
    );
    expect(launch.initMs).toBeDefined();
    expect(existsSync(marker)).toBe(true);
    await emu.shutdown();
  });

  it.each([
    [undefined, '2'],
    ['4', '4'],
  ])(
    'caps glibc malloc arenas (function sets %s: the extension runs with %s)',
    async (set, expected) => {
      const dir = mkdtempSync(join(tmpdir(), 'layer-'));
      dirs.push(dir);
      cpSync(dirname(dirname(LAUNCHER)), dir, { recursive: true });
      const seen = join(dir, 'malloc-arena-max');
      const bundled = join(dir, 'lambda-telemetry-otel', 'bin', 'node');
      cpSync(join(NODE22_DIR, 'node'), `${bundled}.real`);
      writeFileSync(
        bundled,
        `#!/bin/sh\nprintf '%s' "$MALLOC_ARENA_MAX" > '${seen}'\nexec "$0.real" "$@"\n`
      );
      chmodSync(bundled, 0o755);
      const { emu, launch } = await launchWith(
        join(dir, 'extensions', 'lambda-telemetry-otel'),
        {
          PATH: '/usr/bin:/bin',
          ...(set === undefined ? {} : { MALLOC_ARENA_MAX: set }),
        }
      );
      expect(launch.initMs).toBeDefined();
      expect(readFileSync(seen, 'utf8')).toBe(expected);
      await emu.shutdown();
    }
  );

  it('says so in one line when there is no Node at all', () => {
    const res = spawnSync(LAUNCHER, [], {
      env: { PATH: '/nonexistent' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stdout.trim().split('\n')).toHaveLength(1);
    expect(res.stdout).toContain('no node executable found');
  });

  it('ends with exit code 1 and one error line when register fails', async () => {
    // A Runtime API that answers register with a 500.
    const srv = createServer((_q, s) => {
      s.writeHead(500, { 'content-type': 'application/json' }).end(
        '{"errorType":"InternalServerError"}'
      );
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as AddressInfo;
    const child = spawn(LAUNCHER, [], {
      env: {
        PATH: `${NODE22_DIR}:/usr/bin:/bin`,
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
      },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    clearTimeout(timer);
    srv.close();
    expect(code).toBe(1);
    // The start-up line that states the configuration, then the error.
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('"msg":"effective configuration"');
    expect(lines[1]).toContain('register failed');
    expect(stdout).toContain('500');
  });
});

describe('the layer zip', () => {
  it('holds the launcher (executable) and the entry at the documented paths', () => {
    // Python's zipfile is an independent reader of what build.mjs wrote.
    const listing = execFileSync(
      'python3',
      [
        '-c',
        'import sys,zipfile,json\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({i.filename: (i.external_attr>>16)&0o777 for i in z.infolist()}))\nassert z.testzip() is None',
        'dist/lambda-telemetry-otel-layer.zip',
      ],
      { encoding: 'utf8' }
    );
    const modes = JSON.parse(listing) as Record<string, number>;
    expect(modes['extensions/lambda-telemetry-otel']).toBe(0o755);
    expect(modes['lambda-telemetry-otel/index.mjs']).toBeDefined();
    // Everything but the launcher is plain data, whatever the umask was.
    const { 'extensions/lambda-telemetry-otel': _, ...rest } = modes;
    expect(Object.entries(rest).filter(([, m]) => m !== 0o644)).toEqual([]);
    expect(
      Object.keys(modes).every(
        (p) =>
          p.startsWith('extensions/') || p.startsWith('lambda-telemetry-otel/')
      )
    ).toBe(true);
  });
});
