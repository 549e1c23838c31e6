/**
 * A real function process: AWS's Node.js runtime interface client
 * (`aws-lambda-ric`, runtime-client.ts finds it) running the user's handler,
 * launched as Lambda launches a runtime: the Lambda environment, the
 * Runtime API address, and a log descriptor (`_LAMBDA_TELEMETRY_LOG_FD`) to
 * which the client writes one framed record per log call. Each frame
 * becomes one Telemetry API `function` record, so a multi-line entry stays
 * whole; anything else the process prints on stdout or stderr becomes one
 * record per line, as Lambda captures it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** The frame header: type (4 bytes), length (4), time in µs (8), big-endian. */
export const FRAME_HEADER_BYTES = 16;
/** The frame type's fixed bits: `0xa55a0000`, then the kind and the level. */
const FRAME_MAGIC = 0xa55a0000;
/** Low two bits: 3 a text frame, 2 a JSON frame. */
const FRAME_KIND_TEXT = 3;
const FRAME_KIND_JSON = 2;
/** Bits 2-4 carry the level, 1 TRACE .. 6 FATAL (0: none given). */
const LEVELS = [
  undefined,
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'ERROR',
  'FATAL',
] as const;
/**
 * Only a sanity bound on a header's length (past it, the stream is taken
 * as broken): a real log call of several MiB is a frame like any other
 * (1 MiB here made the rest of the process's output unreadable).
 */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * One record aws-lambda-ric wrote to `_LAMBDA_TELEMETRY_LOG_FD`: a
 * FRAME_HEADER_BYTES header, then `message` (UTF-8, the header's length).
 */
export interface LogFrame {
  /** The header's kind bits: the Text or the JSON log format. */
  kind: 'text' | 'json';
  /** From the header's level bits, TRACE .. FATAL; undefined if none. */
  level: string | undefined;
  /** Microseconds since the epoch, as the runtime client stamped it. */
  timeUs: bigint;
  message: string;
}

/**
 * Reads frames from a byte stream that may split them anywhere. A header
 * whose magic is wrong means the stream lost its place: the reader says so
 * once (`onCorrupt`) and passes the rest on as text rather than guess.
 */
export class FrameReader {
  private _buf: Buffer = Buffer.alloc(0);
  private _corrupt = false;

  constructor(private readonly _onCorrupt?: (reason: string) => void) {}

  /**
   * The frames `chunk` completes, in order; once the stream is corrupt,
   * the remaining bytes as text.
   */
  push(chunk: Buffer): (LogFrame | string)[] {
    if (this._corrupt) return [chunk.toString('utf8')];
    this._buf =
      this._buf.length === 0 ? chunk : Buffer.concat([this._buf, chunk]);
    const out: (LogFrame | string)[] = [];
    while (this._buf.length >= FRAME_HEADER_BYTES) {
      const type = this._buf.readUInt32BE(0);
      const length = this._buf.readInt32BE(4);
      const kind = type & 3;
      if (
        (type & 0xffff0000) >>> 0 !== FRAME_MAGIC ||
        (kind !== FRAME_KIND_TEXT && kind !== FRAME_KIND_JSON) ||
        length < 0 ||
        length > MAX_FRAME_BYTES
      ) {
        this._corrupt = true;
        this._onCorrupt?.(
          `bad frame header 0x${type.toString(16)} length ${length}`
        );
        out.push(this._buf.toString('utf8'));
        this._buf = Buffer.alloc(0);
        return out;
      }
      if (this._buf.length < FRAME_HEADER_BYTES + length) break;
      out.push({
        kind: kind === FRAME_KIND_TEXT ? 'text' : 'json',
        level: LEVELS[(type >>> 2) & 7],
        timeUs: this._buf.readBigInt64BE(8),
        message: this._buf.toString(
          'utf8',
          FRAME_HEADER_BYTES,
          FRAME_HEADER_BYTES + length
        ),
      });
      this._buf = this._buf.subarray(FRAME_HEADER_BYTES + length);
    }
    return out;
  }

  /** Bytes of a frame not yet complete. */
  get pending(): number {
    return this._buf.length;
  }
}

/** Writes one frame as the runtime client does (for tests and fakes). */
export function encodeFrame(frame: LogFrame): Buffer {
  const body = Buffer.from(frame.message, 'utf8');
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  const levelBits = Math.max(0, LEVELS.indexOf(frame.level as never)) << 2;
  const kind = frame.kind === 'text' ? FRAME_KIND_TEXT : FRAME_KIND_JSON;
  header.writeUInt32BE((FRAME_MAGIC | levelBits | kind) >>> 0, 0);
  header.writeInt32BE(body.length, 4);
  header.writeBigInt64BE(frame.timeUs, 8);
  return Buffer.concat([header, body]);
}

/** One Telemetry API `function` record and what the runtime said of it. */
export interface FunctionRecord {
  /** Epoch ms (fractional: the frame's microseconds). */
  timeMs: number;
  /** As the Telemetry API carries it: text, or the parsed JSON object. */
  record: string | Record<string, unknown>;
  source: 'frame' | 'stdout' | 'stderr';
  /** From the frame header. */
  level?: string;
  /** From the record (the runtime client puts it in every entry). */
  requestId?: string;
  /** The frame itself, for checks. */
  frame?: LogFrame;
}

/**
 * A frame as Lambda hands it to the Telemetry API: a text frame is the
 * string the client wrote (`time\trequestId\tLEVEL\tmessage\n`); a JSON
 * frame is the object (lambda-apis.md §3.3), or its text if it does not
 * parse.
 */
export function frameRecord(frame: LogFrame): FunctionRecord {
  const timeMs = Number(frame.timeUs) / 1000;
  const base = {
    timeMs,
    source: 'frame' as const,
    frame,
    ...(frame.level ? { level: frame.level } : {}),
  };
  if (frame.kind === 'json') {
    try {
      const parsed = JSON.parse(frame.message) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const obj = parsed as Record<string, unknown>;
        return {
          ...base,
          record: obj,
          ...(typeof obj.requestId === 'string'
            ? { requestId: obj.requestId }
            : {}),
        };
      }
    } catch {
      // Not JSON after all: passed on as text below.
    }
    return { ...base, record: frame.message };
  }
  // `time\trequestId\tLEVEL\tmessage`: the id as the client wrote it (outside
  // an invocation, the text `undefined`).
  const parts = frame.message.split('\t');
  const id = parts.length >= 4 ? parts[1] : undefined;
  return { ...base, record: frame.message, ...(id ? { requestId: id } : {}) };
}

