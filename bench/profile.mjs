// `node bench/profile.mjs [cold|write|signal|detect|import|bundle ...]`: the profiles and part timings behind
// the analysis in docs/performance.md, to check a fix in src/ against them. Pure CPU: the handlers run
// against a fake client that answers at once (no SDK, no I/O), so what is measured is the library's
// own work. CPU profiles are written to .tmp/bench/profiles/ (open them in Chrome DevTools) and
// summarised here. Builds dist/ and the bench bundles first, like `npm run bench`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFromSource, bundleInternals, handlerBundleOptions } from './internals.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const OUT = join(root, '.tmp/bench/profile');
const PROFILES = join(root, '.tmp/bench/profiles');
const now = () => process.hrtime.bigint();
const ms = (from, to = now()) => Number(to - from) / 1e6;

const fakeItem = (codec, H, key) => ({
  key: { S: key },
  value: { M: Object.fromEntries(Object.entries(H.updateValues(42)).map(([k, v]) => [k, codec.encodeValue(k, v)])) },
  revision: { N: '7' },
  format: { N: '1' },
  updatedAt: { S: new Date(0).toISOString() },
  writeId: { S: '00000000-0000-0000-0000-000000000000' },
});
/** A DynamoDBSender answering at once: GetItem with `item` (or nothing), PutItem with success. */
const fakeClient = (item) => ({
  requests: 0,
  async send(command) {
    this.requests += 1;
    return command.constructor.name === 'GetItemCommand' && item ? { Item: item } : {};
  },
});
const context = () => {
  const deadline = Date.now() + 3000;
  return { functionName: 'bench', getRemainingTimeInMillis: () => deadline - Date.now() };
};

if (process.argv[2] === '--cold-child') {
  await coldChild();
} else {
  await main(process.argv.slice(2));
}

async function main(modes) {
  const all = ['cold', 'write', 'signal', 'detect', 'import', 'bundle'];
  if (modes.length === 0) modes = all;
  for (const mode of modes) if (!all.includes(mode)) throw new Error(`modes: ${all.join(', ')}`);
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(OUT, { recursive: true });
  mkdirSync(PROFILES, { recursive: true });
  await build({ entryPoints: [join(root, 'bench/handlers/warm.ts')], outfile: join(OUT, 'warm.js') });
  await bundleInternals(root, join(OUT, 'internals.js'));
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  for (const mode of modes) {
    console.log(`\n=== ${mode}`);
    await { cold, write, signal, detect, import: imports, bundle }[mode]();
  }
}

async function build(options) {
  const esbuild = require('esbuild');
  return esbuild.build({ ...handlerBundleOptions(root), ...options });
}

// ---------------------------------------------------------------------------------------- profiling

async function profiled(name, intervalUs, fn) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  let result;
  try {
    result = await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(join(PROFILES, `${name}.cpuprofile`), JSON.stringify(profile));
    result = { result, profile };
  }
  return result;
}

/**
 * Inclusive ms per call of the named functions of the bench bundle (a function counted once per
 * stack; names in parentheses are V8's, such as "(garbage collector)"), over `calls`.
 */
function inclusive(profile, names, calls) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map(names.map((n) => [n, 0]));
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    const seen = new Set();
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const { functionName: name, url } = byId.get(x).callFrame;
      const ours = url.endsWith('/warm.js') || name.startsWith('(');
      if (ours && totals.has(name) && !seen.has(name)) {
        seen.add(name);
        totals.set(name, totals.get(name) + dt);
      }
    }
  });
  return { perCall: Object.fromEntries([...totals].map(([k, v]) => [k, v / 1000 / calls])), totalMs: all / 1000 };
}

/**
 * The named functions' shares of the profiled time, and what that share is of `medianMs`, the
 * unprofiled median duration of one invocation (absolute per-call figures from the sampler are
 * inflated by its own overhead; shares are not, much).
 */
function printInclusive(title, { perCall }, calls, totalMs, medianMs, unit = 'µs') {
  const scale = unit === 'µs' ? 1000 : 1;
  console.log(`  ${title}: share of the profiled time (inclusive), and that share of the ${(medianMs * scale).toFixed(1)} ${unit} median`);
  for (const [name, value] of Object.entries(perCall)) {
    const share = (value * calls) / totalMs;
    console.log(`    ${(100 * share).toFixed(1).padStart(5)} %  ≈ ${(share * medianMs * scale).toFixed(unit === 'µs' ? 1 : 2).padStart(7)} ${unit}  ${name}`);
  }
}

