// `npm run bench`: the library against the raw AWS SDK, side by side in the same run.
//
// Builds dist/ (what users get) and bundles the bench handlers (bench/handlers/*.ts) with esbuild as
// a CDK NodejsFunction would; starts dynalite in a separate process (bench/dynalite-server.mjs, on
// 127.0.0.1 and a free port, passed back over IPC), which also counts the requests it receives by
// X-Amz-Target; then measures each scenario against its baseline with the runs interleaved, and
// prints a Markdown table and writes bench/results/latest.json. See docs/performance.md.
//
// Options: --quick (fewer repetitions, ~20 s), --only shapes,cold,import,warm,bundle (some sections),
// --json <file> (write the JSON elsewhere). `node bench/profile.mjs` gives the parts behind the analysis.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { measureShapes, SHAPES } from './cold-shapes.mjs';
import { bundleInternals, handlerBundleOptions } from './internals.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const WORKER = join(root, 'bench/worker.mjs');
const DYNALITE = join(root, 'bench/dynalite-server.mjs');
const OUT_DIR = join(root, '.tmp/bench');
const TABLE = 'BenchPersistence';
const COLD_KEY = 'bench-cold';
const SEED = 42; // the cold-start row holds updateValues(42)
const STEP_TIMEOUT_MS = 60_000;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const jsonPath = option('--json') ?? join(root, 'bench/results/latest.json');
const SECTIONS = ['shapes', 'cold', 'import', 'warm', 'bundle'];
const only = option('--only')?.split(',') ?? SECTIONS;
if (only.some((section) => !SECTIONS.includes(section))) {
  throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}`);
}

// Repetitions per side (library and baseline each), after warm-up runs that are not counted.
const REPS = quick
  ? { shapes: 6, cold: 4, coldWarmup: 1, import: 4, importWarmup: 1, write: 30, writeWarmup: 5, noChange: 2000, noChangeWarmup: 200 }
  : { shapes: 17, cold: 30, coldWarmup: 2, import: 30, importWarmup: 2, write: 200, writeWarmup: 10, noChange: 10_000, noChangeWarmup: 1000 };
// State sizes for the change detection, as DynamoDB counts them (attribute names and values): each
// record (makeRecord in bench/handlers/state.ts) is ~110 bytes so, ~155 bytes as JSON.
const LARGE = [
  { label: '1KB', records: 9, reps: quick ? 500 : 4000, warmup: 200, partsReps: quick ? 50 : 500 },
  { label: '100KB', records: 930, reps: quick ? 50 : 300, warmup: 20, partsReps: quick ? 5 : 50 },
  { label: '1MB', records: 9550, reps: quick ? 6 : 30, warmup: 3, partsReps: quick ? 3 : 10 },
];

async function main() {
  const machine = machineInfo();
  log(
    `aws-lambda-persistence benchmark${quick ? ' (--quick)' : ''}${only.length < SECTIONS.length ? ` (--only ${only})` : ''}: ` +
      `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  const results = { scenarios: {}, requests: [] };

  // 1. Build dist/ and bundle the handlers.
  let step = performance.now();
  run(process.execPath, [join(root, 'scripts/build.mjs')], 'npm run build (scripts/build.mjs)');
  mkdirSync(OUT_DIR, { recursive: true });
  const coldBundle = await bundle('bench/handlers/coldstart.ts', 'coldstart.js');
  const warmBundle = await bundle('bench/handlers/warm.ts', 'warm.js');
  // Internal functions (codec, sameValue, TrackedState) from src/: dist/ exports only the public API.
  const internals = await bundleInternals(root, join(OUT_DIR, 'internals.js'));
  if (only.includes('bundle')) results.sizes = await bundleSizes();
  log(`build   dist/ built, handlers bundled (${seconds(step)})`);

  // 2. dynalite in its own process; the table; the cold-start row (written by the library).
  step = performance.now();
  const dynamo = await startDynalite();
  cleanups.push(() => dynamo.stop());
  const env = childEnv(dynamo.endpoint);
  await createTable(dynamo.endpoint);
  await fresh('cold', ['lib', coldBundle, JSON.stringify({ update: SEED })], env, { BENCH_TABLE_KEY: COLD_KEY });
  const seeded = await dynamo.take();
  log(`dynamo  dynalite (separate process) on ${dynamo.endpoint}; cold-start row seeded: ${describe(seeded)} (${seconds(step)})`);

  // 3. Cold start as a new user measures it, each shape users deploy (bench/cold-shapes.mjs: its own
  // dynalite and project; rounds counted after two warm-up rounds).
  if (only.includes('shapes')) {
    step = performance.now();
    results.scenarios.shapes = await measureShapes({ rounds: REPS.shapes, build: false });
    log(`shapes  ${Object.keys(results.scenarios.shapes).length} sides × ${REPS.shapes} fresh processes (${seconds(step)})`);
  }

  // 3b. Cold start, fresh processes: library, raw GetItem, DocumentClient GetCommand; the order rotates.
  if (only.includes('cold')) {
    step = performance.now();
    // lib-split: the library's first invocation split into its own work and the request (see
    // timedClient in bench/worker.mjs); it loads the warm bundle and binds with an injected client.
    const sides = ['lib', 'raw', 'doc', 'lib-split'];
    const cold = Object.fromEntries(sides.map((side) => [side, { ms: [], initMs: [], requests: [], split: [] }]));
    for (let round = 0; round < REPS.coldWarmup + REPS.cold; round++) {
      for (const side of rotate(sides, round)) {
        const reply = await fresh('cold', [side, side === 'lib-split' ? warmBundle : coldBundle], env, { BENCH_TABLE_KEY: COLD_KEY });
        const counts = await dynamo.take();
        if (reply.result?.count !== SEED) throw new Error(`cold ${side}: read count ${reply.result?.count}, expected ${SEED}`);
        if (round < REPS.coldWarmup) continue;
        cold[side].ms.push(reply.ms);
        cold[side].initMs.push(reply.initMs);
        cold[side].requests.push(counts);
        if (reply.result.split) cold[side].split.push(reply.result.split);
      }
    }
    results.scenarios.cold = cold;
    log(`cold    ${sides.length * (REPS.cold + REPS.coldWarmup)} fresh processes (${seconds(step)})`);
  }

  // 4. Import, fresh processes; the order rotates.
  if (only.includes('import')) {
    step = performance.now();
    const imports = [
      'aws-lambda-persistence',
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/lib-dynamodb',
      'aws-lambda-persistence after @aws-sdk/client-dynamodb',
    ];
    const importMs = Object.fromEntries(imports.map((what) => [what, []]));
    for (let round = 0; round < REPS.importWarmup + REPS.import; round++) {
      for (const what of rotate(imports, round)) {
        const reply = await fresh('import', [what], env);
        if (round >= REPS.importWarmup) importMs[what].push(reply.ms);
      }
    }
    results.scenarios.import = importMs;
    await dynamo.take();
    log(`import  ${imports.length * (REPS.import + REPS.importWarmup)} fresh processes (${seconds(step)})`);
  }

  // 5. Warm scenarios in one long-lived process.
  if (only.includes('warm')) {
    step = performance.now();
    const warm = await startWarm(warmBundle, internals, env);
    cleanups.push(() => warm.stop());
    await warm.call({ cmd: 'setup' });
    results.largeSizes = (await warm.call({ cmd: 'setupLarge', sizes: LARGE })).sizes;
    await dynamo.take();
    // The request count of one run of each side, alone.
    const floors = { set: 1, update: 1, noChange: 0 };
    for (const { label } of LARGE) floors[`large-${label}`] = 0;
    for (const scenario of Object.keys(floors)) {
      const counts = {};
      for (const side of ['lib', 'base']) {
        await warm.call({ cmd: 'once', scenario, side });
        counts[side] = await dynamo.take();
      }
      results.requests.push({ scenario, ...counts });
    }
    const plan = [
      { scenario: 'set', reps: REPS.write, warmup: REPS.writeWarmup },
      { scenario: 'update', reps: REPS.write, warmup: REPS.writeWarmup },
      { scenario: 'noChange', reps: REPS.noChange, warmup: REPS.noChangeWarmup },
      ...LARGE.map(({ label, reps, warmup }) => ({ scenario: `large-${label}`, reps, warmup })),
    ];
    for (const { scenario, reps, warmup } of plan) {
      const t = performance.now();
      const samples = await warm.call({ cmd: 'bench', scenario, reps, warmup });
      const counts = await dynamo.take();
      const sides = samples.split ? 4 : 2;
      results.scenarios[scenario] = { ...samples, totalRequests: counts, expectedTotal: sides * (reps + warmup) * floors[scenario] };
      log(`warm    ${scenario}: ${reps} × ${sides} runs (${seconds(t)}), requests ${describe(counts)}`);
    }
    results.parts = {};
    for (const { label, partsReps } of LARGE) results.parts[label] = await warm.call({ cmd: 'parts', label, reps: partsReps });
    await warm.stop();
    log(`warm    done (${seconds(step)})`);
  }

  // 6. Report.
  machine.loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  const durationS = (performance.now() - began) / 1000;
  const report = summarize(results, machine, durationS);
  console.log(`\n${report.text}`);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report.json, null, 2)}\n`);
  console.log(`\nwritten ${relative(root, jsonPath)} (${durationS.toFixed(1)} s)`);
  const missed = report.json.targets.filter((t) => t.met === false);
  if (missed.length > 0) console.log(`targets missed: ${missed.map((t) => t.scenario).join('; ')} (see docs/performance.md)`);
}

// ------------------------------------------------------------------------------------------ report

function summarize(results, machine, durationS) {
  const rows = [];
  const targets = [];
  const add = (row) => {
    rows.push(row);
    if (row.target) {
      targets.push({ scenario: row.scenario.trim(), result: row.result, target: row.target, met: row.met, ciCrossesTarget: row.crosses });
    }
  };
  /**
   * A row comparing `lib` with `base` samples (paired by index: runs interleaved), as a ratio or a
   * difference of medians, with a 95% bootstrap confidence interval over the pairs.
   */
  const compare = ({ scenario, lib, base, baseName, kind, unit = 'ms', target, limit }) => {
    const scale = unit === 'µs' ? 1000 : 1;
    const statistic = kind === 'ratio' ? (l, b) => median(l) / median(b) : (l, b) => (median(l) - median(b)) * scale;
    const value = statistic(lib, base);
    const [low, high] = bootstrap(lib, base, statistic);
    const show = (x) => (kind === 'ratio' ? `${x.toFixed(2)}×` : `${x >= 0 ? '+' : ''}${x.toFixed(unit === 'ms' && Math.abs(x) < 10 ? 2 : 1)} ${unit}`);
    const ci = kind === 'ratio' ? `${low.toFixed(2)}–${high.toFixed(2)}` : `${show(low)} … ${show(high)}`;
    add({
      scenario,
      lib: stats(lib),
      base: stats(base),
      baseName,
      result: `${show(value)} (CI ${ci})`,
      value,
      ci: [low, high],
      ...(target && { target, met: value <= limit, crosses: low <= limit && limit < high }),
    });
  };

  const { shapes, cold, import: imports } = results.scenarios;
  if (shapes) {
    // The issue's method: loading the handler module (the package with it, bind() creating the
    // client) and its first invocation, in a fresh process with the SDK loaded.
    for (const [shape, label] of Object.entries(SHAPES)) {
      compare({
        scenario: `cold start as a new user measures it: ${label}`,
        lib: shapes[shape],
        base: shapes.raw,
        baseName: 'new DynamoDBClient + GetItem, fresh process with the SDK loaded',
        kind: 'ratio',
        target: '≤ 1.15×',
        limit: 1.15,
      });
      compare({
        scenario: '  (reference) against a raw handler of the same shape',
        lib: shapes[shape],
        base: shapes[`raw-${shape}`],
        baseName: 'a module creating the client when it loads, GetItem when invoked',
        kind: 'ratio',
      });
    }
  }
  if (cold) {
    compare({
      scenario: 'cold start hydrate (fresh process, first invocation)',
      lib: cold.lib.ms,
      base: cold.raw.ms,
      baseName: 'GetItem, fresh DynamoDBClient',
      kind: 'ratio',
      target: '≤ 1.10×',
      limit: 1.1,
    });
    {
      const own = cold['lib-split'].split.map((x) => x.before + x.after);
      const [low, high] = bootstrap(own, own, (l) => median(l));
      const part = (name) => num(median(cold['lib-split'].split.map((x) => x[name])));
      add({
        scenario: "  the library's own time in it: before the GetItem is sent + after it returns",
        lib: stats(own),
        baseName: `(split: before ${part('before')} ms, GetItem ${part('request')} ms, after ${part('after')} ms)`,
        result: `${num(median(own))} ms (CI ${num(low)} … ${num(high)} ms) = ${((100 * median(own)) / median(cold.raw.ms)).toFixed(0)}% of the raw GetItem`,
        value: median(own),
        ci: [low, high],
      });
    }
    compare({
      scenario: '  (reference) same, against DocumentClient',
      lib: cold.lib.ms,
      base: cold.doc.ms,
      baseName: 'GetCommand, fresh DynamoDBDocumentClient',
      kind: 'ratio',
    });
    compare({
      scenario: '  (reference) init phase: load the bundle (its module body calls bind())',
      lib: cold.lib.initMs,
      base: cold.raw.initMs,
      baseName: 'require the SDK + new DynamoDBClient',
      kind: 'diff',
    });
  }
  if (results.scenarios.set) {
    for (const [scenario, title] of [
      ['set', 'one set + flush (warm invocation)'],
      ['update', 'update() of 10 fields (warm invocation)'],
    ]) {
      // Two baselines: the raw write a handler without the library would send (a PutItem of the
      // whole item), and the library's own request sent by hand (its overhead alone).
      for (const [side, row, baseName] of [
        ['base', title, 'PutItem, same item and condition, reused client'],
        ['sameRequest', "  the same, against the library's own UpdateItem sent raw", 'the UpdateItem the library sends, by hand, reused client'],
      ]) {
        compare({
          scenario: row,
          lib: results.scenarios[scenario].lib,
          base: results.scenarios[scenario][side],
          baseName,
          kind: 'ratio',
          target: '≤ 1.10×',
          limit: 1.1,
        });
      }
    }
    for (const [scenario, title] of [
      ['set', 'one set + flush'],
      ['update', 'update() of 10 fields'],
    ]) {
      const split = Object.fromEntries(
        ['before', 'request', 'after', 'prologue', 'body', 'toSend'].map((k) => [k, results.scenarios[scenario].split.map((x) => x[k])]),
      );
      const own = split.before.map((before, i) => before + split.after[i]);
      const [low, high] = bootstrap(own, own, (l) => median(l));
      const m = (k) => num(median(split[k]));
      add({
        scenario: `  the library's own time per ${title}: before its request is sent + after it returns`,
        lib: stats(own),
        baseName:
          `(split: before ${m('before')} ms [to handler() ${m('prologue')}, handler() ${m('body')}, ` +
          `then to send() ${m('toSend')}], its UpdateItem ${m('request')} ms, after ${m('after')} ms)`,
        result: `${num(median(own))} ms (CI ${num(low)} … ${num(high)} ms) = ${((100 * median(own)) / median(results.scenarios[scenario].base)).toFixed(0)}% of the raw PutItem`,
        value: median(own),
        ci: [low, high],
      });
    }
    compare({
      scenario: 'warm invocation, no change, 10 small fields',
      lib: results.scenarios.noChange.lib,
      base: results.scenarios.noChange.base,
      baseName: 'plain class, plain call',
      kind: 'diff',
      unit: 'µs',
      target: '≤ 25 µs extra',
      limit: 25,
    });
    for (const { label } of LARGE) {
      const size = results.largeSizes.find((s) => s.label === label);
      compare({
        scenario: `end-of-invocation change detection, ${label} state (${size.dynamoBytes} B)`,
        lib: results.scenarios[`large-${label}`].lib,
        base: results.scenarios[`large-${label}`].base,
        baseName: 'plain class, plain call',
        kind: 'diff',
        ...(label === '100KB' && { target: '≤ 1 ms', limit: 1 }),
      });
    }
  }
  if (imports) {
    compare({
      scenario: 'import of the package (fresh process)',
      lib: imports['aws-lambda-persistence'],
      base: imports['@aws-sdk/client-dynamodb'],
      baseName: 'require @aws-sdk/client-dynamodb',
      kind: 'diff',
    });
    // The difference of two ~80 ms fresh-process imports has a CI of several ms on a shared 2-core
    // machine; the package's own cost, timed in a fresh process right after the SDK it imports was
    // loaded, is the same extra measured directly, with a tenth of the spread. The target is judged on it.
    const after = imports['aws-lambda-persistence after @aws-sdk/client-dynamodb'];
    const [low, high] = bootstrap(after, after, (l) => median(l));
    const value = median(after);
    add({
      scenario: '  extra, timed directly: the package once the SDK is loaded (fresh process)',
      lib: stats(after),
      baseName: '(the SDK, loaded first)',
      result: `+${value.toFixed(2)} ms (CI +${low.toFixed(2)} … +${high.toFixed(2)} ms)`,
      value,
      ci: [low, high],
      target: '≤ 5 ms extra',
      met: value <= 5,
      crosses: low <= 5 && 5 < high,
    });
    compare({
      scenario: '  (reference) @aws-sdk/lib-dynamodb',
      lib: imports['@aws-sdk/lib-dynamodb'],
      base: imports['@aws-sdk/client-dynamodb'],
      baseName: 'require @aws-sdk/client-dynamodb',
      kind: 'diff',
    });
  }
  const { sizes } = results;
  if (sizes) {
    const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
    add({
      scenario: 'esbuild bundle of a handler, SDK external, minified: total',
      size: sizes.total,
      result: `${kb(sizes.total)} (gzip ${kb(sizes.gzip)})`,
      target: '≤ 50 KB',
      met: sizes.total <= 50 * 1024,
      value: sizes.total,
    });
    add({
      scenario: "  the library's own code (dist/)",
      size: sizes.groups.library,
      // The former "own code ≤ 15 KB" target is retired (its bytes count in the total above).
      result: kb(sizes.groups.library),
      value: sizes.groups.library,
    });
    for (const group of ['reflect-metadata', 'class-transformer', 'handler', 'other']) {
      if (sizes.groups[group] !== undefined) {
        add({ scenario: `  ${group}`, size: sizes.groups[group], result: kb(sizes.groups[group]), value: sizes.groups[group] });
      }
    }
  }

  // Requests.
  const requestRows = [];
  if (cold) {
    const counts = (side) => summarizeCounts(cold[side].requests);
    requestRows.push({ scenario: 'cold start hydrate (every process)', lib: counts('lib'), base: counts('raw'), floor: 'GetItem' });
  }
  // A warm write of a row that exists is one UpdateItem of the changed fields (its first write, a
  // PutItem, happens in the scenario's untimed setup).
  const floorOf = { set: 'UpdateItem', update: 'UpdateItem' };
  const titles = { set: 'one set + flush', update: 'update() of 10 fields', noChange: 'warm, no change, 10 small fields' };
  for (const { scenario, lib, base } of results.requests) {
    const title = titles[scenario] ?? `warm, no change, ${scenario.replace('large-', '')} state`;
    requestRows.push({ scenario: title, lib: describe(lib), base: describe(base), floor: floorOf[scenario] ?? '(none)' });
  }
  for (const r of requestRows) {
    r.met = r.lib === r.floor;
    targets.push({ scenario: `DynamoDB requests: ${r.scenario}`, result: r.lib, target: `= ${r.floor}`, met: r.met });
  }
  const totals = Object.entries(results.scenarios)
    .filter(([, s]) => s.expectedTotal !== undefined)
    .map(([scenario, s]) => ({ scenario, counted: sum(s.totalRequests), expected: s.expectedTotal }));
  const totalsOk = totals.every((t) => t.counted === t.expected);
  if (totals.length > 0) {
    targets.push({
      scenario: 'DynamoDB requests: totals over all timed runs',
      result: totals.map((t) => `${t.scenario} ${t.counted}`).join(', '),
      target: 'floor × runs',
      met: totalsOk,
    });
  }

  // Text.
  const fmt = (s) => (s === undefined ? '—' : `${num(s.median)} (${num(s.p90)}) ms`);
  const lines = [];
  lines.push('| scenario | library: median (p90) | baseline | baseline: median (p90) | n per side | result (95% CI) | target | |');
  lines.push('|---|---:|---|---:|---:|---:|---|---|');
  for (const r of rows) {
    const status = (r.met === undefined ? '' : r.met ? 'met' : '**missed**') + (r.crosses ? ' (CI crosses the target)' : '');
    if (r.size !== undefined) {
      lines.push(`| ${r.scenario} | ${r.size} B | | | | ${r.result} | ${r.target ?? ''} | ${status} |`);
    } else {
      lines.push(`| ${r.scenario} | ${fmt(r.lib)} | ${r.baseName} | ${fmt(r.base)} | ${r.lib.n} | ${r.result} | ${r.target ?? ''} | ${status} |`);
    }
  }
  if (requestRows.length > 0) {
    lines.push('');
    lines.push('| DynamoDB requests (counted by dynalite from X-Amz-Target) | library | baseline | floor | |');
    lines.push('|---|---|---|---|---|');
    for (const r of requestRows) lines.push(`| ${r.scenario} | ${r.lib} | ${r.base} | ${r.floor} | ${r.met ? 'met' : '**missed**'} |`);
    if (totals.length > 0) {
      lines.push(
        `| all timed runs, every side, warm-ups included | ${totals.map((t) => `${t.scenario} ${t.counted}`).join(', ')} | | ` +
          `${totals.map((t) => t.expected).join(', ')} | ${totalsOk ? 'met' : '**missed**'} |`,
      );
    }
  }
  if (results.parts) {
    lines.push('');
    lines.push(
      '| change detection in parts (src/ functions, in-process; both object fields) | detectMutations(), nothing changed | sameValue | ' +
        'detectMutations(), first after load | encodeValue | fingerprint | attributeSize | decodeValue (the copy) |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const { label } of LARGE) {
      const p = Object.fromEntries(Object.entries(results.parts[label]).map(([k, v]) => [k, stats(v)]));
      const cell = (s) => `${num(s.median)} (${num(s.p90)})`;
      lines.push(
        `| ${label}, median (p90) ms, n ${p.detectMutations.n} | ${cell(p.detectMutations)} | ${cell(p.sameValue)} | ${cell(p.detectFirst)} | ` +
          `${cell(p.encodeValue)} | ${cell(p.fingerprint)} | ${cell(p.attributeSize)} | ${cell(p.decodeValue)} |`,
      );
    }
    lines.push('');
    lines.push(
      `States: ${results.largeSizes
        .map((s) => `${s.label}: ${s.records} records, ${s.dynamoBytes} B DynamoDB size, ${s.jsonBytes} B as JSON, stored as ${s.storedAs}`)
        .join('; ')}.`,
    );
  }
  lines.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}; Node ${machine.node}, ` +
      `@aws-sdk/client-dynamodb ${machine.sdk}, dynalite ${machine.dynalite}, esbuild ${machine.esbuild}; load average ` +
      `${machine.loadAverageAtStart.join(' ')} at start, ${machine.loadAverageAtEnd.join(' ')} at end. ${machine.date}. Run: ${durationS.toFixed(1)} s.`,
  );
  lines.push(`Code measured: ${machine.git}.`);

  const json = {
    date: machine.date,
    machine,
    durationS: Number(durationS.toFixed(1)),
    quick,
    sections: only,
    repetitions: { ...REPS, large: LARGE },
    rows: rows.map((r) => ({
      scenario: r.scenario.trim(),
      library: r.lib,
      baseline: r.base,
      baselineName: r.baseName,
      size: r.size,
      result: r.result,
      value: r.value,
      ci95: r.ci,
      target: r.target,
      met: r.met,
      ciCrossesTarget: r.crosses,
    })),
    requests: requestRows,
    requestTotals: totals,
    changeDetectionParts:
      results.parts &&
      Object.fromEntries(
        Object.entries(results.parts).map(([label, parts]) => [label, Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, stats(v)]))]),
      ),
    states: results.largeSizes,
    bundle: sizes,
    targets,
  };
  return { text: lines.join('\n'), json };
}

function summarizeCounts(list) {
  const distinct = [...new Set(list.map(describe))];
  return distinct.length === 1 ? distinct[0] : distinct.join(' | ');
}

/** `GetItem, PutItem ×2` from { GetItem: 1, PutItem: 2 }; `(none)` for none. */
function describe(counts) {
  const entries = Object.entries(counts ?? {});
  if (entries.length === 0) return '(none)';
  return entries.map(([op, n]) => (n > 1 ? `${op} ×${n}` : op)).join(', ');
}

function sum(counts) {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

function median(samples) {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * A 95% percentile-bootstrap interval of `statistic(lib, base)`, resampling the pairs (lib[i],
 * base[i]) — the runs were interleaved, so a pair shares the conditions of its moment. Seeded: the
 * same samples give the same interval.
 */
function bootstrap(lib, base, statistic, rounds = 400) {
  const n = Math.min(lib.length, base.length);
  let seed = 0x2545f491;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = [];
  const l = new Float64Array(n);
  const b = new Float64Array(n);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(random() * n);
      l[i] = lib[j];
      b[i] = base[j];
    }
    values.push(statistic(l, b));
  }
  values.sort((x, y) => x - y);
  return [values[Math.floor(0.025 * rounds)], values[Math.ceil(0.975 * rounds) - 1]];
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const p90 = sorted[Math.min(n - 1, Math.ceil(0.9 * n) - 1)];
  const round = (x) => Number(x.toPrecision(6));
  return { n, median: round(median), p90: round(p90), min: round(sorted[0]), max: round(sorted[n - 1]) };
}

function num(ms) {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(4);
}

// ---------------------------------------------------------------------------------------- processes

function childEnv(endpoint) {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS_|PERSISTENCE_|BENCH_)/.test(name))),
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    BENCH_TABLE_NAME: TABLE,
  };
}

/** Forks a child with IPC, collecting its output for error messages. */
function spawn(script, args, env) {
  const child = fork(script, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  /** The next message satisfying `accept`; rejects when the child exits first or on timeout. */
  const next = (accept, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${what}: timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      const onMessage = (message) => accept(message) && done(undefined, message);
      const onExit = (code, signal) =>
        done(Object.assign(new Error(`${what}: the process exited with ${signal ?? `code ${code}`}`), { details: output.trim() }));
      function done(error, message) {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { child, next, stop, exited, output: () => output };
}

/** A fresh process of bench/worker.mjs in role `role`: its one result. */
async function fresh(role, args, env, extraEnv = {}) {
  const worker = spawn(WORKER, [role, ...args], { ...env, ...extraEnv });
  try {
    const reply = await worker.next((m) => m?.type === 'result', `${role} ${args[0]}`);
    await worker.exited;
    return reply;
  } finally {
    await worker.stop();
  }
}

async function startDynalite() {
  const server = spawn(DYNALITE, [], childEnv(''));
  const { port } = await server.next((m) => m?.type === 'ready', 'starting dynalite');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async take() {
      const reply = server.next((m) => m?.type === 'counts', 'reading request counts');
      server.child.send({ type: 'take' });
      return (await reply).counts;
    },
    stop: server.stop,
  };
}

async function startWarm(bundlePath, internalsPath, env) {
  const worker = spawn(WORKER, ['warm', bundlePath, internalsPath], env);
  await worker.next((m) => m?.type === 'ready', 'starting the warm worker');
  let id = 0;
  return {
    async call(message) {
      const mine = ++id;
      const reply = worker.next((m) => m?.type === 'reply' && m.id === mine, `warm ${message.cmd} ${message.scenario ?? ''}`);
      worker.child.send({ ...message, id: mine });
      const { result, error } = await reply;
      if (error) throw Object.assign(new Error(`warm ${message.cmd}: ${error.message}`), { details: error.stack });
      return result;
    },
    stop: worker.stop,
  };
}

async function createTable(endpoint) {
  const { DynamoDBClient, CreateTableCommand, DescribeTableCommand } = require('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    client.destroy();
  }
}

// ------------------------------------------------------------------------------------------ bundles

const esbuildOptions = handlerBundleOptions(root);

/** Bundles a bench handler like examples/demo.mjs (a CDK NodejsFunction's defaults): not minified. */
async function bundle(entry, name) {
  const esbuild = require('esbuild');
  const outfile = join(OUT_DIR, name);
  await esbuild.build({ ...esbuildOptions, entryPoints: [join(root, entry)], outfile });
  return outfile;
}

/** The cold-start handler bundled minified, its bytes attributed to their inputs by the metafile. */
async function bundleSizes() {
  const esbuild = require('esbuild');
  const outfile = join(OUT_DIR, 'coldstart.min.js');
  const { metafile } = await esbuild.build({
    ...esbuildOptions,
    entryPoints: [join(root, 'bench/handlers/coldstart.ts')],
    outfile,
    minify: true,
    metafile: true,
  });
  writeFileSync(join(OUT_DIR, 'coldstart.meta.json'), JSON.stringify(metafile));
  const output = metafile.outputs[relative(root, outfile)];
  const code = readFileSync(outfile);
  const groups = {};
  const inputs = {};
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const group = path.startsWith('dist/')
      ? 'library'
      : path.includes('node_modules/reflect-metadata/')
        ? 'reflect-metadata'
        : path.includes('node_modules/class-transformer/')
          ? 'class-transformer'
          : path.startsWith('bench/')
            ? 'handler'
            : 'other';
    groups[group] = (groups[group] ?? 0) + bytesInOutput;
    inputs[path] = bytesInOutput;
  }
  const attributed = Object.values(groups).reduce((a, b) => a + b, 0);
  groups.other = (groups.other ?? 0) + (code.length - attributed); // esbuild's module wrappers and runtime
  return {
    entry: 'bench/handlers/coldstart.ts',
    total: code.length,
    gzip: gzipSync(code).length,
    groups,
    largestInputs: Object.fromEntries(
      Object.entries(inputs)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15),
    ),
    external: output.imports.filter((i) => i.external).map((i) => i.path),
  };
}

// ------------------------------------------------------------------------------------------- helpers

function machineInfo() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1].trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  const version = (name) => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return 'unknown';
    }
  };
  // What was measured: the commit, and the files of src/ and scripts/ that differ from it.
  let git = 'unknown';
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src', 'scripts'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    git = changed.length === 0 ? commit : `${commit} + uncommitted changes in ${changed.join(', ')}`;
  } catch {
    // not a git checkout
  }
  return {
    git,
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    sdk: version('@aws-sdk/client-dynamodb'),
    dynalite: version('dynalite'),
    esbuild: version('esbuild'),
    date: new Date().toISOString(),
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

function run(command, args, what) {
  try {
    return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw Object.assign(new Error(`${what} failed`), { details: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() });
  }
}

function log(line) {
  console.log(line);
}

function seconds(since) {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------------------------------------- run
// At the end of the module: main() uses the constants declared above.
const began = performance.now();
const cleanups = [];
let exitCode = 0;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

try {
  await main();
} catch (error) {
  exitCode = 1;
  console.error(`\nbench failed: ${error?.stack ?? String(error)}`);
  if (error?.details) console.error(error.details);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
process.exit(exitCode);
