/**
 * The settings table (src/config/settings.ts) against the three other places
 * a setting lives: the README's Configuration table, otel-config.example.yaml
 * and the loader (its validation messages and the file keys it reads). A
 * setting documented in one place and not the others fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { parseConfigFile } from '../../src/config/file.js';
import { SETTINGS } from '../../src/config/settings.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const example = readFileSync(new URL('otel-config.example.yaml', root), 'utf8');

/** The README's settings table: variable -> default cell. */
function readmeRows(): Map<string, string> {
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('### The configuration file')
  );
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `([A-Z_]+)` \| ([^|]*) \|/gm)) {
    rows.set(m[1] as string, (m[2] as string).trim());
  }
  return rows;
}

/** The example's `lambda_telemetry_otel` keys (commented ones too): key -> value, or null when commented out. */
function exampleKeys(): Map<string, string | null> {
  const lines = example
    .slice(example.indexOf('\nlambda_telemetry_otel:'))
    .split('\n');
  const keys = new Map<string, string | null>();
  let section = 'lambda_telemetry_otel';
  for (const line of lines.slice(2)) {
    const m = /^(\s*)(#\s*)?([a-z_]+):\s*([^#]*?)\s*(?:#.*)?$/.exec(line);
    if (!m) continue;
    const [, indent, comment, key, value] = m as unknown as string[];
    if ((indent as string).length === 2 && !comment && value === '') {
      section = `lambda_telemetry_otel.${key}`;
      continue;
    }
    if ((indent as string).length === 2 && !comment) {
      section = 'lambda_telemetry_otel';
    }
    const path =
      (indent as string).length >= 4 && section !== 'lambda_telemetry_otel'
        ? `${section}.${key}`
        : `lambda_telemetry_otel.${key}`;
    keys.set(path, comment ? null : (value as string));
  }
  return keys;
}

const shown = (v: unknown): string => `\`${String(v)}\``;

describe('the settings table', () => {
  it('names the same settings as the README table', () => {
    expect([...readmeRows().keys()].sort()).toEqual(
      SETTINGS.map((s) => s.variable).sort()
    );
  });

  it.each(SETTINGS.map((s) => [s.variable, s] as const))(
    "%s has the README's default",
    (variable, s) => {
      const cell = readmeRows().get(variable) ?? '';
      if (s.standard !== undefined) {
        expect(cell).toBe(`${shown(s.standard)}, else ${shown(s.default)}`);
      } else if (s.default === undefined) {
        expect(cell).toMatch(/^unset/);
      } else {
        expect(cell.startsWith(shown(s.default))).toBe(true);
      }
    }
  );

  it('names the same file keys as otel-config.example.yaml', () => {
    expect([...exampleKeys().keys()].sort()).toEqual(
      SETTINGS.flatMap((s) => (s.fileKey ? [s.fileKey] : [])).sort()
    );
  });

  it.each(
    SETTINGS.filter((s) => s.fileKey).map((s) => [s.fileKey, s] as const)
  )(
    '%s has the default in the example file (when not commented out)',
    (key, s) => {
      const value = exampleKeys().get(key as string);
      if (value === null || value === undefined) return;
      expect(value.replace(/^\[|\]$/g, '').replace(/, /g, ',')).toBe(
        String(s.default)
      );
    }
  );

  const ranged = SETTINGS.filter(
    (s) =>
      s.readBy === 'loader' &&
      s.kind === 'integer' &&
      s.variable.startsWith('LAMBDA_')
  );

  it.each(ranged.map((s) => [s.variable, s] as const))(
    "%s: the loader warns with the table's range and default",
    (variable, s) => {
      const below = loadConfig({ [variable]: String((s.min ?? 0) + 0) });
      expect(below.warnings).toEqual([]);
      const over = String((s.max ?? Number.MAX_SAFE_INTEGER) + 1);
      const { warnings } = loadConfig({ [variable]: over });
      expect(warnings).toEqual([
        `${variable}=${over} is outside ${s.min}..${s.max ?? Number.MAX_SAFE_INTEGER}; using ${s.default}`,
      ]);
    }
  );

  it.each(
    SETTINGS.filter((s) => s.fileKey).map((s) => [s.fileKey, s] as const)
  )('the file reader reads %s', (key, s) => {
    const parts = (key as string).split('.');
    const yaml = parts
      .map((p, i) => `${'  '.repeat(i)}${p}:`)
      .join('\n')
      .concat(s.kind === 'headers' ? ' [{name: x1, value: v}]' : ' x1');
    const file = parseConfigFile(yaml, 'f.yaml', {});
    expect(file.problems).toEqual([]);
    const name = s.variable.replace(/^LAMBDA_TELEMETRY_OTEL_/, '');
    expect(file.ours[name]).toBe(s.kind === 'headers' ? 'x1=v' : 'x1');
  });
});