/** How to start a FunctionProcess (emulator.ts fills it in). */
export interface FunctionLaunch {
  /** The runtime interface client's entry (aws-lambda-ric's index.mjs). */
  runtimeClient: string;
  /** `file.export`, relative to taskRoot, as Lambda's `_HANDLER`. */
  handler: string;
  /** The function's folder (Lambda's /var/task). */
  taskRoot: string;
  /** The Node that runs it (default: this one). */
  nodePath?: string;
  /** The whole environment (the Lambda variables included). */
  env: Record<string, string>;
  /** `Text` or `JSON`: decides how the client frames and how we read lines. */
  logFormat: 'Text' | 'JSON';
  /** Each record the process produces: a frame, or a stdout / stderr line. */
  onRecord: (r: FunctionRecord) => void;
  /** Anything about the process itself (a broken frame stream). */
  onNote?: (note: string) => void;
}

/**
 * The running function process. `exited` resolves when it is gone and
 * every line and frame it wrote has been read.
 */
export class FunctionProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>;
  /** When it exited (epoch ms). */
  exitedAt: number | undefined;

  constructor(private readonly _l: FunctionLaunch) {
    this.child = spawn(_l.nodePath ?? process.execPath, [_l.runtimeClient], {
      cwd: _l.taskRoot,
      // fd 3 is the log descriptor the client writes its frames to.
      env: { ..._l.env, _LAMBDA_TELEMETRY_LOG_FD: '3' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const reads: Promise<void>[] = [];
    const frames = new FrameReader((reason) =>
      _l.onNote?.(`log descriptor: ${reason}; the rest is read as text`)
    );
    const fd3 = this.child.stdio[3] as Readable | null;
    if (fd3) {
      reads.push(
        new Promise((resolve) => {
          fd3.on('data', (chunk: Buffer) => {
            for (const f of frames.push(chunk)) {
              if (typeof f === 'string') this._line(f, 'stderr');
              else _l.onRecord(frameRecord(f));
            }
          });
          fd3.on('close', () => resolve());
          fd3.on('error', () => resolve());
        })
      );
    }
    for (const [stream, source] of [
      [this.child.stdout, 'stdout'],
      [this.child.stderr, 'stderr'],
    ] as const) {
      if (!stream) continue;
      reads.push(
        new Promise((resolve) => {
          let rest = '';
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => {
            const parts = (rest + chunk).split('\n');
            rest = parts.pop() ?? '';
            for (const p of parts) this._line(p, source);
          });
          stream.on('close', () => {
            if (rest) this._line(rest, source);
            rest = '';
            resolve();
          });
        })
      );
    }
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = (
        code: number | null,
        signal: NodeJS.Signals | null
      ): void => {
        if (done) return;
        done = true;
        this.exitedAt = Date.now();
        // Every byte written before the exit is read before we say so.
        void Promise.all(reads).then(() => resolve({ code, signal }));
      };
      this.child.on('exit', finish);
      this.child.on('error', (err) => {
        _l.onNote?.(`spawn failed: ${err.message}`);
        finish(-1, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitedAt === undefined && this.child.exitCode === null;
  }

  /** stdout and stderr lines: one record each, as Lambda captures them. */
  private _line(line: string, source: 'stdout' | 'stderr'): void {
    if (line === '') return;
    const timeMs = Date.now();
    // In the JSON format Lambda passes on a line that is a JSON object as
    // the object; anything else stays text.
    if (this._l.logFormat === 'JSON' && line.trimStart().startsWith('{')) {
      try {
        const obj = JSON.parse(line) as unknown;
        if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
          this._l.onRecord({
            timeMs,
            record: obj as Record<string, unknown>,
            source,
          });
          return;
        }
      } catch {
        // Text after all.
      }
    }
    this._l.onRecord({ timeMs, record: `${line}\n`, source });
  }

  /** Sends `sig` while it runs (SIGSTOP / SIGCONT freeze and thaw it). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Gone for good: SIGCONT (it may be frozen), SIGKILL, wait. */
  async kill(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

/**
 * The peak resident memory of a process (VmHWM, kB -> MB) on Linux, the
 * figure Lambda's `maxMemoryUsedMB` is made of; undefined elsewhere.
 */
export function peakMemoryMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
