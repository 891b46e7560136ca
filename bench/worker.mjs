// The processes bench/run.mjs starts. One script, three roles, chosen by argv[2]:
//
//   cold <lib|raw|doc> <bundle> [event]
//                                a fresh process: load the handler (lib) or the SDK (raw, doc), then
//                                time the first invocation (with `event`, JSON, default {}) / the
//                                first GetItem; report and exit
//   import <what>                a fresh process: time one require(); report and exit
//   warm <bundle> <internals>    a long-lived process running the in-process scenarios on command;
//                                <internals> is the bundle of the library's internal functions
//                                (bench/internals.mjs: codec, sameValue, TrackedState, from src/)
//
// Results go back over IPC. Only Node built-ins are imported statically, so the fresh-process roles
// measure nothing but what they load themselves.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const now = () => process.hrtime.bigint();
const ms = (from, to) => Number(to - from) / 1e6;
const TABLE = process.env.BENCH_TABLE_NAME;

/** A Lambda context as the runtime passes it (3 s timeout). */
function lambdaContext(functionName) {
  const deadline = Date.now() + 3000;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `bench/[$LATEST]${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function send(message) {
  return new Promise((resolve, reject) => process.send(message, (error) => (error ? reject(error) : resolve())));
}

const [role, ...args] = process.argv.slice(2);
if (role === 'cold') await cold(args[0], args[1], JSON.parse(args[2] ?? '{}'));
else if (role === 'import') await importOne(args[0]);
else if (role === 'warm') warm(args[0], args[1]);
else throw new Error(`unknown role ${role}`);

// --------------------------------------------------------------------------------------- cold start

/**
 * Init (untimed for the comparison, reported): load the handler bundle, whose module body calls
 * bind() (which creates the client), or load the SDK and create a client at module level as a raw
 * handler would. Then the timed part: the first invocation (GetItem + hydration of the ten fields)
 * or the first GetItem (ConsistentRead, as the library reads).
 */
async function cold(side, bundle, event) {
  const key = process.env.BENCH_TABLE_KEY;
  const t0 = now();
  let first;
  if (side === 'lib') {
    const { handler } = require(bundle);
    first = () => handler(event, lambdaContext('bench-cold'));
  } else if (side === 'lib-split') {
    // The library's own share of the first invocation: `bundle` is the warm bundle, whose SmallState
    // is bound here with an injected client (configured as the library configures its own) that
    // records when the GetItem was sent and when its answer came back.
    const { SmallState } = require(bundle);
    const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
    const timed = timedClient(new DynamoDBClient({ maxAttempts: 3 }));
    const handler = SmallState.bind({ tableName: TABLE, tableKey: key, client: timed.client });
    first = async () => {
      const start = now();
      const result = await handler(event, lambdaContext('bench-cold'));
      return { ...result, split: timed.split(start, now()) };
    };
  } else if (side === 'raw') {
    const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient({});
    first = async () => {
      const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { key: { S: key } }, ConsistentRead: true }));
      return { count: Number(Item.value.M.count.N), cursor: Item.value.M.cursor.S };
    };
  } else if (side === 'doc') {
    const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
    const { DynamoDBDocumentClient, GetCommand } = require('@aws-sdk/lib-dynamodb');
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    first = async () => {
      const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: { key }, ConsistentRead: true }));
      return { count: Item.value.count, cursor: Item.value.cursor };
    };
  } else {
    throw new Error(`unknown side ${side}`);
  }
  const t1 = now();
  const result = await first();
  const t2 = now();
  await send({ type: 'result', initMs: ms(t0, t1), ms: ms(t1, t2), result });
  process.exit(0);
}

/**
 * A client whose send() records when the request was handed to the SDK and when it settled, so an
 * invocation's time splits into the library's work before the request, the request (SDK and
 * server), and the library's work after it.
 */
function timedClient(inner) {
  let sent = 0n;
  let settled = 0n;
  let requests = 0;
  return {
    client: {
      async send(command, options) {
        requests += 1;
        sent = now();
        try {
          return await inner.send(command, options);
        } finally {
          settled = now();
        }
      },
    },
    reset() {
      requests = 0;
    },
    /** For an invocation of one request from `start` to `end`: { before, request, after } in ms. */
    split(start, end) {
      if (requests !== 1) throw new Error(`expected one request per invocation, got ${requests}`);
      requests = 0;
      return { before: ms(start, sent), request: ms(sent, settled), after: ms(settled, end) };
    },
  };
}

// ------------------------------------------------------------------------------------------- import

async function importOne(what) {
  let t0;
  if (what === 'aws-lambda-persistence after @aws-sdk/client-dynamodb') {
    require('@aws-sdk/client-dynamodb');
    t0 = now();
    require('aws-lambda-persistence');
  } else {
    t0 = now();
    // The package resolves itself through its "exports" (require → dist/index.js), as users get it.
    require(what);
  }
  const t1 = now();
  await send({ type: 'result', ms: ms(t0, t1) });
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------- warm

function warm(bundle, internals) {
  const H = require(bundle);
  const { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } = require('@aws-sdk/client-dynamodb');
  // The library's internal functions, bundled from src/ (dist/index.js exports only the public
  // API): for the baseline items (encoded exactly as the library encodes) and for the measurements
  // of the change detection's parts.
  const codec = require(internals);
  const { TrackedState, sameValue } = codec;
  const raw = new DynamoDBClient({});
  // Each invocation gets its own context (and deadline), as Lambda gives it; made before the clock starts.
  const fresh = () => lambdaContext('bench-warm');
  const scenarios = {};
  let n = 1_000_000;

  async function readItem(key) {
    const { Item } = await raw.send(new GetItemCommand({ TableName: TABLE, Key: { key: { S: key } }, ConsistentRead: true }));
    return Item;
  }

  /**
   * The raw side of a write scenario: PutItem of the item the library writes (read once from the
   * library's row as the template), under a key of the same length, with the same condition
   * (`#revision = :expected`) and the same ReturnValuesOnConditionCheckFailure, on a reused client.
   * The item is prepared before the clock starts; the command and the request are timed.
   */
  async function rawWriter(libraryKey, rawKey, change) {
    if (rawKey.length !== libraryKey.length) throw new Error('keys of different lengths');
    const template = await readItem(libraryKey);
    let revision = 0;
    return {
      prepare(value) {
        const item = structuredClone(template);
        item.key = { S: rawKey };
        change(item.value.M, value);
        item.revision = { N: String(revision + 1) };
        item.updatedAt = { S: new Date().toISOString() };
        item.writeId = { S: randomUUID() };
        return {
          TableName: TABLE,
          Item: item,
          ...(revision === 0
            ? { ConditionExpression: 'attribute_not_exists(#revision)' }
            : { ConditionExpression: '#revision = :expected', ExpressionAttributeValues: { ':expected': { N: String(revision) } } }),
          ExpressionAttributeNames: { '#revision': 'revision' },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        };
      },
      async put(input) {
        await raw.send(new PutItemCommand(input));
        revision += 1;
      },
    };
  }

  /**
   * The fourth side of a write scenario: the library's own request, sent by hand. The UpdateItem
   * the library sent for the same change is recorded from a handler bound with a recording client
   * (its own row, under a key of the same length), then sent again on a reused client with fresh
   * write ids. It separates the library's own overhead from the cost of the request it chose: an
   * UpdateItem with an update expression, which dynalite parses and evaluates in JavaScript, more
   * slowly than it stores a PutItem's item.
   */
  async function sameRequestWriter(tableKey, eventOf) {
    const sent = [];
    const recording = {
      send(command, options) {
        if (command instanceof UpdateItemCommand) sent.push(command.input);
        return raw.send(command, options);
      },
    };
    const handler = H.SmallState.bind({ tableName: TABLE, tableKey, client: recording });
    await handler({}, fresh());
    for (let i = 0; i < 5; i++) await handler(eventOf(++n), fresh());
    const template = sent.at(-1);
    if (template === undefined) throw new Error(`${tableKey}: the library sent no UpdateItem`);
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    return {
      prepare() {
        const input = structuredClone(template);
        for (const value of Object.values(input.ExpressionAttributeValues ?? {})) if (UUID.test(value.S ?? '')) value.S = randomUUID();
        return input;
      },
      send: (input) => raw.send(new UpdateItemCommand(input)),
    };
  }

  /**
   * The third side of a write scenario: the same handler class bound with an injected client,
   * configured as the library configures its own (`new DynamoDBClient({ maxAttempts: 3 })`), that
   * records when its request went out and came back (see timedClient); returns { before, request,
   * after } in ms. Run interleaved with the other two, so its request time compares with theirs.
   */
  async function splitSide(tableKey, event) {
    const timed = timedClient(new DynamoDBClient({ maxAttempts: 3 }));
    // The same class, marking when the library calls handler() and when its synchronous part has
    // returned (no extra await): "before" splits into the invocation's prologue, the handler's
    // synchronous part (assignments, update()), and from there to the request being sent.
    const marks = { entered: 0n, returned: 0n };
    class Marked extends H.SmallState {
      handler(e, context) {
        marks.entered = now();
        const result = super.handler(e, context);
        marks.returned = now();
        return result;
      }
    }
    const handler = Marked.bind({ tableName: TABLE, tableKey, client: timed.client });
    await handler({}, fresh());
    for (let i = 0; i < 5; i++) await handler(event(++n), fresh());
    timed.reset();
    return async () => {
      const e = event(++n);
      const context = fresh();
      const t0 = now();
      await handler(e, context);
      const split = timed.split(t0, now());
      return { ...split, prologue: ms(t0, marks.entered), body: ms(marks.entered, marks.returned), toSend: split.before - ms(t0, marks.returned) };
    };
  }

  /** Per scenario, timed functions `lib` and `base` (and `split`) returning their duration in ms. */
  const commands = {
    async setup() {
      // A warm write scenario: the bound handler handling `eventOf(value)`, against a raw PutItem
      // of the same item (`encode` puts the changed fields into it), with the same condition.
      const writeScenario = async (prefix, eventOf, encode) => {
        const handler = H.SmallState.bind({ tableName: TABLE, tableKey: `${prefix}-lib` });
        await handler({}, fresh()); // cold start: GetItem, no row yet
        for (let i = 0; i < 5; i++) await handler(eventOf(++n), fresh()); // first writes, warm-up
        const writer = await rawWriter(`${prefix}-lib`, `${prefix}-raw`, encode);
        for (let i = 0; i < 5; i++) await writer.put(writer.prepare(++n));
        const same = await sameRequestWriter(`${prefix}-req`, eventOf);
        return {
          split: await splitSide(`${prefix}-spl`, eventOf),
          sameRequest: async () => {
            const input = same.prepare();
            const t0 = now();
            await same.send(input);
            return ms(t0, now());
          },
          lib: async () => {
            const event = eventOf(++n);
            const context = fresh();
            const t0 = now();
            await handler(event, context);
            return ms(t0, now());
          },
          base: async () => {
            const input = writer.prepare(++n);
            const t0 = now();
            await writer.put(input);
            return ms(t0, now());
          },
        };
      };
      // One set + flush: a warm handler assigning one field.
      scenarios.set = await writeScenario('bench-set', (v) => ({ set: v }), (fields, value) => {
        fields.count = codec.encodeValue('count', value);
      });
      // update() of ten fields.
      scenarios.update = await writeScenario('bench-upd', (v) => ({ update: v }), (fields, value) => {
        for (const [name, v] of Object.entries(H.updateValues(value))) fields[name] = codec.encodeValue(name, v);
      });
      // Warm invocation changing nothing, ten small fields: the bound handler against the plain class.
      {
        const handler = H.SmallState.bind({ tableName: TABLE, tableKey: 'bench-nochange' });
        await handler({}, fresh());
        const plain = new H.PlainSmallState();
        scenarios.noChange = pairInProcess(handler, plain);
      }
      return { ok: true };
    },

    /**
     * The large-state handlers: each bound handler's first invocation fills its state (`seed`) and
     * writes it to the row, so that the row holds it as it would in production; then a warm
     * no-change invocation of the bound handler against the plain class with the same state.
     */
    async setupLarge({ sizes }) {
      const described = [];
      for (const { label, records } of sizes) {
        const handler = H.LargeState.bind({ tableName: TABLE, tableKey: `bench-large-${label}` });
        await handler({ seed: records }, fresh());
        const plain = new H.PlainLargeState();
        await plain.handler({ seed: records }, fresh());
        const state = H.largeState(records);
        const fields = { log: codec.encodeValue('log', state.log), byId: codec.encodeValue('byId', state.byId), count: { N: '0' } };
        const stored = await readItem(`bench-large-${label}`);
        described.push({
          label,
          records,
          jsonBytes: Buffer.byteLength(JSON.stringify(state)),
          dynamoBytes: codec.attributeSize({ M: fields }),
          storedAs: stored.value ? 'map' : stored.packed ? `packed (${stored.packed.B.length} bytes)` : 'parts',
        });
        scenarios[`large-${label}`] = pairInProcess(handler, plain);
        scenarios[`parts-${label}`] = partsOf(fields);
      }
      return { sizes: described };
    },

    /** One run of one side, for the request count. */
    async once({ scenario, side }) {
      await scenarios[scenario][side]();
      return { ok: true };
    },

    /** `reps` runs of each side, interleaved, the order rotating; warm-up runs first. */
    async bench({ scenario, reps, warmup }) {
      const { lib, base, split, sameRequest } = scenarios[scenario];
      const sides = split ? [lib, base, split, sameRequest] : [lib, base];
      for (let i = 0; i < warmup; i++) for (const side of sides) await side();
      const samples = sides.map(() => []);
      for (let i = 0; i < reps; i++) {
        for (let k = 0; k < sides.length; k++) {
          const index = (i + k) % sides.length;
          samples[index].push(await sides[index]());
        }
      }
      return { lib: samples[0], base: samples[1], ...(split && { split: samples[2], sameRequest: samples[3] }) };
    },

    /** The parts of the end-of-invocation change detection, timed separately (see partsOf). */
    async parts({ label, reps }) {
      return scenarios[`parts-${label}`](reps);
    },
  };

  /** A bound handler's warm invocation against `plain.handler()`, both awaited, same event and context. */
  function pairInProcess(handler, plain) {
    const event = {};
    return {
      lib: async () => {
        const context = fresh();
        const t0 = now();
        await handler(event, context);
        return ms(t0, now());
      },
      base: async () => {
        const context = fresh();
        const t0 = now();
        await plain.handler(event, context);
        return ms(t0, now());
      },
    };
  }

  /**
   * What the change detection does for a state, piece by piece, with the library's own functions
   * (bundled from src/): TrackedState.detectMutations() as a whole, on a TrackedState attached to a
   * plain object and loaded with the stored row — once steady (nothing changed: each object field is
   * compared with the copy decoded from its last encoding, `sameValue`), and as the first check after
   * `load()` (no copy yet: each object field is encoded, fingerprinted and sized, then decoded into
   * its copy; the same work follows every assignment of an object field) — and the codec functions
   * that path calls, timed separately over the two object fields.
   */
  function partsOf(fields) {
    const holder = { log: [], byId: {}, count: 0 };
    // rowOverhead: the size of the row without the state (key, bookkeeping, names); a constant suffices here.
    const tracked = new TrackedState({
      location: { tableName: TABLE, tableKey: 'bench-parts' },
      rowOverhead: () => 120,
      maxBytes: 4 * 1024 * 1024,
      sizes: new codec.SizeCache(),
      onCorruptField: 'fail',
      open: false,
    });
    tracked.attach(holder, [{ name: 'log' }, { name: 'byId' }, { name: 'count' }]);
    const row = { fields, revision: 1 };
    // As after a cold start that read the row holding the state (decoded values, as the library has them).
    tracked.load(row);
    const time = (fn) => {
      const t0 = now();
      fn();
      return ms(t0, now());
    };
    return (reps) => {
      const samples = { detectMutations: [], sameValue: [], detectFirst: [], encodeValue: [], fingerprint: [], attributeSize: [], decodeValue: [] };
      for (let i = 0; i < reps; i++) {
        tracked.load(row); // untimed: decodes the stored fields; no copies yet
        samples.detectFirst.push(time(() => refuseNothing(tracked.detectMutations())));
        samples.detectMutations.push(time(() => refuseNothing(tracked.detectMutations())));
        // The live values and their copies, as detectMutations compares them (copies made just above).
        const live = { log: holder.log, byId: holder.byId };
        const copies = { log: codec.decodeValue('log', fields.log), byId: codec.decodeValue('byId', fields.byId) };
        samples.sameValue.push(
          time(() => {
            if (!sameValue(live.log, copies.log) || !sameValue(live.byId, copies.byId)) throw new Error('parts: sameValue found a difference');
          }),
        );
        let a = 0;
        let b = 0;
        let c = 0;
        let d = 0;
        for (const name of ['log', 'byId']) {
          let attribute;
          a += time(() => (attribute = codec.encodeValue(name, live[name])));
          b += time(() => codec.fingerprint(attribute));
          c += time(() => codec.attributeSize(attribute));
          d += time(() => codec.decodeValue(name, attribute));
        }
        samples.encodeValue.push(a);
        samples.fingerprint.push(b);
        samples.attributeSize.push(c);
        samples.decodeValue.push(d);
      }
      return samples;
    };
  }

  function refuseNothing(refused) {
    if (refused.length > 0) throw refused[0];
  }

  process.on('message', async (message) => {
    try {
      const result = await commands[message.cmd](message);
      process.send({ type: 'reply', id: message.id, result });
    } catch (error) {
      process.send({ type: 'reply', id: message.id, error: { message: error?.message ?? String(error), stack: error?.stack } });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
