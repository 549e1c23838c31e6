// npm run bench: the built layer under the emulator, side by side with its
// references in the same run (these machines are noisy). Prints a table,
// writes bench/results/latest.json, exits 1 if a budget is missed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as B from './budgets.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { LambdaEmulator, Sink, decodeOtlp } = await import(
  join(root, 'dist/emulator/index.mjs')
);
const LAUNCHER = join(root, 'dist/layer/extensions/lambda-telemetry-otel');
const MINIMAL = join(root, 'bench/minimal/extensions/minimal-extension');
const quick = process.argv.includes('--quick');
const STARTS = quick ? 5 : 15;
const INVOCATIONS = quick ? 200 : 1_000;
const BUFFERING = {
  LAMBDA_TELEMETRY_OTEL_BUFFER_MAX_ITEMS: '10000',
  LAMBDA_TELEMETRY_OTEL_BUFFER_MAX_BYTES: '1048576',
  LAMBDA_TELEMETRY_OTEL_BUFFER_TIMEOUT_MS: '25',
  LAMBDA_TELEMETRY_OTEL_LISTENER_HOST: '127.0.0.1',
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
};
const kib = (s, key) =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

// 1. init ---------------------------------------------------------------
async function bareNodeMs() {
  const t0 = process.hrtime.bigint();
  await new Promise((r) => spawn(process.execPath, ['-e', '0']).on('exit', r));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function initMs(extensionPath, env) {
  const emu = new LambdaEmulator({
    extensionPath,
    captureExtensionOutput: false,
    freezeProcess: false,
    env,
  });
  await emu.start();
  const l = await emu.launch();
  await emu.shutdown();
  await emu.close();
  if (l.initMs === undefined)
    throw new Error(`${extensionPath} did not reach /next`);
  return l.initMs;
}

async function benchInit() {
  const bare = [];
  const minimal = [];
  const ours = [];
  const withFile = [];
  const env = { ...BUFFERING, DISPATCH_POST_URI: 'http://127.0.0.1:9/' };
  // Interleaved, so drift on the machine hits all of them alike.
  for (let i = 0; i < STARTS; i++) {
    bare.push(await bareNodeMs());
    minimal.push(await initMs(MINIMAL, BUFFERING));
    ours.push(await initMs(LAUNCHER, env));
    withFile.push(
      await initMs(LAUNCHER, {
        ...env,
        LAMBDA_TELEMETRY_OTEL_CONFIG_FILE: join(
          root,
          'otel-config.example.yaml'
        ),
      })
    );
  }
  return {
    bare: median(bare),
    minimal: median(minimal),
    ours: median(ours),
    withFile: median(withFile),
    starts: STARTS,
  };
}

// 2. per-invocation overhead -------------------------------------------
async function benchOverhead(policy) {
  const sink = new Sink();
  const url = await sink.start();
  const emu = new LambdaEmulator({
    extensionPath: LAUNCHER,
    captureExtensionOutput: false,
    env: {
      ...BUFFERING,
      DISPATCH_POST_URI: url,
      LAMBDA_TELEMETRY_OTEL_FLUSH: policy,
    },
  });
  await emu.start();
  await emu.launch();
  const lines = [
    { atMs: 2, message: 'handler started' },
    { atMs: 10, level: 'WARN', message: 'something slow' },
    { atMs: 18, message: 'handler done' },
  ];
  for (let i = 0; i < INVOCATIONS; i++)
    await emu.invoke({ handlerMs: 20, lines });
  await emu.shutdown();
  await emu.close();
  // The loopback round trip of one small request, for the `end` budget.
  const rtts = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await (
      await fetch(`${url}/v1/logs`, { method: 'POST', body: 'x' })
    ).arrayBuffer();
    rtts.push(performance.now() - t0);
  }
  await sink.close();
  const o = emu.invocations.map(
    (v) => v.extensionOverheadMs ?? Number.POSITIVE_INFINITY
  );
  return {
    p50: pct(o, 50),
    p99: pct(o, 99),
    max: Math.max(...o),
    invocations: o.length,
    rttMs: median(rtts),
  };
}

// 3 + 4. throughput and memory -------------------------------------------
function batchOf(n, tag) {
  const rid = 'aaaaaaaa-1111-4222-8333-944445555666';
  const t = new Date().toISOString();
  return JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      time: t,
      type: 'function',
      record: `${t}\t${rid}\tINFO\t${tag} line ${i}: a typical application log message of some length\n`,
    }))
  );
}

