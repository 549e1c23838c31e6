// The layer must carry one copy of each OpenTelemetry package. npm nests a
// second copy (node_modules/<dependent>/node_modules/@opentelemetry/...)
// when a dependent's version range rejects the hoisted one, and esbuild then
// bundles both: twice the bytes, and two sets of the module state and
// classes that the packages expect to share (instanceof fails across
// copies). Pure functions of esbuild's metafile `inputs`, so a test can feed
// them a made-up one.

const NODE_MODULES = 'node_modules/';
const CHECKED_SCOPE = '@opentelemetry/';

/**
 * The package a bundled file comes from: the name after the last
 * `node_modules/` of its path (two segments for a scoped name), and the
 * directory up to that name. Files of our own sources have none.
 *
 * @param {string} inputPath a key of metafile.inputs
 * @returns {{ name: string, dir: string } | undefined}
 */
function packageOf(inputPath) {
  const path = inputPath.replaceAll('\\', '/');
  const at = path.lastIndexOf(NODE_MODULES);
  if (at === -1 || (at > 0 && path[at - 1] !== '/')) return undefined;
  const segments = path.slice(at + NODE_MODULES.length).split('/');
  const length = segments[0]?.startsWith('@') ? 2 : 1;
  // A file inside the package, not the name alone.
  if (segments.length <= length) return undefined;
  const name = segments.slice(0, length).join('/');
  return { name, dir: `${path.slice(0, at + NODE_MODULES.length)}${name}/` };
}

/**
 * Every package the bundle takes files from, with the directories it takes
 * them from (sorted).
 *
 * @param {Record<string, unknown>} inputs esbuild's metafile.inputs
 * @returns {Map<string, string[]>}
 */
export function packageDirs(inputs) {
  /** @type {Map<string, Set<string>>} */
  const dirs = new Map();
  for (const inputPath of Object.keys(inputs)) {
    const pkg = packageOf(inputPath);
    if (!pkg) continue;
    const seen = dirs.get(pkg.name) ?? new Set();
    seen.add(pkg.dir);
    dirs.set(pkg.name, seen);
  }
  return new Map([...dirs].map(([name, set]) => [name, [...set].sort()]));
}

/**
 * The `@opentelemetry/*` packages whose files come from more than one
 * directory, sorted by name; empty when the bundle is clean.
 *
 * @param {Record<string, unknown>} inputs esbuild's metafile.inputs
 * @returns {{ name: string, dirs: string[] }[]}
 */
export function duplicatePackages(inputs) {
  return [...packageDirs(inputs)]
    .filter(([name, dirs]) => name.startsWith(CHECKED_SCOPE) && dirs.length > 1)
    .map(([name, dirs]) => ({ name, dirs }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * The one message the build fails with.
 *
 * @param {{ name: string, dirs: string[] }[]} duplicates
 * @returns {string}
 */
export function duplicatesMessage(duplicates) {
  const each = duplicates.map(
    ({ name, dirs }) => `${name} from ${dirs.join(' and ')}`
  );
  return `the layer bundle would carry two copies of a package: ${each.join('; ')} (every ${CHECKED_SCOPE}* package must resolve to one directory: align the versions in package.json, then npm dedupe)`;
}
