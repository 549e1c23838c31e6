// Builds the Lambda layer (dist/layer, dist/lambda-telemetry-otel-layer.zip),
// the standalone layers that carry their own Node, one per architecture
// (dist/lambda-telemetry-otel-standalone-{x86_64,arm64}.zip), and the local
// emulator (dist/emulator). `--if-stale` skips the work when
// nothing under src/, layer/, build/, build.mjs or the lock file is newer
// than the last build, so `npm test` and `npm start` build only when they must.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { builtinShims } from './build/builtin-shims.mjs';
import { ZipFile } from 'yazl';
import {
  duplicatePackages,
  duplicatesMessage,
} from './build/duplicate-packages.mjs';
import {
  ARCHES,
  NODE_VERSION,
  strippedNode,
} from './build/standalone-node.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const layer = join(dist, 'layer');
const NAME = 'lambda-telemetry-otel';
const stamp = join(dist, '.build-stamp');
/** Downloads, stripped binaries and standalone zips kept between builds. */
const cache = join(root, '.cache');

/** Budgets that fail the build (the performance issue's, checked again by the bench). */
const ENTRY_BUDGET_BYTES = 50 * 1024;
const LAYER_JS_BUDGET_BYTES = 1.5 * 1024 * 1024;
/**
 * Lambda's limits: a zip uploaded directly (not through S3) and everything
 * unzipped, the function and all its layers together (lambda-apis.md §7).
 */
const DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024;
const UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

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
  plugins: [builtinShims()],
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

// Kept for the tests (and for finding where a duplicate came from); outside
// dist/layer, so not in the zip.
await writeFile(
  join(dist, 'layer.meta.json'),
  JSON.stringify(layerBuild.metafile)
);
const duplicates = duplicatePackages(layerBuild.metafile.inputs);
if (duplicates.length) {
  console.error(duplicatesMessage(duplicates));
  process.exit(1);
}

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

const zipPath = join(dist, `${NAME}-layer.zip`);
const layerFiles = await layerEntries(layer);
await writeZip(zipPath, layerFiles);
const zipBytes = (await stat(zipPath)).size;
console.log(
  `built dist/layer (entry ${(entryBytes / 1024).toFixed(1)} KiB, layer JS ${(layerBytes / 1024).toFixed(1)} KiB)`
);
console.log(
  `zip ${relative(root, zipPath)}: ${zipBytes} bytes (${humanBytes(zipBytes)})`
);

// The standalone layers: the same tree, the no-Node stand-in for Amazon
// Linux 2, and a stripped Node of each architecture. Both at once: the
// compression runs on libuv's threads.
const standalone = {};
await Promise.all(
  Object.keys(ARCHES).map(async (arch) => {
    let node;
    try {
      node = await strippedNode(arch, cache);
    } catch (err) {
      // The Node layer and the demo do not need it: one line, not a stack,
      // and the next build tries again (stale() below).
      standalone[arch] = { error: err.message.split('\n')[0] };
      return;
    }
    const file = join(dist, `${NAME}-standalone-${arch}.zip`);
    const entries = [
      ...layerFiles,
      {
        path: join(root, 'layer', 'no-node.bash'),
        name: `${NAME}/no-node.bash`,
        executable: false,
      },
      // Level 6: 3 s for this binary against 7 at level 9, 0.3% larger.
      { path: node, name: `${NAME}/bin/node`, executable: true, level: 6 },
    ];
    await cachedZip(file, entries, `${arch}-${NODE_VERSION}`);
    const zipped = (await stat(file)).size;
    let unzipped = 0;
    for (const e of entries) unzipped += (await stat(e.path)).size;
    standalone[arch] = { zipped, unzipped };
    if (zipped > DIRECT_UPLOAD_BYTES)
      errors.push(
        `${relative(root, file)} ${zipped} B > ${DIRECT_UPLOAD_BYTES} B (direct upload)`
      );
  })
);
for (const arch of Object.keys(ARCHES)) {
  const { zipped, unzipped, error } = standalone[arch];
  if (error) {
    console.log(
      `standalone ${arch} layer not built (the Node layer is): ${error}`
    );
    continue;
  }
  console.log(
    `zip ${NAME}-standalone-${arch}.zip (Node ${NODE_VERSION}): ${humanBytes(zipped)} zipped, ${pct(zipped, DIRECT_UPLOAD_BYTES)} of the 50 MiB direct-upload limit; ${humanBytes(unzipped)} unzipped, ${pct(unzipped, UNZIPPED_LIMIT_BYTES)} of the 250 MiB for the function and all its layers`
  );
}

