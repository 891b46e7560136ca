// `npm run bench:contention`: many writers of one row at once, the library against the raw SDK.
//
// For 1, 4, 16 and 32 execution environments (separate processes, bench/contention-env.mjs, each
// loading dist/) x 25 invocations, started together: each invocation adds 1 to its environment's
// own field and to a `sum` counter. Plus Lambda Managed Instances mode: one process running 200
// invocations, 50 at a time, on one handler. The baseline does the same change as one raw
// UpdateItem per invocation, at the same concurrency, in the same run, on another row; a second
// baseline ("stateful raw") also reads the row once per environment, on its first invocation.
// Reported: invocations failed, updates lost (the row against the count of invocations), write
// requests per invocation (counted by dynalite), p50/p99 invocation time against the baseline (and
// p99 without each environment's first invocation, the cold start), client CPU per invocation.
// dynalite runs in its own process (bench/dynalite-server.mjs). Options: --environments 1,16 (only
// those, no Managed Instances row), --quick (fewer environments), --json <file>; the environment
// variable BENCH_INVOCATIONS changes the 25. Then the merges at 16 environments (--merges: only
// those): each invocation sets its environment's own key of a `merge: keys` Map, or adds an id to a
// list merged by a function; reported: failed, lost, write and read requests per invocation (targets
// from the lean-core issue: keys <= 1.05 writes and <= 0.1 reads, a function <= 1.5 writes).
// Results: bench/results/contention.json; docs/performance.md.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ENV = join(root, 'bench/contention-env.mjs');
const DYNALITE = join(root, 'bench/dynalite-server.mjs');
const TABLE = 'BenchContention';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : join(root, 'bench/results/contention.json');
const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 25);
const only = args.includes('--environments') ? args[args.indexOf('--environments') + 1].split(',').map(Number) : undefined;
const mergesOnly = args.includes('--merges');
const MERGE_ENVIRONMENTS = quick ? 8 : 16;
const SCENARIOS = mergesOnly ? [] : [
  ...(only ?? (quick ? [1, 4, 8] : [1, 4, 16, 32])).map((environments) => ({ name: `${environments} environments`, environments, invocations: INVOCATIONS, atOnce: 1 })),
  ...(only ? [] : [{ name: 'Managed Instances (1 process, 50 at once)', environments: 1, invocations: quick ? 100 : 200, atOnce: 50 }]),
];
const MERGES = only && !mergesOnly ? [] : ['keys', 'function'];

