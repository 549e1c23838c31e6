import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  duplicatePackages,
  duplicatesMessage,
  packageDirs,
} from '../../build/duplicate-packages.mjs';

/** The check reads only the keys of metafile.inputs; values as esbuild's. */
function inputs(...paths: string[]): Record<string, unknown> {
  return Object.fromEntries(
    paths.map((p) => [p, { bytes: 1, imports: [], format: 'esm' }])
  );
}

describe('duplicatePackages', () => {
  it('fails a bundle with two copies of one @opentelemetry package, naming both directories', () => {
    const nested =
      'node_modules/@opentelemetry/sdk-logs/node_modules/@opentelemetry/core/';
    const found = duplicatePackages(
      inputs(
        'src/main.ts',
        'node_modules/@opentelemetry/core/build/esm/index.js',
        'node_modules/@opentelemetry/core/build/esm/trace/TraceState.js',
        'node_modules/@opentelemetry/sdk-logs/build/esm/index.js',
        `${nested}build/esm/index.js`
      )
    );
    expect(found).toEqual([
      {
        name: '@opentelemetry/core',
        dirs: ['node_modules/@opentelemetry/core/', nested],
      },
    ]);
    const message = duplicatesMessage(found);
    expect(message).toContain('@opentelemetry/core');
    expect(message).toContain('node_modules/@opentelemetry/core/ and');
    expect(message).toContain(nested);
  });

  it('fails two versions from a pnpm store', () => {
    const found = duplicatePackages(
      inputs(
        'node_modules/.pnpm/@opentelemetry+api@1.9.0/node_modules/@opentelemetry/api/build/esm/index.js',
        'node_modules/.pnpm/@opentelemetry+api@1.10.0/node_modules/@opentelemetry/api/build/esm/index.js'
      )
    );
    expect(found.map((d) => d.name)).toEqual(['@opentelemetry/api']);
    expect(found[0]?.dirs).toHaveLength(2);
  });

  it('passes one copy per package, however many files and wherever node_modules is', () => {
    const given = inputs(
      'src/main.ts',
      'src/node_modules_like/name.ts',
      // A symlinked node_modules: esbuild reports the real path.
      '../main/node_modules/@opentelemetry/core/build/esm/index.js',
      '../main/node_modules/@opentelemetry/core/build/esm/utils/url.js',
      '../main/node_modules/@opentelemetry/sdk-logs/build/esm/index.js',
      '../main/node_modules/yaml/dist/index.js',
      // Only @opentelemetry/* is checked: a second copy of anything else is
      // a size question, which the budgets answer.
      '../main/node_modules/undici/index.js',
      '../main/node_modules/some-dep/node_modules/undici/index.js'
    );
    expect(duplicatePackages(given)).toEqual([]);
    expect(packageDirs(given).get('@opentelemetry/core')).toEqual([
      '../main/node_modules/@opentelemetry/core/',
    ]);
    expect(packageDirs(given).get('undici')).toHaveLength(2);
    expect(packageDirs(given).has('node_modules_like')).toBe(false);
  });

  // The real bundle: `npm test` builds first; a bare `vitest run` without
  // dist/ reports this one as skipped rather than passing it.
  it.runIf(existsSync('dist/.build-stamp'))(
    'finds one copy of each @opentelemetry package in the built layer',
    () => {
      const meta = JSON.parse(readFileSync('dist/layer.meta.json', 'utf8')) as {
        inputs: Record<string, unknown>;
      };
      const otel = [...packageDirs(meta.inputs).keys()].filter((n) =>
        n.startsWith('@opentelemetry/')
      );
      // Not vacuous: the layer does bundle OpenTelemetry packages.
      expect(otel.length).toBeGreaterThan(0);
      expect(duplicatePackages(meta.inputs)).toEqual([]);
    }
  );
});
