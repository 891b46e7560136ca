// `npm run bench:cold-shapes`: the cold start of a handler in each shape users deploy, measured as
// a new user would (issue "Today's Lambda runtimes and the cold start"): a fresh process with the
// AWS SDK already loaded (untimed); timed: load the handler module (and through it the package,
// whose bind() creates the client) and run its first invocation to the result. Baseline: create a
// DynamoDBClient and send one GetItem (ConsistentRead) in a fresh process with the SDK loaded.
//
// Shapes: CommonJS (`require('aws-lambda-persistence')` from node_modules, as tsc emits), an
// esbuild bundle (the library inside, SDK external, as CDK's NodejsFunction builds), an ES module
// (`import` from node_modules: a .mjs handler, or a layer). The handler has three fields and its
// first invocation reads them (one GetItem, as the baseline). The package is linked into a project
// under .tmp/bench/shapes, so it resolves through its package.json exports as installed.
//
// Beside the baseline, each shape also has a raw handler of the same shape: a module that
// creates the client when it loads and sends the GetItem when invoked, loaded the same way. Loading
// a handler module costs the same with or without the library (an ES module's first import()
// ~1.5 ms), so the same-shape ratio is the library's own share.
// Options: --rounds <n> (default 15, the first 2 not counted). Prints a Markdown table.
// `npm run bench` runs the same measurement (measureShapes) for its headline cold-start rows.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const WARMUP = 2;
/** The library's shapes, with the labels the reports print. */
export const SHAPES = { cjs: 'CommonJS, require from node_modules', bundle: 'esbuild bundle, library inside', esm: 'ES module, import from node_modules' };
const dir = join(root, '.tmp/bench/shapes');

const CLASS = `class Handler extends PersistentHandler {
  constructor() { super(); this.count = 0; this.lastRun = undefined; this.note = ''; }
  async handler() { return { count: this.count }; }
}
for (const field of ['count', 'lastRun', 'note']) Persistent()(Handler.prototype, field);`;
/** Each shape's module: the library's handlers, and the raw handlers of the same shapes. */
const HANDLERS = { cjs: 'handler.cjs', bundle: 'bundle.cjs', esm: 'handler.mjs', 'raw-cjs': 'raw-handler.cjs', 'raw-bundle': 'raw-bundle.cjs', 'raw-esm': 'raw-handler.mjs' };
const RAW = `const client = new DynamoDBClient({});
exports.handler = async () => {
  const { Item } = await client.send(new GetItemCommand({ TableName: 'ColdShapes', Key: { key: { S: 'cold-shapes' } }, ConsistentRead: true }));
  return { count: Item?.value?.M?.count?.N };
};
`;
const FILES = {
  'handler.cjs': `const { Persistent, PersistentHandler } = require('aws-lambda-persistence');\n${CLASS}\nexports.handler = Handler.bind();\n`,
  'handler.mjs': `import { Persistent, PersistentHandler } from 'aws-lambda-persistence';\n${CLASS}\nexport const handler = Handler.bind();\n`,
  'raw-handler.cjs': `const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');\n${RAW}`,
  'raw-handler.mjs': `import { createRequire } from 'node:module';\nconst { DynamoDBClient, GetItemCommand } = createRequire(import.meta.url)('@aws-sdk/client-dynamodb');\n${RAW.replace('exports.handler =', 'export const handler =')}`,
  'run-one.mjs': `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const shape = process.argv[2];
const HANDLERS = ${JSON.stringify(HANDLERS)};
const context = { functionName: 'cold-shapes', getRemainingTimeInMillis: () => 30000 };
const started = performance.now();
if (shape === 'raw') {
  await new DynamoDBClient({}).send(new GetItemCommand({ TableName: 'ColdShapes', Key: { key: { S: 'cold-shapes' } }, ConsistentRead: true }));
} else {
  const module = shape.endsWith('esm') ? await import(\`./\${HANDLERS[shape]}\`) : require(\`./\${HANDLERS[shape]}\`);
  await module.handler({}, context);
}
console.log(JSON.stringify({ ms: performance.now() - started }));
process.exit(0);
`,
};

/**
 * Measures every shape and baseline in fresh processes, `rounds` rounds (the first two not counted),
 * rotated: { shape: [ms per counted round] }, paired by round. Builds dist/ first unless told not to.
 */
export async function measureShapes({ rounds = 15, build = true } = {}) {
  if (build) execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules/@aws-sdk'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules/aws-lambda-persistence'), 'dir');
  symlinkSync(join(root, 'node_modules/@aws-sdk/client-dynamodb'), join(dir, 'node_modules/@aws-sdk/client-dynamodb'), 'dir');
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  const esbuild = require('esbuild');
  for (const [entry, outfile] of [['handler.mjs', 'bundle.cjs'], ['raw-handler.cjs', 'raw-bundle.cjs']]) {
    await esbuild.build({
      absWorkingDir: dir,
      entryPoints: [join(dir, entry)],
      outfile: join(dir, outfile),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      external: ['@aws-sdk/*'],
      logLevel: 'silent',
    });
  }
  const dynamo = fork(join(root, 'bench/dynalite-server.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => dynamo.on('message', (message) => message?.type === 'ready' && resolve(message.port)));
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    PERSISTENCE_TABLE_NAME: 'ColdShapes',
    PERSISTENCE_TABLE_KEY: 'cold-shapes',
  };
  const once = (shape) => JSON.parse(execFileSync(process.execPath, ['run-one.mjs', shape], { cwd: dir, env, encoding: 'utf8' }).trim().split('\n').pop()).ms;
  // The table and a row with the three fields, written by the library.
  writeFileSync(join(dir, 'seed.cjs'), `${FILES['handler.cjs'].replace('async handler() { return { count: this.count }; }', 'async handler() { this.count = 1; this.note = "n"; this.lastRun = new Date(0); }')}`);
  execFileSync(process.execPath, ['-e', "require('./seed.cjs').handler({}, { functionName: 'cold-shapes', getRemainingTimeInMillis: () => 30000 })"], { cwd: dir, env });
  const shapes = ['cjs', 'bundle', 'esm', 'raw-cjs', 'raw-bundle', 'raw-esm', 'raw'];
  const times = Object.fromEntries(shapes.map((shape) => [shape, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotated, so that no shape always follows another.
    for (const shape of shapes.slice(round % shapes.length).concat(shapes.slice(0, round % shapes.length))) {
      const ms = once(shape);
      if (round >= WARMUP) times[shape].push(ms);
    }
  }
  dynamo.kill();
  return times;
}

async function main() {
  const args = process.argv.slice(2);
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 15;
  const times = await measureShapes({ rounds });
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const ms = (shape) => median(times[shape]);
  const raw = ms('raw');
  console.log(`cold start by handler shape: Node ${process.version}, medians of ${rounds - WARMUP}\n`);
  console.log('| shape | library | raw handler, same shape | library / raw handler | library / raw GetItem |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [shape, label] of Object.entries(SHAPES)) {
    const same = ms(`raw-${shape}`);
    console.log(`| ${label} | ${ms(shape).toFixed(1)} ms | ${same.toFixed(1)} ms | ${(ms(shape) / same).toFixed(2)}x | ${(ms(shape) / raw).toFixed(2)}x |`);
  }
  console.log(`| raw: DynamoDBClient + GetItem (the issue's baseline) | | | | ${raw.toFixed(1)} ms |`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
