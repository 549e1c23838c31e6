// The reference layer for npm run bench: a given commit (the release before
// the SDK pipeline) built into bench/.reference/<full sha>/, so the bench can
// run it side by side with the current build in the same run.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * The commit before the SDK pipeline: our own OTLP encoders (tagged
 * reference/own-encoders locally; tags may not survive a clone).
 */
export const DEFAULT_REFERENCE = '32ec629';

/**
 * Extracts `ref` (git archive, once per commit), links the current
 * checkout's node_modules into it, builds it with this same node and returns
 * its launcher, or undefined after one line on stderr if any of that fails.
 */
export function buildReference(root, ref = DEFAULT_REFERENCE) {
  let sha;
  try {
    sha = execFileSync(
      'git',
      ['-C', root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }
    ).trim();
  } catch {
    warn(`${ref} is not a commit of this repository`);
    return undefined;
  }
  const short = sha.slice(0, 7);
  const dir = join(root, 'bench/.reference', sha);
  try {
    if (!existsSync(join(dir, 'build.mjs'))) {
      // Into a temporary directory first, so a broken extraction is never
      // taken for a finished one.
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      const tar = execFileSync('git', ['-C', root, 'archive', sha], {
        maxBuffer: 1 << 30,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      execFileSync('tar', ['-x', '-C', tmp], {
        input: tar,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
    const modules = join(dir, 'node_modules');
    rmSync(modules, { force: true }); // our symlink of an earlier run
    symlinkSync(realpathSync(join(root, 'node_modules')), modules, 'dir');
    execFileSync(process.execPath, ['build.mjs'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const detail = String(err.stderr ?? '').trim() || err.message;
    warn(
      `building ${ref} (${short}) failed: ${detail.split('\n').find((l) => l.trim()) ?? 'unknown error'}`
    );
    return undefined;
  }
  const launcher = join(dir, 'dist/layer/extensions/lambda-telemetry-otel');
  if (!existsSync(launcher)) {
    warn(`${ref} (${short}) built no ${launcher}`);
    return undefined;
  }
  return { ref, sha, short, launcher };
}

function warn(msg) {
  process.stderr.write(`reference layer skipped: ${msg}\n`);
}
