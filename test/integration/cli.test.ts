/**
 * The demo as a user runs it (`npm start` runs `node dist/emulator/cli.mjs
 * demo`): a real process, its exit status and what it prints, with the
 * built layer under the emulator over loopback HTTP.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sink } from '../../src/emulator/sink.js';
import { LAUNCHER } from '../helpers/layer.js';

const CLI = resolve('dist/emulator/cli.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The user's environment without anything of ours that could leak in. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(DISPATCH_|LAMBDA_TELEMETRY_OTEL_|OTEL_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function demo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, 'demo', ...args],
      { env: cleanEnv(env), timeout: 30_000 },
      (err, stdout, stderr) =>
        done({
          code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
          stdout,
          stderr,
        })
    );
  });
}

describe('the command line', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await demo(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm start -- \[options\]/);
    for (const flag of [
      '--config',
      '--endpoint',
      '--format',
      '--invocations',
      '--extension',
      '--verbose',
    ])
      expect(r.stdout).toContain(flag);
    expect(r.stderr).toBe('');
  });

  it.each([
    [['--format', 'xml'], '--format must be otlp or raw, not "xml"'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--invocations', 'five'], '--invocations must be a whole number'],
    [['--invocations', '0'], '--invocations must be a whole number'],
    [
      ['--extension', '/no/such/extension'],
      'no extension executable at /no/such/extension',
    ],
    [['--config', '/no/such/file.yaml'], 'cannot read the configuration file'],
    [['--endpoint', 'ftp://k:secret@x/'], '--endpoint must be an http(s) URL'],
    [['stray'], "Unexpected argument 'stray'"],
    [['--function', '/no/such/handler.mjs'], 'no function at'],
    [
      [
        '--function',
        'test/fixtures/functions/logs.mjs',
        '--event',
        'test/fixtures/functions/bad-event.txt',
      ],
      'JSON',
    ],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const r = await demo(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringContaining(message),
    ]);
    expect(r.stderr).not.toContain('run npm run build');
    expect(r.stderr).not.toContain('secret');
  });
});

describe('the demo under the user settings', () => {
  it('shows the extension warnings without --verbose', async () => {
    const r = await demo([], { LAMBDA_TELEMETRY_OTEL_FLUSH: 'bogus' });
    expect(r.stdout).toContain(
      '[extension] warn: LAMBDA_TELEMETRY_OTEL_FLUSH="bogus" is not next-invoke or end'
    );
    // Said once, though each of the three environments says it.
    expect(r.stdout.split('LAMBDA_TELEMETRY_OTEL_FLUSH="bogus"')).toHaveLength(
      2
    );
    expect(r.code).toBe(0);
  });

  it('expects what a severity filter lets through, and passes', async () => {
    const r = await demo([], {
      LAMBDA_TELEMETRY_OTEL_FUNCTION_MIN_SEVERITY: 'WARN',
    });
    const m = /function lines: (\d+)\/(\d+) arrived/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [found, expected] = [Number(m?.[1]), Number(m?.[2])];
    expect(found).toBe(expected);
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(38);
    expect(r.stdout).toContain('function lines below WARN are not expected');
    expect(r.stdout).toMatch(/\nPASS in /);
    expect(r.code).toBe(0);
  });

  it('prints the export requests per INVOKE and at SHUTDOWN: a min batch size no INVOKE reaches sends only at SHUTDOWN', async () => {
    const r = await demo([], { DISPATCH_MIN_BATCH_SIZE: '100000' });
    expect(r.stdout).toContain('min batch size 100000');
    const envs = [
      ...r.stdout.matchAll(/environment \d: INVOKE ([\d ]+); SHUTDOWN (\d+)/g),
    ];
    expect(envs, r.stdout).toHaveLength(3);
    for (const [, invokes, shutdown] of envs) {
      expect(invokes?.split(' ').every((n) => n === '0')).toBe(true);
      expect(Number(shutdown)).toBeGreaterThan(0);
    }
    expect(r.code).toBe(0);
  });

  it('--endpoint sends to the user receiver; no secret of it or of the headers is printed', async () => {
    const sink = new Sink();
    const url = new URL(await sink.start());
    try {
      const secret = 's3cr3t-value';
      const endpoint = `http://user:${secret}@127.0.0.1:${url.port}/base?key=${secret}`;
      const r = await demo(['--endpoint', endpoint, '--verbose'], {
        LAMBDA_TELEMETRY_OTEL_HEADERS: `authorization=Bearer%20${secret}`,
      });
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(r.stdout).toContain(
        `logs   -> http://127.0.0.1:${url.port}/base/v1/logs (headers: authorization)`
      );
      expect(r.stdout).toContain('"msg":"effective configuration"');
      expect(r.stdout).toContain('arrivals not checked');
      expect(sink.requests.length).toBeGreaterThan(0);
      expect(sink.requests[0]?.path).toBe(
        `/base/v1/${sink.requests[0]?.path.includes('traces') ? 'traces' : 'logs'}?key=${secret}`
      );
      expect(sink.requests[0]?.headers.authorization).toBe(`Bearer ${secret}`);
      expect(r.stdout).toMatch(/PASS \(deadlines only; arrivals not checked\)/);
      expect(r.code).toBe(0);
    } finally {
      await sink.close();
    }
  });

  it('--config: the file it names is the one the extension read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-config-'));
    const file = join(dir, 'settings.yaml');
    writeFileSync(
      file,
      'file_format: "1.0"\nlambda_telemetry_otel:\n  flush: end\n  dispatch:\n    min_batch_size: 3\n'
    );
    const r = await demo(['--config', file]);
    expect(r.stdout).toContain(`file ${file};`);
    expect(r.stdout).toContain('flush end; min batch size 3');
    expect(r.code).toBe(0);
  });

  it('an extension that dies at init: its error line and the failure by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-ext-'));
    const ext = join(dir, 'lambda-telemetry-otel');
    writeFileSync(
      ext,
      '#!/bin/sh\necho \'{"level":"error","ext":"lambda-telemetry-otel","msg":"Node 20.1.0 is older than >=22.19"}\'\nexit 1\n'
    );
    chmodSync(ext, 0o755);
    const r = await demo(['--extension', ext]);
    expect(r.stdout).toContain(
      '[extension] error: Node 20.1.0 is older than >=22.19'
    );
    expect(r.stdout).toContain('init FAILED: Extension.Crash');
    expect(r.stdout).toMatch(/\nFAIL in /);
    expect(r.code).toBe(1);
  });

  it('the built layer passes with the defaults', async () => {
    expect(LAUNCHER).toBeTruthy();
    const r = await demo([]);
    // Every line the function wrote (38 scripted; the real runtime
    // client's demo handler writes its own number) arrived.
    const m = /function lines: (\d+)\/(\d+) arrived/.exec(r.stdout);
    expect(Number(m?.[2])).toBeGreaterThan(30);
    expect(m?.[1]).toBe(m?.[2]);
    expect(r.code).toBe(0);
  });
});