function median(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// ------------------------------------------------------------------------------------------- modes

/**
 * The first invocation in fresh processes, the library's own work split by wall clock into its
 * steps. dist/ is one bundle whose internals cannot be reached from outside, so the handler is
 * bundled here together with the library's sources (src/, what scripts/build.mjs bundles into
 * dist/) and the internal classes, from one module graph; their methods are wrapped with timers in
 * the child (a CPU profile of one 5 ms event samples too coarsely).
 */
async function cold() {
  const { fork } = await import('node:child_process');
  await buildWithInternals();
  const run = () =>
    new Promise((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), ['--cold-child'], { execArgv: [] });
      let reply;
      child.once('message', (message) => (reply = message));
      child.once('exit', (code) => (code === 0 ? resolve(reply) : reject(new Error(`cold child exited with ${code}`))));
    });
  const runs = [];
  for (let i = 0; i < 15; i++) runs.push(await run());
  console.log('  first invocation, library work only (fake client answering at once), 15 fresh processes, median ms:');
  for (const part of Object.keys(runs[0])) {
    console.log(`    ${median(runs.map((r) => r[part] ?? 0)).toFixed(3).padStart(7)}  ${part}`);
  }
}

/** Times `setTimeout()` (the deadline timer the first request arms, src/persistence/Deadline.ts) under one name. */
function wrapDeadline(add) {
  const name = "the deadline's timer (the process's first setTimeout, which the SDK's first request pays otherwise)";
  const originalSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = function (...args) {
    const t0 = now();
    const timer = originalSetTimeout(...args);
    add(name, t0);
    return timer;
  };
}

/** The bench handlers bundled from src/ together with the internal classes, from one module graph. */
function buildWithInternals() {
  return bundleFromSource(
    root,
    "export * from './bench/handlers/warm';\n" +
      "export { TrackedState } from './src/persistence/TrackedState';\n" +
      "export { DynamoDBRowStore } from './src/persistence/RowStore';\n" +
      "export { LargeStateStorage } from './src/persistence/storage/largeState';\n" +
      "export { encodeValue } from './src/persistence/codec';\n",
    join(OUT, 'warm-with-internals.js'),
    { alias: { 'aws-lambda-persistence': join(root, 'src/index.ts') } },
  );
}

async function coldChild() {
  const H = require(join(OUT, 'warm-with-internals.js'));
  const { TrackedState, DynamoDBRowStore } = H;
  const parts = {};
  const add = (name, t0) => (parts[name] = (parts[name] ?? 0) + ms(t0));
  const wrap = (target, method, name) => {
    const original = target[method];
    target[method] = function (...args) {
      const t0 = now();
      const result = original.apply(this, args);
      if (result instanceof Promise) return result.finally(() => add(name, t0));
      add(name, t0);
      return result;
    };
  };
  wrap(TrackedState.prototype, 'attach', 'TrackedState.attach (the accessors; no encoding)');
  // The deadline's timer, armed by the first request: the process's first setTimeout.
  wrapDeadline(add);
  wrap(DynamoDBRowStore.prototype, 'get', 'DynamoDBRowStore.get (GetItemCommand, fake send, parse)');
  wrap(TrackedState.prototype, 'load', 'TrackedState.load (decode the stored fields)');
  wrap(TrackedState.prototype, 'detectMutations', 'TrackedState.detectMutations (end of invocation)');
  // Inside detectMutations: the first check after load has no copies yet, so it encodes the object
  // fields and decodes their copies (TrackedState's private encode/decode, also used by attach/load).
  const inDetect = { encode: 0, decode: 0 };
  let detecting = false;
  const detect = TrackedState.prototype.detectMutations;
  TrackedState.prototype.detectMutations = function (...args) {
    detecting = true;
    try {
      return detect.apply(this, args);
    } finally {
      detecting = false;
    }
  };
  for (const method of ['encode', 'decode']) {
    const original = TrackedState.prototype[method];
    TrackedState.prototype[method] = function (...args) {
      if (!detecting) return original.apply(this, args);
      const t0 = now();
      try {
        return original.apply(this, args);
      } finally {
        inDetect[method] += ms(t0);
      }
    };
  }
  const client = fakeClient(fakeItem(H, H, 'bench'));
  const handler = H.SmallState.bind({ tableName: 'BenchPersistence', tableKey: 'bench', client });
  const ctx = context();
  const t0 = now();
  await handler({}, ctx);
  const total = ms(t0);
  const measured = Object.values(parts).reduce((a, b) => a + b, 0);
  process.send(
    {
      'first invocation, total': total,
      ...parts,
      '  of which encoding the object fields again (none when the copies match)': inDetect.encode,
      '  of which decoding the copies of the 3 object fields': inDetect.decode,
      'the rest (DynamoDBRowStore and Session constructors, queue, promises)': total - measured,
    },
    () => process.exit(0),
  );
}

