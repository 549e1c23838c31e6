// An esbuild plugin: the bundled dependencies' dynamic ES module imports of
// Node built-ins (`await import("http")` / `import("https")` in the OTLP
// transport, on its first export) are served by small modules that take
// the built-in through `process.getBuiltinModule`.
//
// Why: an ES module import of a built-in makes Node build its module
// namespace; `import("http")` measured about 45 ms (ecosystem.md B.6), paid
// by the first export of every environment, inside an invocation. The same
// built-in reached through getBuiltinModule costs a fraction of that. Only
// dynamic imports from node_modules are rewritten (static ones load with
// their chunk, after the first /next; our own code already reaches
// built-ins this way). A shim reads each export of the built-in once, when
// it loads: fine for http and https, whose exports are plain values, but
// not for every built-in (Node 24 warns on reading fs.F_OK), hence the
// narrow scope.
import { builtinModules, createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The esbuild plugin. */
export function builtinShims() {
  return {
    name: 'builtins-through-getBuiltinModule',
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z0-9_/]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, '');
        if (!builtinModules.includes(name)) return undefined;
        if (!/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
        // Static imports and require() stay as they are (CommonJS callers
        // expect the module itself: require('events') is a constructor).
        if (args.kind !== 'dynamic-import') return undefined;
        return { path: name, namespace: 'builtin-shim' };
      });
      build.onLoad({ filter: /.*/, namespace: 'builtin-shim' }, (args) => {
        // The built-in's own export names, as Node's ES module wrapper
        // would give them (known at build time: the same Node major).
        const keys = Object.keys(require(`node:${args.path}`)).filter(
          (k) => IDENTIFIER.test(k) && k !== 'default'
        );
        const contents = [
          `const m = process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)});`,
          'export default m;',
          ...keys.map((k) => `export const ${k} = m.${k};`),
        ].join('\n');
        return { contents, loader: 'js' };
      });
    },
  };
}