async function benchThroughput(extensionPath = LAUNCHER) {
  const BATCHES = quick ? 20 : 50;
  const sink = new Sink();
  let records = 0;
  const url = await sink.start();
  const emu = new LambdaEmulator({
    extensionPath,
    captureExtensionOutput: false,
    freezeProcess: false,
    managedInstances: true,
    env: {
      ...BUFFERING,
      DISPATCH_POST_URI: url,
      LAMBDA_TELEMETRY_OTEL_FLUSH_INTERVAL_MS: '20',
    },
  });
  await emu.start();
  const l = await emu.launch();
  await sleep(300); // the export stack has loaded
  const target = emu.extension.subscription.target;
  const bodies = Array.from({ length: BATCHES }, (_, b) =>
    batchOf(10_000, `b${b}`)
  );
  // Private memory (RssAnon) is what the extension takes from the function;
  // the rest of RSS is mostly the node binary's pages, which in Lambda are
  // shared with the runtime's own Node. Sampled, as there is no anon HWM.
  let peakAnon = 0;
  const sampler = setInterval(() => {
    peakAnon = Math.max(peakAnon, kib(status(l.pid), 'RssAnon'));
  }, 5);
  const cpu0 = cpuMs(l.pid);
  const t0 = performance.now();
  let peak = 0;
  const want = BATCHES * 10_000;
  let seen = 0;
  const arrived = () => {
    while (seen < sink.requests.length) {
      const r = sink.requests[seen++];
      records += decodeOtlp(r.path, String(r.headers['content-type']), r.body)
        .logs.length;
    }
    return records;
  };
  // Paced like Lambda under load: the next batch goes once the one before
  // the last has reached the receiver, so at most two are in the extension.
  for (const [b, body] of bodies.entries()) {
    if (b >= 2) await sink.waitFor(() => arrived() >= (b - 1) * 10_000, 30_000);
    await (await fetch(target, { method: 'POST', body })).text();
    peak = Math.max(peak, kib(status(l.pid), 'VmRSS'));
  }
  const done = await sink.waitFor(() => arrived() >= want, 60_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (cpuMs(l.pid) - cpu0) / 1000;
  const hwm = kib(status(l.pid), 'VmHWM');
  clearInterval(sampler);
  await emu.shutdown();
  await emu.close();
  await sink.close();
  if (!done)
    throw new Error(`throughput: only ${records} of ${want} records arrived`);
  return {
    events: want,
    wallSeconds: seconds,
    cpuSeconds: cpu,
    perCpuSecond: want / cpu,
    perWallSecond: want / seconds,
    peakRssKiB: Math.max(peak, hwm),
    peakAnonKiB: peakAnon,
  };
}

async function benchFlood() {
  const BATCHES = quick ? 30 : 100;
  const emu = new LambdaEmulator({
    extensionPath: LAUNCHER,
    captureExtensionOutput: false,
    freezeProcess: false,
    env: { ...BUFFERING, DISPATCH_POST_URI: 'http://127.0.0.1:9/' },
  });
  await emu.start();
  const l = await emu.launch();
  emu.thaw();
  const target = emu.extension.subscription.target;
  const rss = [];
  for (let b = 0; b < BATCHES; b++) {
    await (
      await fetch(target, { method: 'POST', body: batchOf(10_000, `f${b}`) })
    ).text();
    rss.push(kib(status(l.pid), 'VmRSS'));
  }
  const hwm = kib(status(l.pid), 'VmHWM');
  await emu.shutdown();
  await emu.close();
  const half = Math.floor(rss.length / 2);
  return {
    events: BATCHES * 10_000,
    peakRssKiB: hwm,
    midRssKiB: Math.max(...rss.slice(0, half)),
    endRssKiB: Math.max(...rss.slice(half)),
  };
}

async function bareRssKiB() {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      "setTimeout(()=>process.stdout.write(require('fs').readFileSync('/proc/self/status','utf8')),200)",
    ],
    { encoding: 'utf8' }
  );
  return { hwm: kib(out, 'VmHWM'), anon: kib(out, 'RssAnon') };
}

/**
 * The throughput run again inside a 128 MiB memory cgroup, as a 128 MB
 * function's sandbox: Node sizes its heap from that limit, and the cgroup
 * charges what Lambda would. Needs a writable cgroup v1 memory hierarchy
 * (root here); elsewhere it is skipped.
 */
