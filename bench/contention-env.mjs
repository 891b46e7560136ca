// One execution environment of `npm run bench:contention` (bench/contention.mjs): a process that
// loads dist/ (what users get), waits for 'go', runs its invocations and reports their times.
//   node contention-env.mjs <lib|raw|stateful> <env index> <endpoint> <table> <row key> <invocations> <at once>
// lib: a handler whose invocation adds 1 to its own field e<index> and to a `sum` counter `total`.
// raw: the same change as one UpdateItem per invocation (the floor), on another row; stateful: the
// same, plus one GetItem of the row in the environment's first invocation. keys: a handler whose
// invocation sets its own key e<index> of a `merge: keys` Map to its count; function: one that adds
// "e<index>-<n>" to a list merged by a function (set union).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const [mode, indexText, endpoint, table, rowKey, countText, atOnceText] = process.argv.slice(2);
const index = Number(indexText);
const count = Number(countText);
const atOnce = Number(atOnceText);
const { DynamoDBClient, GetItemCommand, UpdateItemCommand } = require('@aws-sdk/client-dynamodb');
const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
const field = `e${index}`;

let invoke;
let stats;
/** A Lambda context with 30 s left. */
const context = () => {
  const deadline = Date.now() + 30_000;
  return { functionName: rowKey, getRemainingTimeInMillis: () => deadline - Date.now() };
};
if (mode === 'lib') {
  const { Persistent, PersistentHandler, sum } = require(join(root, 'dist/index.js'));
  class Contended extends PersistentHandler {
    constructor() {
      super();
      this[field] = 0;
      this.total = 0;
    }
    async handler() {
      this[field] += 1;
      this.total += 1;
      return null;
    }
  }
  Persistent()(Contended.prototype, field);
  Persistent({ merge: sum })(Contended.prototype, 'total');
  const handler = Contended.bind({ client, tableName: table, tableKey: rowKey });
  stats = handler.stats;
  invoke = () => handler(undefined, context());
} else if (mode === 'keys' || mode === 'function') {
  const { Persistent, PersistentHandler, keys } = require(join(root, 'dist/index.js'));
  const union = (_base, mine, theirs) => [...new Set([...(theirs ?? []), ...(mine ?? [])])];
  let n = 0;
  class Merged extends PersistentHandler {
    constructor() {
      super();
      this.seen = new Map();
      this.ids = [];
    }
    async handler() {
      n += 1;
      if (mode === 'keys') this.seen.set(field, n);
      else this.ids = [...this.ids, `${field}-${n}`];
      return null;
    }
  }
  Persistent({ merge: keys })(Merged.prototype, 'seen');
  Persistent({ merge: union })(Merged.prototype, 'ids');
  const handler = Merged.bind({ client, tableName: table, tableKey: rowKey });
  stats = handler.stats;
  invoke = () => handler(undefined, context());
} else {
  const input = {
    TableName: table,
    Key: { key: { S: rowKey } },
    UpdateExpression: 'SET #v.#f = if_not_exists(#v.#f, :zero) + :one, #v.#t = if_not_exists(#v.#t, :zero) + :one',
    ExpressionAttributeNames: { '#v': 'value', '#f': field, '#t': 'total' },
    ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' } },
  };
  const update = () => client.send(new UpdateItemCommand(input));
  // stateful: a hand-written handler that reads its state once per environment (its cold start),
  // as the library does, then writes the change.
  let cold = mode === 'stateful';
  invoke = async () => {
    if (cold) {
      cold = false;
      await client.send(new GetItemCommand({ TableName: table, Key: input.Key, ConsistentRead: true }));
    }
    return update();
  };
}

process.on('message', async (message) => {
  if (message?.type !== 'go') return;
  const times = [];
  const failures = [];
  const cpuBefore = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const started = performance.now();
      try {
        await invoke();
        times.push({ n, ms: performance.now() - started });
      } catch (error) {
        failures.push(`${error?.name}: ${error?.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, count) }, worker));
  const cpu = process.cpuUsage(cpuBefore);
  process.send({ type: 'result', times, failures, cpuMs: (cpu.user + cpu.system) / 1000, stats: stats && JSON.parse(JSON.stringify(stats)) });
  client.destroy();
  process.disconnect();
});
process.send({ type: 'ready' });
