// `npm run bench:capacity`: what each operation costs in DynamoDB capacity, before and after fields
// got items of their own. Capacity is deterministic (DynamoDB's rules, which dynalite applies to
// `ReturnConsumedCapacity`), so one run of each operation is the figure; no timing here.
//
// A handler with a counter (`merge: sum`), a small tag and the state's bulk in large fields, on
// dist/ (what users get), against dynalite in this process. "before": `largeFieldBytes` above any
// field, so everything stays in the row, as up to this release; "after": the default (4 KB).
// States (random text, which gzip cannot shrink): about 1 KB (one 800-byte field), 100 KB (one
// field), 1 MB (ten fields of 100 KB), and 1 MB in one field (over the 350 KB a field item takes:
// the state is packed or split either way).
// Options: --json <file>. Results: bench/results/capacity.json; docs/performance.md.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : join(root, 'bench/results/capacity.json');
const KB = 1024;
const STATES = [
  { label: '1 KB (an 800-byte field)', fields: [800] },
  { label: '100 KB', fields: [100 * KB] },
  { label: '1 MB (10 fields of 100 KB)', fields: Array(10).fill(100 * KB) },
  { label: '1 MB (one field)', fields: [1024 * KB] },
];
const LAYOUTS = [
  { label: 'before (all in the row)', largeFieldBytes: 64 * 1024 * 1024 },
  { label: 'after (default largeFieldBytes)', largeFieldBytes: undefined },
];

async function main() {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'ignore' });
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dynalite = require('dynalite');
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
  const { Persistent, PersistentHandler, sum } = require(join(root, 'dist/index.js'));
  const server = dynalite({ createTableMs: 0 });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });

  // The table, created once before anything is measured.
  class WarmUp extends PersistentHandler {
    async handler() {}
  }
  await WarmUp.bind({ client, tableName: 'BenchCapacity', tableKey: 'warm-up', billing: { mode: 'PAY_PER_REQUEST' } })({}, { functionName: 'warm-up', getRemainingTimeInMillis: () => 60_000 });
  const rows = [];
  let n = 0;
  for (const state of STATES) {
    for (const layout of LAYOUTS) {
      const names = state.fields.map((_, i) => `blob${i}`);
      class Bench extends PersistentHandler {
        constructor() {
          super();
          this.count = 0;
          this.tag = '';
          for (const name of names) this[name] = '';
        }
        async handler(event) {
          if (event.bump) this.count += 1;
          if (event.fill) state.fields.forEach((size, i) => (this[names[i]] = text(size)));
          if (event.replaceOne) this[names[0]] = text(state.fields[0]);
          return this.count;
        }
      }
      Persistent({ merge: sum })(Bench.prototype, 'count');
      Persistent()(Bench.prototype, 'tag');
      for (const name of names) Persistent()(Bench.prototype, name);
      const tableKey = `capacity-${n++}`;
      const options = { client, tableName: 'BenchCapacity', tableKey, billing: { mode: 'PAY_PER_REQUEST' }, ...(layout.largeFieldBytes && { largeFieldBytes: layout.largeFieldBytes }) };
      const context = () => ({ functionName: tableKey, getRemainingTimeInMillis: () => 60_000 });
      const writer = Bench.bind(options);
      const measure = async (handler, event) => {
        const before = JSON.parse(JSON.stringify(handler.stats));
        await handler(event, context());
        const requests = Object.entries(handler.stats.requests)
          .filter(([op, count]) => count > before.requests[op])
          .map(([op, count]) => `${count - before.requests[op]} ${op}`)
          .join(' + ');
        return { requests, wcu: round(handler.stats.writeUnits - before.writeUnits), rcu: round(handler.stats.readUnits - before.readUnits) };
      };
      const first = await measure(writer, { fill: true, bump: true });
      const bump = await measure(writer, { bump: true });
      const replace = await measure(writer, { replaceOne: true });
      const cold = await measure(Bench.bind(options), {});
      rows.push({ state: state.label, layout: layout.label, first, bump, replace, cold });
      console.log(`${state.label.padEnd(28)} ${layout.label.padEnd(32)} +1: ${bump.wcu} WCU, replace: ${replace.wcu} WCU, cold start: ${cold.rcu} RCU`);
    }
  }
  const cell = (op) => `${op.requests}: ${op.wcu > 0 ? `${op.wcu} WCU` : ''}${op.wcu > 0 && op.rcu > 0 ? ', ' : ''}${op.rcu > 0 ? `${op.rcu} RCU` : ''}`;
  console.log('\n| state | layout | first write | counter + 1 | replace one large field | cold start |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.state} | ${r.layout} | ${cell(r.first)} | ${cell(r.bump)} | ${cell(r.replace)} | ${cell(r.cold)} |`);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
  client.destroy();
  server.close();
}

const round = (units) => Math.round(units * 10) / 10;
// Text that gzip cannot shrink (base64 of random bytes), so a packed state is as large as real data.
const text = (size) => randomBytes(Math.ceil((size * 3) / 4)).toString('base64').slice(0, size);

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