async function benchCgroup128() {
  const base = '/sys/fs/cgroup/memory';
  const cg = join(base, `lambda-telemetry-otel-bench-${process.pid}`);
  try {
    mkdirSync(cg);
    writeFileSync(join(cg, 'memory.limit_in_bytes'), String(128 * 2 ** 20));
  } catch {
    return undefined;
  }
  const dir = join(tmpdir(), `ltotel-cg-${process.pid}`, 'extensions');
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, 'lambda-telemetry-otel');
  writeFileSync(
    wrapper,
    `#!/bin/sh\necho $$ > ${cg}/cgroup.procs\nexec ${LAUNCHER} "$@"\n`,
    { mode: 0o755 }
  );
  try {
    const tp = await benchThroughput(wrapper);
    const charged = Number(
      readFileSync(join(cg, 'memory.max_usage_in_bytes'), 'utf8')
    );
    const failcnt = Number(readFileSync(join(cg, 'memory.failcnt'), 'utf8'));
    return { ...tp, chargedPeakKiB: charged / 1024, failcnt };
  } finally {
    await sleep(200);
    try {
      rmdirSync(cg);
    } catch {
      // A process still in it: the kernel removes it with the last one.
    }
  }
}

// 5. shutdown flush ------------------------------------------------------
async function benchShutdown() {
  const sink = new Sink();
  const url = await sink.start();
  const emu = new LambdaEmulator({
    extensionPath: LAUNCHER,
    captureExtensionOutput: false,
    freezeProcess: false,
    env: {
      ...BUFFERING,
      DISPATCH_POST_URI: url,
      DISPATCH_MIN_BATCH_SIZE: '100000',
      LAMBDA_TELEMETRY_OTEL_SHUTDOWN_WAIT_MS: '0',
    },
  });
  await emu.start();
  await emu.launch();
  emu.thaw();
  await sleep(300);
  const target = emu.extension.subscription.target;
  await (
    await fetch(target, { method: 'POST', body: batchOf(10_000, 's') })
  ).text();
  await sleep(100);
  const t0 = Date.now();
  const launch = await emu.shutdown();
  const ms = launch.exitedAt - t0;
  let records = 0;
  for (const r of sink.requests)
    records += decodeOtlp(
      r.path,
      String(r.headers['content-type']),
      r.body
    ).logs.filter(
      (l) => l.attributes['aws.lambda.event.type'] === 'function'
    ).length;
  await emu.close();
  await sink.close();
  return { ms, records, exitedBeforeDeadline: launch.exitedBeforeDeadline };
}

// 6. size ----------------------------------------------------------------
function size() {
  return JSON.parse(readFileSync(join(root, 'dist/.build-stamp'), 'utf8'));
}

// ---------------------------------------------------------------------------
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
log(`lambda-telemetry-otel bench on ${machine}${quick ? ' (quick)' : ''}`);
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (section) => only === undefined || only.includes(section);
const mib = (k) => k / 1024;
const rows = [];
const results = { machine, quick, date: new Date().toISOString() };