/**
 * Warm write invocations (set of one field, update() of ten) and a warm invocation changing nothing,
 * with an event-loop turn between invocations (as the I/O between real invocations gives: timers
 * and signals of earlier invocations are still pending). Then the parts the raw baseline pays too.
 */
async function write() {
  const H = require(join(OUT, 'warm.js'));
  const lib = require(join(OUT, 'internals.js'));
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  let n = 1;
  for (const [scenario, event, reps] of [
    ['set', () => ({ set: ++n }), 20_000],
    ['update', () => ({ update: ++n }), 20_000],
    ['no change', () => ({}), 50_000],
  ]) {
    const client = fakeClient();
    const handler = H.SmallState.bind({ tableName: 'BenchPersistence', tableKey: `bench-${n}`, client });
    await handler({}, context());
    const times = [];
    for (let i = 0; i < reps; i++) {
      const e = event();
      const c = context();
      const t0 = now();
      await handler(e, c);
      times.push(ms(t0) * 1000);
      await turn();
    }
    console.log(`  ${scenario}: library work per warm invocation (fake client) median ${median(times).toFixed(1)} µs over ${reps}`);
    const names = [
      'assign',
      'detectMutations',
      'sameValue',
      'checkSize',
      'encode',
      'decode',
      'fingerprint',
      'attributeSize',
      'startDeadline',
      'requestSignal',
      'newWriteId',
      'put',
      'layout',
      '(garbage collector)',
    ];
    const t0 = now();
    const { profile } = await profiled(`warm-${scenario.replace(' ', '-')}`, 20, async () => {
      for (let i = 0; i < reps; i++) {
        await handler(event(), context());
        await turn();
      }
    });
    const loopMs = ms(t0);
    printInclusive(`${scenario}, profiled`, inclusive(profile, names, reps), reps, loopMs, median(times) / 1000);
    printSelf(profile, 12);
  }
  await splitPut(turn);
  // A small change in a large state: the write stores the whole state, and sizes it for its layout.
  const large = H.LargeState.bind({ tableName: 'BenchPersistence', tableKey: 'bench-large-write', client: fakeClient() });
  await large({ seed: 930, count: 0 }, context());
  const largeTimes = [];
  for (let i = 1; i <= 2_000; i++) {
    const t0 = now();
    await large({ count: i }, context());
    if (i > 200) largeTimes.push(ms(t0));
    await turn();
  }
  console.log(`  set of a small field in a 100 KB state + flush (fake client): median ${median(largeTimes).toFixed(3)} ms over 1800`);
  // Included in 'put' above, and paid by the raw PutItem baseline as well: building the command.
  const { PutItemCommand } = require('@aws-sdk/client-dynamodb');
  const item = fakeItem(lib, H, 'bench');
  const t = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = now();
    new PutItemCommand({ TableName: 'BenchPersistence', Item: item, ConditionExpression: '#revision = :expected' });
    t.push(ms(t0) * 1000);
  }
  console.log(`  new PutItemCommand() of the bench item (the raw baseline builds one too): median ${median(t).toFixed(1)} µs`);
  const signals = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = now();
    AbortSignal.timeout(2900);
    signals.push(ms(t0) * 1000);
    if (i % 100 === 0) await turn();
  }
  const cleared = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 2900).unref();
    clearTimeout(timer);
    cleared.push(ms(t0) * 1000);
    if (i % 100 === 0) await turn();
  }
  const deadlines = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = now();
    const deadline = new lib.Deadline(Date.now() + 2900);
    deadline.requestSignal();
    deadline.end();
    deadlines.push(ms(t0) * 1000);
    if (i % 100 === 0) await turn();
  }
  console.log(
    `  AbortSignal.timeout(2900), once per invocation before ecc59b3: median ${median(signals).toFixed(2)} µs; ` +
      `an AbortController with an unref'd setTimeout, cleared when the invocation ends (until 35e1be3): ${median(cleared).toFixed(2)} µs; ` +
      `the Deadline of src/persistence/Deadline.ts, armed by a request and ended: ${median(deadlines).toFixed(2)} µs`,
  );
}

