// Builds the Lambda layer (dist/layer, dist/lambda-telemetry-otel-layer.zip)
// and the local emulator (dist/emulator). `--if-stale` skips the work when
// nothing under src/, layer/, build.mjs or the lock file is newer than the
// last build, so `npm test` and `npm start` build only when they must.
import {
  chmod,
  copyFile,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync, crc32 } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const layer = join(dist, 'layer');
const NAME = 'lambda-telemetry-otel';
const stamp = join(dist, '.build-stamp');

/** Budgets that fail the build (the performance issue's, checked again by the bench). */
const ENTRY_BUDGET_BYTES = 50 * 1024;
const LAYER_JS_BUDGET_BYTES = 1.5 * 1024 * 1024;

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const minNode = /^>=\s*(\d+)\.(\d+)/.exec(pkg.engines.node);

if (process.argv.includes('--if-stale') && !(await stale())) process.exit(0);

await rm(dist, { recursive: true, force: true });

// Runs before anything else in the entry: an old Node gets one clear line
// instead of a stack trace deep in a chunk.
const versionCheck = `{const v=process.versions.node.split('.').map(Number);if(v[0]<${minNode[1]}||(v[0]===${minNode[1]}&&v[1]<${minNode[2]})){process.stdout.write(JSON.stringify({level:'error',ext:'${NAME}',msg:'Node '+process.versions.node+' is older than ${pkg.engines.node}, which ${NAME} needs; not starting'})+'\\n');process.exit(1)}}`;
// Bundled CommonJS dependencies (undici) call require() on built-ins.
const requireShim = `import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);`;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // esbuild's Node default prefers "main", which picks OpenTelemetry's CJS
  // builds and defeats tree-shaking (ecosystem.md B.6).
  mainFields: ['module', 'main'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};

const layerBuild = await esbuild.build({
  ...common,
  entryPoints: { index: 'src/main.ts' },
  outdir: join(layer, NAME),
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  banner: { js: requireShim },
  // The version check must come before the imports' side effects, so it is
  // prepended to the entry only (below), not to every chunk.
});

const entryPath = join(layer, NAME, 'index.mjs');
const entrySrc = await readFile(entryPath, 'utf8');
await writeFile(entryPath, `${versionCheck}\n${entrySrc}`);

await mkdir(join(layer, 'extensions'), { recursive: true });
await copyFile(join(root, 'layer', NAME), join(layer, 'extensions', NAME));
await chmod(join(layer, 'extensions', NAME), 0o755);

await esbuild.build({
  ...common,
  entryPoints: {
    cli: 'src/emulator/cli.ts',
    index: 'src/emulator/index.ts',
  },
  outdir: join(dist, 'emulator'),
  outExtension: { '.js': '.mjs' },
  banner: { js: requireShim },
});

// Sizes: what loads before the first /next, and all the layer's JavaScript.
const outputs = Object.entries(layerBuild.metafile.outputs);
const entryBytes = (await stat(entryPath)).size;
const layerBytes =
  outputs.reduce((n, [, o]) => n + o.bytes, 0) + versionCheck.length;
const errors = [];
if (entryBytes > ENTRY_BUDGET_BYTES)
  errors.push(`entry chunk ${entryBytes} B > ${ENTRY_BUDGET_BYTES} B`);
if (layerBytes > LAYER_JS_BUDGET_BYTES)
  errors.push(`layer JavaScript ${layerBytes} B > ${LAYER_JS_BUDGET_BYTES} B`);

await writeZip(join(dist, `${NAME}-layer.zip`), layer);
await writeFile(stamp, JSON.stringify({ entryBytes, layerBytes }));
console.log(
  `built dist/layer (entry ${(entryBytes / 1024).toFixed(1)} KiB, layer JS ${(layerBytes / 1024).toFixed(1)} KiB) and dist/${NAME}-layer.zip`
);
if (errors.length) {
  console.error(`size budget exceeded: ${errors.join('; ')}`);
  process.exit(1);
}

async function stale() {
  let built;
  try {
    built = (await stat(stamp)).mtimeMs;
  } catch {
    return true;
  }
  const inputs = [
    'src',
    'layer',
    'build.mjs',
    'package-lock.json',
    'package.json',
  ];
  for (const input of inputs) {
    for (const file of await walk(join(root, input))) {
      if ((await stat(file)).mtimeMs > built) return true;
    }
  }
  return false;
}

async function walk(path) {
  const s = await stat(path).catch(() => undefined);
  if (!s) return [];
  if (!s.isDirectory()) return [path];
  const out = [];
  for (const e of await readdir(path)) out.push(...(await walk(join(path, e))));
  return out;
}

/**
 * A plain zip writer (deflate, Unix modes kept so the launcher stays
 * executable after Lambda unpacks the layer); no system `zip` needed.
 */
async function writeZip(file, dir) {
  const files = (await walk(dir)).sort();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const path of files) {
    const name = Buffer.from(relative(dir, path).split('\\').join('/'));
    const data = await readFile(path);
    const mode = (await stat(path)).mode & 0o777;
    const packed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0x00210000, 10); // 1980-01-01: reproducible
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so modes are read
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0, 8);
    cen.writeUInt16LE(8, 10);
    cen.writeUInt32LE(0x00210000, 12);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(packed.length, 20);
    cen.writeUInt32LE(data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38);
    cen.writeUInt32LE(offset, 42);
    parts.push(local, name, packed);
    central.push(cen, name);
    offset += local.length + name.length + packed.length;
  }
  const cdir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cdir.length, 12);
  end.writeUInt32LE(offset, 16);
  await writeFile(file, Buffer.concat([...parts, cdir, end]));
}