if (runs('init')) {
  log('init...');
  const init = await benchInit();
  results.init = init;
  rows.push(
    [
      'init: bare node -e 0 (spawn to exit)',
      `${init.bare.toFixed(1)} ms`,
      'reference',
      null,
    ],
    [
      'init: minimal extension (spawn to first /next)',
      `${init.minimal.toFixed(1)} ms`,
      'reference',
      null,
    ],
    [
      'init: lambda-telemetry-otel, no config file',
      `${init.ours.toFixed(1)} ms`,
      `<= minimal + ${B.INIT_OVER_MINIMAL_MS} ms (${(init.minimal + B.INIT_OVER_MINIMAL_MS).toFixed(1)})`,
      init.ours <= init.minimal + B.INIT_OVER_MINIMAL_MS,
    ],
    [
      'init: lambda-telemetry-otel, with the example config file',
      `${init.withFile.toFixed(1)} ms`,
      'reported (the YAML parser loads only then)',
      null,
    ]
  );
}
if (runs('overhead')) {
  log('overhead (next-invoke)...');
  const next = await benchOverhead('next-invoke');
  log('overhead (end)...');
  const end = await benchOverhead('end');
  results.overhead = { nextInvoke: next, end };
  rows.push(
    [
      'overhead p50 / p99, next-invoke',
      `${next.p50.toFixed(2)} / ${next.p99.toFixed(2)} ms`,
      `p99 <= ${B.OVERHEAD_P99_NEXT_INVOKE_MS} ms`,
      next.p99 <= B.OVERHEAD_P99_NEXT_INVOKE_MS,
    ],
    [
      'overhead p50 / p99, end',
      `${end.p50.toFixed(2)} / ${end.p99.toFixed(2)} ms`,
      `p99 <= 25 + rtt ${end.rttMs.toFixed(2)} + ${B.OVERHEAD_END_SLACK_MS} ms`,
      end.p99 <= 25 + end.rttMs + B.OVERHEAD_END_SLACK_MS,
    ]
  );
}
if (runs('throughput') || runs('memory')) {
  const bare = await bareRssKiB();
  results.bareRssKiB = bare;
  log('throughput...');
  const tp = await benchThroughput();
  results.throughput = tp;
  rows.push(
    [
      'throughput (OTLP protobuf, 10,000-event batches)',
      `${Math.round(tp.perCpuSecond).toLocaleString('en')} events/CPU-s (${Math.round(tp.perWallSecond).toLocaleString('en')}/s wall)`,
      `>= ${B.THROUGHPUT_MIN_EVENTS_PER_S.toLocaleString('en')} events/s on one core`,
      tp.perCpuSecond >= B.THROUGHPUT_MIN_EVENTS_PER_S,
    ],
    [
      'peak RSS: bare node (private part)',
      `${mib(bare.hwm).toFixed(1)} MiB (${mib(bare.anon).toFixed(1)})`,
      'reference',
      null,
    ],
    [
      'peak RSS: throughput run',
      `${mib(tp.peakRssKiB).toFixed(1)} MiB`,
      `<= bare + ${B.RSS_OVER_BARE_MIB} MiB (${(mib(bare.hwm) + B.RSS_OVER_BARE_MIB).toFixed(1)})`,
      mib(tp.peakRssKiB) <= mib(bare.hwm) + B.RSS_OVER_BARE_MIB,
    ],
    [
      'peak private memory (RssAnon): throughput run',
      `${mib(tp.peakAnonKiB).toFixed(1)} MiB`,
      'reported: what the function gives up',
      null,
    ]
  );
}
if (runs('cgroup') || runs('memory')) {
  log('throughput in a 128 MiB memory cgroup...');
  const cg = await benchCgroup128();
  results.cgroup128 = cg ?? null;
  rows.push([
    'in a 128 MiB memory cgroup (a 128 MB function): charged peak / RSS',
    cg
      ? `${mib(cg.chargedPeakKiB).toFixed(1)} / ${mib(cg.peakRssKiB).toFixed(1)} MiB, ${Math.round(cg.perCpuSecond).toLocaleString('en')} events/CPU-s`
      : 'n/a (no writable memory cgroup)',
    'reported',
    null,
  ]);
}
if (runs('flood') || runs('memory')) {
  log('flood...');
  const flood = await benchFlood();
  results.flood = flood;
  rows.push([
    'peak RSS: flood, receiver down (first half / second half)',
    `${mib(flood.midRssKiB).toFixed(1)} / ${mib(flood.endRssKiB).toFixed(1)} MiB`,
    `flat: growth <= ${B.FLOOD_RSS_GROWTH_MIB} MiB`,
    mib(flood.endRssKiB - flood.midRssKiB) <= B.FLOOD_RSS_GROWTH_MIB,
  ]);
}
if (runs('shutdown')) {
  log('shutdown...');
  const sd = await benchShutdown();
  results.shutdown = sd;
  rows.push([
    'shutdown: flush 10,000 pending records',
    `${sd.ms} ms (${sd.records} arrived)`,
    `<= ${B.SHUTDOWN_FLUSH_MS} ms, all arrived`,
    sd.ms <= B.SHUTDOWN_FLUSH_MS &&
      sd.records === 10_000 &&
      sd.exitedBeforeDeadline,
  ]);
}
if (runs('size')) {
  const sz = size();
  results.size = sz;
  rows.push(
    [
      'size: entry chunk',
      `${(sz.entryBytes / 1024).toFixed(1)} KiB`,
      `<= ${B.ENTRY_CHUNK_BYTES / 1024} KiB`,
      sz.entryBytes <= B.ENTRY_CHUNK_BYTES,
    ],
    [
      'size: layer JavaScript',
      `${(sz.layerBytes / 1024).toFixed(1)} KiB`,
      `<= ${(B.LAYER_JS_BYTES / 1024).toFixed(0)} KiB`,
      sz.layerBytes <= B.LAYER_JS_BYTES,
    ]
  );
}
const w = [
  Math.max(...rows.map((r) => r[0].length)),
  Math.max(...rows.map((r) => r[1].length)),
  Math.max(...rows.map((r) => r[2].length)),
];
console.log(
  `\nlambda-telemetry-otel bench: ${machine}${quick ? ' (quick)' : ''}\n`
);
for (const [name, value, budget, ok] of rows) {
  console.log(
    `${name.padEnd(w[0])}  ${value.padEnd(w[1])}  ${budget.padEnd(w[2])}  ${ok === null ? '' : ok ? 'PASS' : 'FAIL'}`
  );
}
results.rows = rows.map(([name, value, budget, ok]) => ({
  name,
  value,
  budget,
  pass: ok,
}));
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/latest.json'),
  `${JSON.stringify(results, null, 2)}\n`
);
const failed = rows.filter((r) => r[3] === false).length;
console.log(
  `\n${failed === 0 ? 'all budgets met' : `${failed} budget(s) missed`}; figures in bench/results/latest.json`
);
process.exit(failed === 0 ? 0 : 1);