/**
 * DynamoDBRowStore.put (src/persistence/RowStore.ts) in a warm set invocation, by wall clock: the
 * whole call (fake send included) and its layout() (the size check of the whole state). Timers
 * around the methods stop V8 inlining them, which the profile above cannot see past.
 */
async function splitPut(turn) {
  const W = require(await buildWithInternals());
  const times = { put: [], layout: [] };
  let current;
  const original = { put: W.DynamoDBRowStore.prototype.put, layout: W.LargeStateStorage.prototype.layout };
  W.LargeStateStorage.prototype.layout = function (...args) {
    const t0 = now();
    try {
      return original.layout.apply(this, args);
    } finally {
      current.layout += ms(t0);
    }
  };
  W.DynamoDBRowStore.prototype.put = async function (...args) {
    const t0 = now();
    try {
      return await original.put.apply(this, args);
    } finally {
      current.put += ms(t0);
    }
  };
  const handler = W.SmallState.bind({ tableName: 'BenchPersistence', tableKey: 'bench-split-put', client: fakeClient() });
  await handler({}, context());
  for (let i = 0; i < 20_000; i++) {
    current = { put: 0, layout: 0 };
    await handler({ set: i + 2 }, context());
    if (i >= 2000) for (const k of Object.keys(times)) times[k].push(current[k] * 1000);
    await turn();
  }
  console.log(
    `  set, DynamoDBRowStore.put by wall clock (src/ bundle, methods wrapped), median of 18000: put ${median(times.put).toFixed(1)} µs, ` +
      `of which layout() ${median(times.layout).toFixed(1)} µs`,
  );
}

/**
 * What the abort signal the library passes with every request costs in the SDK: raw PutItems to
 * dynalite (bench/dynalite-server.mjs) on one client, interleaved, without a signal, with an
 * AbortSignal.timeout() (what the library passed before ecc59b3), with an AbortController whose
 * timer is cleared after the request (until 35e1be3), with the SDK's per-request `requestTimeout`
 * instead of a signal (which bounds each attempt, not the invocation), with plain objects of the
 * SDK's abort-signal interface, and with the library's own Deadline signal. Everything but the
 * signal is the same.
 */
