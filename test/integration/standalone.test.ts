/**
 * The standalone layers (their own Node, for every runtime): the x86_64 zip
 * unpacked and run under the emulator with no Node anywhere on PATH, the
 * arm64 zip checked for structure, and the launcher's glibc check with a
 * stand-in C library.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkOtlp } from '../../src/emulator/check-otlp.js';
import { LambdaEmulator } from '../../src/emulator/emulator.js';
import { runScenario } from '../../src/emulator/scenario.js';
import { Sink } from '../../src/emulator/sink.js';
import { FAST_ENV, LAUNCHER } from '../helpers/layer.js';

const NAME = 'lambda-telemetry-otel';
const zipOf = (arch: string) => resolve(`dist/${NAME}-standalone-${arch}.zip`);
const NODE22 = resolve('node_modules/node/bin/node');
const MiB = 1024 * 1024;

const dirs: string[] = [];
const emus: LambdaEmulator[] = [];
afterEach(async () => {
  await Promise.all(emus.splice(0).map((e) => e.close()));
});
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

interface Entry {
  mode: number;
  size: number;
  compressed: number;
  /** The first 20 bytes, hex. */
  head: string;
}

/**
 * Python's zipfile, an independent reader of what build.mjs wrote: each
 * entry's mode, sizes and first bytes; with `into`, also unpacked there with
 * its mode (zipfile's extractall drops modes).
 */
function readZip(file: string, into?: string): Record<string, Entry> {
  const py = `
import sys, zipfile, json, os
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
out = {}
for i in z.infolist():
    mode = (i.external_attr >> 16) & 0o777
    with z.open(i) as f:
        head = f.read(20).hex()
    out[i.filename] = {"mode": mode, "size": i.file_size, "compressed": i.compress_size, "head": head}
    if len(sys.argv) > 2:
        p = z.extract(i, sys.argv[2])
        os.chmod(p, mode)
print(json.dumps(out))
`;
  return JSON.parse(
    execFileSync('python3', ['-c', py, file, ...(into ? [into] : [])], {
      encoding: 'utf8',
      maxBuffer: 16 * MiB,
    })
  ) as Record<string, Entry>;
}

/** e_machine of a 64-bit little-endian ELF header given as hex. */
function elfMachine(headHex: string): number | undefined {
  const b = Buffer.from(headHex, 'hex');
  const elf64le = b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2 && b[5] === 1;
  return elf64le ? b.readUInt16LE(18) : undefined;
}

describe('the x86_64 standalone layer', () => {
  it('delivers a whole environment life as OTLP with no node on PATH', async () => {
    const opt = tempDir('standalone-opt-');
    readZip(zipOf('x86_64'), opt);
    // A PATH with nothing on it, and no Lambda Node runtime: only the layer's
    // own Node can run the extension.
    const emptyPath = tempDir('empty-path-');
    expect(existsSync('/var/lang/bin/node')).toBe(false);
    expect(
      spawnSync('/bin/sh', ['-c', 'command -v node'], {
        env: { PATH: emptyPath },
      }).status
    ).not.toBe(0);

    const sink = new Sink();
    const url = await sink.start();
    try {
      const emu = await runScenario({
        extensionPath: join(opt, 'extensions', NAME),
        invocations: 3,
        baseEnv: {},
        env: { PATH: emptyPath, DISPATCH_POST_URI: url, ...FAST_ENV },
      });
      emus.push(emu);
      expect(emu.launches.length).toBeGreaterThan(0);
      for (const l of emu.launches) expect(l.initMs).toBeDefined();
      const got = sink.otlp();
      const check = checkOtlp(emu, got);
      expect(check.problems).toEqual([]);
      expect(check.functionLinesFound).toBe(check.functionLines);
      expect(check.duplicateLines).toBe(0);
      expect(check.invocationSpans).toBe(emu.invocations.length);
      expect(got.logs[0]?.resource).toMatchObject({
        'faas.name': 'demo-function',
        'cloud.provider': 'aws',
      });
    } finally {
      await sink.close();
    }
  });

  it("carries Node 24 for x86-64, stripped, and the zip fits Lambda's limits", () => {
    const entries = readZip(zipOf('x86_64'));
    const node = entries[`${NAME}/bin/node`];
    expect(node?.mode).toBe(0o755);
    expect(elfMachine(node?.head ?? '')).toBe(62);
    // Unpacked alone (Python again) and asked its version.
    const version = execFileSync(
      'python3',
      [
        '-c',
        'import sys,zipfile,subprocess,tempfile,os\nd=tempfile.mkdtemp()\np=zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2],d)\nos.chmod(p,0o755)\nprint(subprocess.run([p,"--version"],capture_output=True,text=True).stdout.strip())\nimport shutil; shutil.rmtree(d)',
        zipOf('x86_64'),
        `${NAME}/bin/node`,
      ],
      { encoding: 'utf8' }
    ).trim();
    expect(version).toMatch(/^v24\./);
  });
});