function child(script, argv) {
  const proc = fork(script, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  const inbox = [];
  const waiters = [];
  proc.on('message', (message) => {
    const waiter = waiters.findIndex((w) => w.match(message));
    if (waiter >= 0) waiters.splice(waiter, 1)[0].resolve(message);
    else inbox.push(message);
  });
  const next = (match) =>
    new Promise((resolve, reject) => {
      const found = inbox.findIndex(match);
      if (found >= 0) return resolve(inbox.splice(found, 1)[0]);
      const timer = setTimeout(() => reject(new Error(`${script}: no answer within 120 s`)), 120_000);
      waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  return { proc, next, send: (m) => proc.send(m), stop: () => proc.connected && proc.kill() };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function runSide(mode, scenario, endpoint, rowKey) {
  const envs = Array.from({ length: scenario.environments }, (_, i) =>
    child(ENV, [mode, String(i), endpoint, TABLE, rowKey, String(scenario.invocations), String(scenario.atOnce)]),
  );
  try {
    await Promise.all(envs.map((env) => env.next((m) => m?.type === 'ready')));
    const results = envs.map((env) => env.next((m) => m?.type === 'result'));
    for (const env of envs) env.send({ type: 'go' });
    return await Promise.all(results);
  } finally {
    for (const env of envs) env.stop();
  }
}

async function main() {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'ignore' });
  const dynamo = child(DYNALITE, []);
  const { port } = await dynamo.next((m) => m?.type === 'ready');
  const endpoint = `http://127.0.0.1:${port}`;
  const take = async () => {
    const reply = dynamo.next((m) => m?.type === 'counts');
    dynamo.send({ type: 'take' });
    return (await reply).counts;
  };
  const { DynamoDBClient, CreateTableCommand, PutItemCommand, GetItemCommand } = require('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, loadAverage: os.loadavg().map((l) => l.toFixed(2)) };
  console.log(`contention benchmark${quick ? ' (--quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}\n`);
  const rows = [];
  for (const [n, scenario] of SCENARIOS.entries()) {
    const libKey = `lib-${n}`;
    const rawKey = `raw-${n}`;
    // The baseline's row exists with its map, as the library's does after its first write.
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { key: { S: rawKey }, value: { M: {} } } }));
    await take();
    const lib = await runSide('lib', scenario, endpoint, libKey);
    const libCounts = await take();
    const raw = await runSide('raw', scenario, endpoint, rawKey);
    const stateful = await runSide('stateful', scenario, endpoint, rawKey);
    await take();
    const row = (await client.send(new GetItemCommand({ TableName: TABLE, Key: { key: { S: libKey } }, ConsistentRead: true }))).Item?.value?.M ?? {};
    const invocations = scenario.environments * scenario.invocations;
    const failed = lib.reduce((sum, r) => sum + r.failures.length, 0);
    const stored = Number(row.total?.N ?? 0) + lib.reduce((sum, _r, i) => sum + Number(row[`e${i}`]?.N ?? 0), 0);
    const lost = 2 * invocations - stored;
    const writes = (libCounts.PutItem ?? 0) + (libCounts.UpdateItem ?? 0);
    const times = (side) => side.flatMap((r) => r.times.map((t) => t.ms));
    // Each environment's first invocation is its cold start (the library reads the row then): the
    // rest are reported apart as well.
    const warm = (side) => side.flatMap((r) => r.times.filter((t) => t.n > 0).map((t) => t.ms));
    const first = (side) => side.flatMap((r) => r.times.filter((t) => t.n === 0).map((t) => t.ms));
    const [libP50, libP99, rawP50, rawP99] = [percentile(times(lib), 50), percentile(times(lib), 99), percentile(times(raw), 50), percentile(times(raw), 99)];
    rows.push({
      scenario: scenario.name,
      invocations,
      failed,
      lost,
      writesPerInvocation: writes / invocations,
      requests: libCounts,
      conflicts: lib.reduce((sum, r) => sum + (r.stats?.conflicts ?? 0), 0),
      p50: { lib: libP50, raw: rawP50, ratio: libP50 / rawP50 },
      p99: { lib: libP99, raw: rawP99, ratio: libP99 / rawP99 },
      statefulP99: { lib: libP99, raw: percentile(times(stateful), 99), ratio: libP99 / percentile(times(stateful), 99) },
      warmP99: { lib: percentile(warm(lib), 99), raw: percentile(warm(raw), 99), ratio: percentile(warm(lib), 99) / percentile(warm(raw), 99) },
      cpuPerInvocationMs: { lib: lib.reduce((sum, r) => sum + r.cpuMs, 0) / invocations, raw: raw.reduce((sum, r) => sum + r.cpuMs, 0) / invocations },
      firstP50: { lib: percentile(first(lib), 50), raw: percentile(first(raw), 50), stateful: percentile(first(stateful), 50) },
      rawFailed: raw.reduce((sum, r) => sum + r.failures.length, 0),
      failures: lib.flatMap((r) => r.failures).slice(0, 3),
    });
    const last = rows.at(-1);
    console.log(
      `${scenario.name.padEnd(44)} failed ${failed}, lost ${lost}, writes/invocation ${last.writesPerInvocation.toFixed(3)}, ` +
        `p50 ${libP50.toFixed(1)} / ${rawP50.toFixed(1)} ms (${last.p50.ratio.toFixed(2)}x), p99 ${libP99.toFixed(1)} / ${rawP99.toFixed(1)} ms (${last.p99.ratio.toFixed(2)}x), against stateful raw ${last.statefulP99.ratio.toFixed(2)}x, warm p99 ${last.warmP99.ratio.toFixed(2)}x`,
    );
  }
  const merges = [];
  for (const mode of MERGES) {
    const rowKey = `merge-${mode}`;
    const scenario = { environments: MERGE_ENVIRONMENTS, invocations: INVOCATIONS, atOnce: 1 };
    await take();
    const results = await runSide(mode, scenario, endpoint, rowKey);
    const counts = await take();
    const invocations = scenario.environments * scenario.invocations;
    const row = (await client.send(new GetItemCommand({ TableName: TABLE, Key: { key: { S: rowKey } }, ConsistentRead: true }))).Item?.value?.M ?? {};
    const kept =
      mode === 'keys'
        ? Object.values(row.seen?.M?.['@value']?.M ?? {}).reduce((sum, value) => sum + Number(value.N), 0)
        : new Set((row.ids?.L ?? []).map((id) => id.S)).size;
    const result = {
      scenario: `merge: ${mode === 'keys' ? 'keys' : 'a function (set union)'}, ${scenario.environments} environments`,
      invocations,
      failed: results.reduce((sum, r) => sum + r.failures.length, 0),
      lost: invocations - kept,
      writesPerInvocation: ((counts.PutItem ?? 0) + (counts.UpdateItem ?? 0)) / invocations,
      readsPerInvocation: (counts.GetItem ?? 0) / invocations,
      conflicts: results.reduce((sum, r) => sum + (r.stats?.conflicts ?? 0), 0),
      failures: results.flatMap((r) => r.failures).slice(0, 3),
    };
    merges.push(result);
    rows.push(result);
    console.log(
      `${result.scenario.padEnd(44)} failed ${result.failed}, lost ${result.lost}, write requests/invocation ${result.writesPerInvocation.toFixed(3)}, ` +
        `reads/invocation ${result.readsPerInvocation.toFixed(3)}, conflicts ${result.conflicts}`,
    );
  }
  if (merges.length > 0) {
    console.log('\n| merge | invocations | failed | lost | write requests / invocation | reads / invocation | conflicts |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const r of merges) console.log(`| ${r.scenario} | ${r.invocations} | ${r.failed} | ${r.lost} | ${r.writesPerInvocation.toFixed(3)} | ${r.readsPerInvocation.toFixed(3)} | ${r.conflicts} |`);
  }
  const timed = rows.filter((r) => r.p50 !== undefined);
  console.log('\n| scenario | invocations | failed | lost | write requests / invocation | conflicts | p50 library / raw | p99 library / raw | p99 library / stateful raw | p99 without cold starts | first invocation p50 library / raw / stateful | client CPU / invocation |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of timed) {
    console.log(
      `| ${r.scenario} | ${r.invocations} | ${r.failed} | ${r.lost} | ${r.writesPerInvocation.toFixed(3)} | ${r.conflicts} | ` +
        `${r.p50.lib.toFixed(1)} / ${r.p50.raw.toFixed(1)} ms = ${r.p50.ratio.toFixed(2)}x | ${r.p99.lib.toFixed(1)} / ${r.p99.raw.toFixed(1)} ms = ${r.p99.ratio.toFixed(2)}x | ` +
        `${r.statefulP99.raw.toFixed(1)} ms = ${r.statefulP99.ratio.toFixed(2)}x | ` +
        `${r.warmP99.lib.toFixed(1)} / ${r.warmP99.raw.toFixed(1)} ms = ${r.warmP99.ratio.toFixed(2)}x | ${r.firstP50.lib.toFixed(1)} / ${r.firstP50.raw.toFixed(1)} / ${r.firstP50.stateful.toFixed(1)} ms | ` +
        `${r.cpuPerInvocationMs.lib.toFixed(2)} / ${r.cpuPerInvocationMs.raw.toFixed(2)} ms |`,
    );
  }
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ date: new Date().toISOString(), machine, quick, rows }, null, 2)}\n`);
  client.destroy();
  dynamo.stop();
  const bad = rows.filter((r) => r.failed > 0 || r.lost !== 0);
  if (bad.length > 0) {
    console.error(`\nfailed or lost updates in: ${bad.map((r) => r.scenario).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