async function signal() {
  const { fork } = await import('node:child_process');
  const server = fork(join(root, 'bench/dynalite-server.mjs'), [], { stdio: 'ignore' });
  try {
    const port = await new Promise((resolve) => server.on('message', (m) => m?.type === 'ready' && resolve(m.port)));
    const { DynamoDBClient, CreateTableCommand, PutItemCommand } = require('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      maxAttempts: 3,
    });
    const TableName = 'BenchSignal';
    await client.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const H = require(join(OUT, 'warm.js'));
    const lib = require(join(OUT, 'internals.js'));
    const put = (key, options) => client.send(new PutItemCommand({ TableName, Item: fakeItem(lib, H, key) }), options);
    const sides = {
      'no signal (the raw baseline)': (key) => put(key),
      'AbortSignal.timeout(2900) (what the library passed before ecc59b3)': (key) => put(key, { abortSignal: AbortSignal.timeout(2900) }),
      'no signal, requestTimeout 2900 ms (a per-attempt socket timeout instead)': (key) => put(key, { requestTimeout: 2900 }),
      'AbortController, its timer cleared after the request (what the library passed until 35e1be3)': async (key) => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 2900).unref();
        try {
          return await put(key, { abortSignal: controller.signal });
        } finally {
          clearTimeout(timer);
        }
      },
      'a plain { aborted, onabort } object (the SDK AbortSignal interface), one per request': (key) =>
        put(key, { abortSignal: { aborted: false, reason: undefined, onabort: null } }),
      'a plain object with array-backed addEventListener/removeEventListener': (key) => {
        const listeners = [];
        const signal = {
          aborted: false,
          reason: undefined,
          addEventListener: (_type, fn) => listeners.push(fn),
          removeEventListener: (_type, fn) => {
            const i = listeners.indexOf(fn);
            if (i >= 0) listeners.splice(i, 1);
          },
        };
        return put(key, { abortSignal: signal });
      },
      "the library's Deadline signal (src/persistence/Deadline.ts, what it passes now)": async (key) => {
        const deadline = new lib.Deadline(Date.now() + 2900);
        try {
          return await put(key, { abortSignal: deadline.requestSignal() });
        } finally {
          deadline.end();
        }
      },
    };
    const names = Object.keys(sides);
    const times = Object.fromEntries(names.map((name) => [name, []]));
    for (let i = 0; i < 1100; i++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length];
        const t0 = now();
        await sides[name](`bench-signal-${j}`);
        if (i >= 100) times[name].push(ms(t0));
      }
    }
    console.log('  raw PutItem of the bench item to dynalite, one client, interleaved, median of 1000:');
    for (const [name, t] of Object.entries(times)) console.log(`    ${median(t).toFixed(3).padStart(7)} ms  ${name}`);
    client.destroy();
  } finally {
    server.kill();
  }
}

/**
 * End-of-invocation change detection on the bench's 100 KB state: the library's functions (bundled
 * from src/), the bench handler's warm invocations changing nothing, and a profile of them.
 */
async function detect() {
  const H = require(join(OUT, 'warm.js'));
  const lib = require(join(OUT, 'internals.js'));
  const state = H.largeState(930);
  const time = (label, fn, reps = 200) => {
    for (let i = 0; i < 20; i++) fn();
    const t = [];
    for (let i = 0; i < reps; i++) {
      const t0 = now();
      fn();
      t.push(ms(t0));
    }
    t.sort((a, b) => a - b);
    console.log(`  ${label.padEnd(82)} median ${median(t).toFixed(3)} ms, p90 ${t[Math.floor(reps * 0.9)].toFixed(3)}`);
  };
  const attributes = { log: lib.encodeValue('log', state.log), byId: lib.encodeValue('byId', state.byId) };
  const copies = { log: lib.decodeValue('log', attributes.log), byId: lib.decodeValue('byId', attributes.byId) };
  console.log(`  state: ${lib.attributeSize({ M: attributes })} B DynamoDB size, two object fields`);
  let sink;
  time('nothing changed: sameValue(live, copy) per object field (src/persistence/sameValue.ts)', () => {
    for (const k of ['log', 'byId']) if (!lib.sameValue(state[k], copies[k])) throw new Error('differs');
  });
  time('  reference: a minimal deep equality for plain data (arrays, plain objects, primitives)', () => {
    for (const k of ['log', 'byId']) if (!plainEqual(state[k], copies[k])) throw new Error('differs');
  });
  time('changed (or first check after load / assignment): encodeValue + fingerprint + attributeSize', () => {
    for (const k of ['log', 'byId']) {
      const a = lib.encodeValue(k, state[k]);
      sink = lib.fingerprint(a) + lib.attributeSize(a);
    }
  });
  time('  and then: decodeValue() of the new encoding (the copy)', () => {
    for (const k of ['log', 'byId']) sink = lib.decodeValue(k, attributes[k]);
  }, 50);
  time('reference: JSON.stringify(state)', () => {
    sink = JSON.stringify(state);
  });
  const client = fakeClient();
  const handler = H.LargeState.bind({ tableName: 'BenchPersistence', tableKey: 'bench-detect', client });
  await handler({ seed: 930 }, context());
  const times = [];
  for (let i = 0; i < 300; i++) {
    const c = context();
    const t0 = now();
    await handler({}, c);
    times.push(ms(t0));
  }
  console.log(`  the bench handler, warm invocation changing nothing (fake client): median ${median(times).toFixed(3)} ms over 300`);
  const t0 = now();
  const { profile } = await profiled('detect-100KB', 50, async () => {
    for (let i = 0; i < 300; i++) await handler({}, context());
  });
  const loopMs = ms(t0);
  const names = ['detectMutations', 'sameValue', 'sameArray', 'sameObject', 'encode', 'fingerprint', 'attributeSize', 'decode', 'startDeadline', '(garbage collector)'];
  printInclusive('warm invocations changing nothing (the bench handler)', inclusive(profile, names, 300), 300, loopMs, median(times), 'ms');
  printSelf(profile);
  await detectVariants();
  return sink;
}