await writeFile(
  stamp,
  JSON.stringify({ entryBytes, layerBytes, zipBytes, standalone })
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
    'build',
    'build.mjs',
    'package-lock.json',
    'package.json',
  ];
  // A standalone layer a tool or the registry kept from building last time.
  const last = JSON.parse(await readFile(stamp, 'utf8').catch(() => '{}'));
  if (Object.values(last.standalone ?? {}).some((a) => a.error)) return true;
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

function humanBytes(n) {
  return n < 1024 * 1024
    ? `${(n / 1024).toFixed(1)} KiB`
    : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function pct(n, of) {
  return `${((100 * n) / of).toFixed(0)}%`;
}

/** Every file under `dir`, named by its path in the zip, sorted. */
async function layerEntries(dir) {
  const out = [];
  for (const path of (await walk(dir)).sort()) {
    out.push({
      path,
      name: relative(dir, path),
      executable: ((await stat(path)).mode & 0o111) !== 0,
    });
  }
  return out;
}

/**
 * writeZip, or a copy of the zip an earlier build made from the same bytes:
 * zipping the 100 MB binary takes seconds, so `npm test` after a change
 * outside the layer does not pay it again. `tag` names what the binary is
 * (it is not hashed: its cache file name already says version and arch).
 */
async function cachedZip(file, entries, tag) {
  const hash = createHash('sha256').update(tag);
  for (const e of entries) {
    hash.update(`\0${e.name}\0${e.executable}\0${e.level ?? 9}\0`);
    if (!e.path.startsWith(cache)) hash.update(await readFile(e.path));
  }
  const key = hash.digest('hex').slice(0, 16);
  const dir = join(cache, 'zips');
  const base = file.slice(dirname(file).length + 1, -'.zip'.length);
  const cached = join(dir, `${base}-${key}.zip`);
  if (!(await stat(cached).catch(() => undefined))) {
    await mkdir(dir, { recursive: true });
    // Only the newest zip of each name is kept.
    for (const old of await readdir(dir))
      if (old.startsWith(`${base}-`)) await rm(join(dir, old), { force: true });
    const tmp = `${cached}.tmp`;
    await writeZip(tmp, entries);
    await rename(tmp, cached);
  }
  await copyFile(cached, file);
}

/**
 * Zips `entries` ({ path, name, executable, level? }) with yazl, streaming
 * each file from disk (a standalone layer carries a 100+ MB Node binary,
 * which must not be read into memory whole); no system `zip` needed.
 */
async function writeZip(file, entries) {
  const zip = new ZipFile();
  // yazl reports a failed stat or read on the ZipFile, not on outputStream.
  const failed = new Promise((_, reject) => zip.once('error', reject));
  for (const e of entries) {
    zip.addFile(e.path, e.name, {
      // Regular file, 0755 or 0644: Lambda keeps these bits when it unpacks
      // the layer (the launcher must stay executable), and normalizing them
      // keeps the umask of the machine that built dist/layer out of the zip.
      mode: e.executable ? 0o100755 : 0o100644,
      // A fixed date, so the same tree gives the same zip. A local-time
      // 1980-01-01 is the DOS format's first day in every timezone; without
      // the Info-ZIP "UT" field (UTC seconds) nothing timezone-dependent is
      // written.
      mtime: new Date(1980, 0, 1),
      forceDosTimestamp: true,
      compressionLevel: e.level ?? 9,
    });
  }
  zip.end();
  await Promise.race([
    pipeline(zip.outputStream, createWriteStream(file)),
    failed,
  ]);
}