describe('the arm64 standalone layer zip', () => {
  it('holds the launcher, the entry and an aarch64 Node binary, and nothing else of Node', () => {
    const entries = readZip(zipOf('arm64'));
    expect(entries[`extensions/${NAME}`]?.mode).toBe(0o755);
    expect(entries[`${NAME}/index.mjs`]?.mode).toBe(0o644);
    expect(entries[`${NAME}/no-node.bash`]).toBeDefined();
    const node = entries[`${NAME}/bin/node`];
    expect(node?.mode).toBe(0o755);
    expect(elfMachine(node?.head ?? '')).toBe(183); // EM_AARCH64
    // Stripped: the official binary is 123 MB with its symbols.
    expect(node?.size).toBeLessThan(110 * 1_000_000);
    // Node's headers, docs and npm stay out: only bin/node under bin/.
    const paths = Object.keys(entries);
    expect(paths.filter((p) => p.includes('/bin/'))).toEqual([
      `${NAME}/bin/node`,
    ]);
    expect(
      paths.every(
        (p) => p.startsWith('extensions/') || p.startsWith(`${NAME}/`)
      )
    ).toBe(true);
    // The same JavaScript as the Node layer's.
    const nodeLayer = readZip(resolve(`dist/${NAME}-layer.zip`));
    for (const [p, e] of Object.entries(nodeLayer))
      expect(entries[p]?.size, p).toBe(e.size);
    const zipped = readFileSync(zipOf('arm64')).length;
    const unzipped = Object.values(entries).reduce((n, e) => n + e.size, 0);
    expect(zipped).toBeLessThan(50 * MiB);
    expect(unzipped).toBeLessThan(250 * MiB);
  });
});

describe("the launcher's glibc check", () => {
  /**
   * The built layer with the standalone layer's no-Node stand-in, a
   * stand-in bundled Node (a script that leaves a marker, then runs a real
   * Node 22) and the launcher's C library glob pointed at a folder holding
   * `libc` (a stand-in file named as glibc names itself), if given.
   */
  function standIn(libc: string | undefined) {
    const dir = tempDir('layer-glibc-');
    cpSync(dirname(dirname(LAUNCHER)), dir, { recursive: true });
    copyFileSync(
      resolve('layer/no-node.bash'),
      join(dir, NAME, 'no-node.bash')
    );
    const libDir = join(dir, 'lib64');
    mkdirSync(libDir);
    if (libc) writeFileSync(join(libDir, libc), '');
    const launcher = join(dir, 'extensions', NAME);
    const src = readFileSync(launcher, 'utf8');
    const patched = src.replace(
      /^libc_glob=.*$/m,
      `libc_glob='${libDir}/libc-2.*.so'`
    );
    expect(patched, 'the launcher has a libc_glob line').not.toBe(src);
    writeFileSync(launcher, patched);
    const marker = join(dir, 'bundled-node-ran');
    const bundled = join(dir, NAME, 'bin', 'node');
    mkdirSync(dirname(bundled), { recursive: true });
    writeFileSync(
      bundled,
      `#!/bin/sh\ntouch '${marker}'\nexec '${NODE22}' "$@"\n`
    );
    chmodSync(bundled, 0o755);
    return { launcher, marker };
  }

  async function launch(launcher: string) {
    const emu = new LambdaEmulator({
      extensionPath: launcher,
      captureExtensionOutput: false,
      initTimeoutMs: 5_000,
      baseEnv: {},
      env: { ...FAST_ENV, PATH: '/usr/bin:/bin' },
    });
    emus.push(emu);
    await emu.start();
    return { emu, launch: await emu.launch() };
  }

  it('on glibc 2.26 (Amazon Linux 2) registers without Node, says why in one line, holds up nothing and exits 0 at SHUTDOWN', async () => {
    const { launcher, marker } = standIn('libc-2.26.so');
    const { emu, launch: l } = await launch(launcher);
    expect(l.initMs).toBeDefined();
    expect(existsSync(marker)).toBe(false);
    expect(emu.extension?.name).toBe(NAME);
    expect(emu.extension?.events).toEqual(['SHUTDOWN']);
    expect(emu.output).toHaveLength(1);
    const line = JSON.parse(emu.output[0] as string) as Record<string, string>;
    expect(line.level).toBe('warn');
    expect(line.msg).toContain('glibc 2.26 is older than 2.28');
    // Not registered for INVOKE, it is never asked for a /next during an
    // invocation (the emulator's overhead figure, which counts /next calls,
    // has none to count): the invocation ends with its 5 ms handler, far
    // from its 3 s deadline.
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      await emu.invoke({ handlerMs: 5, timeoutMs: 3_000 });
      expect(Date.now() - t0).toBeLessThan(1_000);
    }
    const end = await emu.shutdown();
    expect(end?.exitCode).toBe(0);
    expect(emu.output).toHaveLength(1);
  });

  it.each([
    ['libc-2.28.so', 'glibc 2.28'],
    [undefined, 'glibc 2.34 or later (no libc-2.N.so)'],
  ])('with %s (%s) runs the bundled Node', async (libc, _what) => {
    const { launcher, marker } = standIn(libc);
    const { emu, launch: l } = await launch(launcher);
    expect(l.initMs).toBeDefined();
    expect(existsSync(marker)).toBe(true);
    expect(emu.extension?.events).toEqual(['INVOKE', 'SHUTDOWN']);
    expect((await emu.shutdown())?.exitCode).toBe(0);
  });
});