/**
 * sameObject's key listing, end to end: the bench's LargeState handler bundled from src/ as it is
 * (Reflect.ownKeys, since ecc59b3), as it was before (Object.keys plus an
 * Object.getOwnPropertySymbols check per object), and with Object.keys alone (no symbol check);
 * warm invocations changing nothing at 100 KB, interleaved, fake client.
 */
async function detectVariants() {
  const { readFileSync } = await import('node:fs');
  const sameValuePath = join(root, 'src/persistence/sameValue.ts');
  const edit = (name, pattern, replacement) => ({
    name,
    setup(b) {
      b.onLoad({ filter: /sameValue\.ts$/ }, () => {
        const text = readFileSync(sameValuePath, 'utf8');
        if (!pattern.test(text)) throw new Error(`sameValue.ts no longer matches ${pattern}`);
        return { contents: text.replace(pattern, replacement), loader: 'ts' };
      });
    },
  });
  const TOP_LEVEL_CHECK = /^\s*if \(typeof live === 'object' && live !== null && Object\.getOwnPropertySymbols\(live\)\.length > 0\) return false;$/m;
  const KEYS_LINE = /^(\s*)const keys = Object\.keys\(a\);$/m;
  const variants = {
    "src/ as it is (symbol keys checked on the field's own object only)": { file: join(OUT, 'large-src.js'), plugins: [] },
    'symbol keys checked on every object (before, Object.getOwnPropertySymbols in sameObject)': {
      file: join(OUT, 'large-src-every.js'),
      plugins: [edit('every-object', KEYS_LINE, (_, indent) => `${indent}const keys = Object.keys(a); if (Object.getOwnPropertySymbols(a).length > 0) return false;`)],
    },
    'no symbol check at all': {
      file: join(OUT, 'large-src-none.js'),
      plugins: [edit('none', TOP_LEVEL_CHECK, '')],
    },
  };
  const entry = join(root, 'bench/handlers/warm.ts');
  const alias = { 'aws-lambda-persistence': join(root, 'src/index.ts') };
  for (const { file, plugins } of Object.values(variants)) await build({ entryPoints: [entry], outfile: file, alias, plugins });
  const handlers = {};
  for (const [label, { file }] of Object.entries(variants)) {
    const H = require(file);
    handlers[label] = H.LargeState.bind({ tableName: 'BenchPersistence', tableKey: `bench-variant-${label}`, client: fakeClient() });
    await handlers[label]({ seed: 930 }, context());
  }
  const times = Object.fromEntries(Object.keys(handlers).map((k) => [k, []]));
  for (let i = 0; i < 400; i++) {
    for (const [label, handler] of Object.entries(handlers)) {
      const c = context();
      const t0 = now();
      await handler({}, c);
      if (i >= 50) times[label].push(ms(t0));
    }
  }
  console.log('  warm invocation changing nothing, 100 KB state, fake client, interleaved, median of 350:');
  for (const [label, t] of Object.entries(times)) console.log(`    ${median(t).toFixed(3).padStart(7)} ms  ${label}`);
}

/**
 * Self time by function (the top `top`), for what inclusive shares cannot tell in recursive code.
 * Samples in the inspector's own frames ('dispatch', the profiler session) and idle are left out.
 */
function printSelf(profile, top = 10) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === 'dispatch' || functionName === '(idle)') return;
    all += dt;
    const key = `${functionName || '(anonymous)'} ${url ? `${url.split('/').pop()}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  console.log(`  self time, top ${top} (of the samples outside the inspector's own frames):`);
  for (const [key, dt] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${((100 * dt) / all).toFixed(1).padStart(5)} %  ${key}`);
  }
}

/** Deep equality for JSON-like data only: what sameValue costs beyond the comparison itself. */
function plainEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!plainEqual(a[i], b[i])) return false;
    return true;
  }
  let n = 0;
  for (const key in a) {
    n++;
    if (!plainEqual(a[key], b[key])) return false;
  }
  n -= Object.keys(b).length;
  return n === 0;
}

/**
 * The package's import once the SDK is loaded, in fresh processes: dist/ as shipped (by name, as the
 * bench imports it, and by path), the same sources bundled without minification (dist/ before
 * ecc59b3) and fully minified, and the pieces: reflect-metadata (which the library no longer
 * imports; users of design:type do), node:crypto, an empty file (the floor of one require).
 */
async function imports() {
  const dir = join(OUT, 'import');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'empty.js'), '');
  const external = ['@aws-sdk/*', 'class-transformer', 'reflect-metadata'];
  await bundleFromSource(root, "export * from './src/index';\n", join(dir, 'src-unminified.js'));
  await build({ entryPoints: [join(root, 'dist/index.js')], external, alias: {}, minify: true, outfile: join(dir, 'dist-minified.js') });
  const probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    "require('@aws-sdk/client-dynamodb'); const t = process.hrtime.bigint(); require(process.argv[2]); " +
      'process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));',
  );
  const variants = {
    "'aws-lambda-persistence' (by name, through its exports; what npm run bench times)": 'aws-lambda-persistence',
    'dist/index.js by path': join(root, 'dist/index.js'),
    '  the same sources bundled without minification (as dist/ was before ecc59b3)': join(dir, 'src-unminified.js'),
    '  dist/ fully minified (esbuild --minify, identifiers too)': join(dir, 'dist-minified.js'),
    'reflect-metadata alone': 'reflect-metadata',
    'node:crypto alone': 'node:crypto',
    'an empty file (the floor of one require)': join(dir, 'empty.js'),
  };
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let round = 0; round < 17; round++) {
    for (const [label, target] of Object.entries(variants)) {
      const value = Number(execFileSync(process.execPath, [probe, target], { cwd: root, encoding: 'utf8' }));
      if (round >= 2) samples[label].push(value);
    }
  }
  console.log('  import once @aws-sdk/client-dynamodb is loaded, fresh processes, 15 each, interleaved:');
  for (const [label, values] of Object.entries(samples)) console.log(`    ${median(values).toFixed(2).padStart(7)} ms  ${label}`);
}

/** The minified handler bundle, the library by module (from src/), and what shipping ESM / leaving the optional packages out would give. */
async function bundle() {
  const { gzipSync } = await import('node:zlib');
  const entry = join(root, 'bench/handlers/coldstart.ts');
  const variants = [
    ['dist/ (one CommonJS bundle) as shipped', join(root, 'dist/index.js'), []],
    ['src/ as ES modules (what a real ESM build would give)', join(root, 'src/index.ts'), []],
    ['src/ as ES modules, with the class-transformer subpath imported', join(root, 'src/index.ts'), [], true],
  ];
  for (const [label, library, external, withClassTransformer] of variants) {
    const result = await build({
      entryPoints: [entry],
      // The handler as a user with class instances writes it: the subpath imported first.
      ...(withClassTransformer && {
        stdin: {
          contents: `import './src/class-transformer';\nexport * from './bench/handlers/coldstart';`,
          resolveDir: root,
          loader: 'ts',
        },
        entryPoints: undefined,
      }),
      write: false,
      outfile: join(OUT, 'bundle.js'),
      minify: true,
      metafile: true,
      external: ['@aws-sdk/*', ...external],
      alias: { 'aws-lambda-persistence': library },
    });
    const code = result.outputFiles[0].contents;
    const inputs = Object.values(result.metafile.outputs)[0].inputs;
    const own = Object.entries(inputs).filter(([path]) => path.startsWith('dist/') || path.startsWith('src/'));
    const ownBytes = own.reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
    console.log(`  ${label}: total ${code.length} B (gzip ${gzipSync(code).length} B), the library's own ${ownBytes} B`);
    // dist/index.js is one input; its modules are seen when src/ is bundled instead.
    if (library.endsWith('.ts') && !withClassTransformer) {
      for (const [path, { bytesInOutput }] of own.sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)) {
        console.log(`    ${String(bytesInOutput).padStart(6)} B  ${path}`);
      }
    }
  }
}
