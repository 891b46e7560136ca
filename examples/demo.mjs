// `npm run demo`: builds the package, bundles examples/counter.ts the way a CDK NodejsFunction would
// (esbuild, node20, CommonJS, AWS SDK left to the runtime), and runs it against an embedded dynalite
// through several invocations in three simulated execution environments. Each environment is a
// fresh Node process (a cold start); invocations run one at a time, coordinated over IPC, and a small
// HTTP proxy in front of dynalite attributes every DynamoDB request to the invocation that made it.
//
// Run as `node examples/demo.mjs --environment <bundle>` it is that child process instead.
import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const FUNCTION_NAME = 'demo-counter';
const TABLE_NAME = 'AWSLambdaPersistence';
const STEP_TIMEOUT_MS = 30_000;

if (process.argv[2] === '--environment') {
  runEnvironment(process.argv[3]);
} else {
  main();
}

// ---------------------------------------------------------------- the execution environment (child)

/** Loads the bundle (the init phase), then runs each invocation the parent sends, one at a time. */
function runEnvironment(bundle) {
  const takeLogs = captureOutput();
  const { handler } = createRequire(import.meta.url)(bundle);
  process.send({ type: 'ready', logs: takeLogs() });
  process.on('message', async ({ type, event }) => {
    if (type !== 'invoke') return;
    const start = performance.now();
    const deadline = Date.now() + 3000; // Lambda's default timeout
    const context = {
      functionName: FUNCTION_NAME,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
      memoryLimitInMB: '128',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
      logStreamName: `demo/[$LATEST]${process.pid}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const result = await handler(event, context);
      process.send({ type: 'result', result, ms: performance.now() - start, logs: takeLogs() });
    } catch (error) {
      const { name, message = String(error), stack } = error ?? {};
      process.send({ type: 'error', error: { name, message, stack }, logs: takeLogs() });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * Collects what the handler writes to stdout and stderr (console.log and friends), to be sent
 * along with the invocation's result; the pipes to the parent keep only what bypasses the streams,
 * such as a crash report.
 */
function captureOutput() {
  let text = '';
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = (chunk, encoding, callback) => {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };
  }
  // A crash ends the process before the invocation's output is sent: write it to the pipe instead.
  process.on('exit', () => text && writeSync(2, `${text.trimEnd()}\n`));
  return () => {
    const taken = text.trimEnd();
    text = '';
    return taken;
  };
}

// ---------------------------------------------------------------------------------- the demo (parent)

async function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const require = createRequire(join(root, 'package.json'));
  const began = performance.now();
  const resources = [];
  // This process runs the SDK too (to print the stored item): Node 20 on purpose, keep the output readable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  let exitCode = 0;
  try {
    console.log('aws-lambda-persistence demo: examples/counter.ts in 3 simulated Lambda execution environments\n');

    // 1. Build the package.
    let step = performance.now();
    const built = run(process.execPath, [join(root, 'scripts/build.mjs')], root, 'npm run build (scripts/build.mjs)');
    const builtLine = built.trim().split('\n').pop();
    console.log(`build   ${builtLine} (${seconds(step)})`);

    // 2. Bundle the example like a user's NodejsFunction: the package import resolves to the built dist/.
    step = performance.now();
    const esbuild = require('esbuild');
    const bundle = join(root, '.tmp/demo/counter.js');
    const bundled = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [join(root, 'examples/counter.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['@aws-sdk/*'],
      alias: { 'aws-lambda-persistence': join(root, 'dist/index.js') },
      logLevel: 'silent',
    }).catch((error) => {
      throw new Error(`bundling examples/counter.ts failed:\n${messages(error.errors)}`);
    });
    if (bundled.warnings.length > 0) console.log(messages(bundled.warnings));
    const code = readFileSync(bundle, 'utf8');
    // esbuild reads the nearest tsconfig.json: experimentalDecorators there selects legacy decorators.
    const decorators = code.includes('__decorateElement') ? 'standard' : code.includes('__decorateClass') ? 'legacy' : 'unknown';
    console.log(
      `bundle  ${relative(root, bundle)}: ${(statSync(bundle).size / 1024).toFixed(1)} KB, ${decorators} decorators ` +
        `(esbuild node20 cjs, @aws-sdk/* external) (${seconds(step)})`,
    );

    // 3. dynalite, and a proxy in front of it that records each request's operation.
    const dynalite = require('dynalite')({ createTableMs: 50 });
    const dynamoEndpoint = await listen(dynalite);
    resources.push(() => close(dynalite));
    const traffic = { current: undefined, stray: [] };
    const proxy = requestRecorder(new URL(dynamoEndpoint), traffic);
    const proxyEndpoint = await listen(proxy);
    resources.push(() => close(proxy));
    console.log(`dynamo  dynalite on ${dynamoEndpoint}, requests recorded by a proxy on ${proxyEndpoint}\n`);

    // 4. Three execution environments in sequence, each a fresh process: a cold start, then warm invocations.
    const plan = [
      [{ name: 'alice' }, { name: 'bob' }, {}],
      [{ name: 'carol' }, { name: 'dave' }],
      [{ name: 'erin' }],
    ];
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS_|PERSISTENCE_)/.test(name))),
      AWS_ENDPOINT_URL_DYNAMODB: proxyEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'demo',
      AWS_SECRET_ACCESS_KEY: 'demo',
      AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const columns = ['env', 'start', 'event', 'ms', 'DynamoDB requests'];
    const widths = [3, 5, 17, 5];
    console.log(row(columns, widths));
    const invocations = [];
    for (const [index, events] of plan.entries()) {
      const environment = await startEnvironment(fileURLToPath(import.meta.url), bundle, env, root);
      resources.push(() => environment.stop());
      for (const [n, event] of events.entries()) {
        const record = { environment: index + 1, cold: n === 0, event, requests: [] };
        traffic.current = record;
        try {
          Object.assign(record, await environment.invoke(event));
        } finally {
          traffic.current = undefined;
        }
        invocations.push(record);
        console.log(
          row([String(index + 1), record.cold ? 'cold' : 'warm', JSON.stringify(event), Math.round(record.ms), describeRequests(record.requests)], widths),
        );
        const indent = ' '.repeat(widths[0] + widths[1] + 4);
        for (const line of record.logs?.split('\n') ?? []) console.log(`${indent}log ${line}`);
        console.log(`${indent}→ ${JSON.stringify(record.result)}`);
      }
      await environment.stop();
    }
    if (traffic.stray.length > 0) {
      throw new Error(`DynamoDB requests outside any invocation (at module load?): ${describeRequests(traffic.stray)}`);
    }

    // 5. The stored row, read directly from dynalite, as the console's "DynamoDB JSON" view shows it.
    const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient({
      endpoint: dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
    });
    let item;
    try {
      ({ Item: item } = await client.send(
        new GetItemCommand({ TableName: TABLE_NAME, Key: { key: { S: FUNCTION_NAME } }, ConsistentRead: true }),
      ));
    } finally {
      client.destroy();
    }
    console.log(`\nStored item: GetItem on table ${TABLE_NAME}, key "${FUNCTION_NAME}" (DynamoDB JSON):`);
    console.log(pretty(item));

    check(invocations, item);
    const requests = invocations.reduce((sum, record) => sum + record.requests.length, 0);
    console.log(
      `\nOK: ${invocations.length} invocations in ${plan.length} environments, ${requests} DynamoDB requests, ` +
        `count ${invocations.at(-1).result.count} (${seconds(began)})`,
    );
  } catch (error) {
    exitCode = 1;
    console.error(`\ndemo failed: ${error?.message ?? String(error)}`);
    if (error?.details) console.error(error.details);
  } finally {
    for (const stop of resources.reverse()) await stop().catch(() => undefined);
  }
  process.exit(exitCode);
}

/** What the demo shows must hold: state survives cold starts, warm invocations read nothing. */
function check(invocations, item) {
  const problems = [];
  const names = [];
  for (const [i, { result, requests, cold, environment }] of invocations.entries()) {
    if (invocations[i].event.name) names.push(invocations[i].event.name);
    if (result?.count !== i + 1) problems.push(`invocation ${i + 1} returned count ${result?.count}, expected ${i + 1}`);
    if (JSON.stringify(result?.names) !== JSON.stringify(names)) {
      problems.push(`invocation ${i + 1} returned names ${JSON.stringify(result?.names)}, expected ${JSON.stringify(names)}`);
    }
    const writes = requests.filter((r) => (r.op === 'PutItem' || r.op === 'UpdateItem') && !r.error);
    if (!cold && requests.some((r) => r.op !== 'UpdateItem')) {
      problems.push(`warm invocation ${i + 1} (env ${environment}) made ${describeRequests(requests)}; expected UpdateItem only`);
    }
    if (writes.length !== 1) {
      problems.push(`invocation ${i + 1} (env ${environment}) made ${describeRequests(requests)}; expected one successful write`);
    }
    // The row's first write puts it whole; every later one writes only the changed fields.
    if (writes[0]?.op !== (i === 0 ? 'PutItem' : 'UpdateItem')) {
      problems.push(`invocation ${i + 1} wrote with ${writes[0]?.op}, expected ${i === 0 ? 'PutItem' : 'UpdateItem'}`);
    }
  }
  const stored = item?.value?.M;
  if (stored?.count?.N !== String(invocations.length)) {
    problems.push(`stored count is ${JSON.stringify(stored?.count)}, expected { N: "${invocations.length}" }`);
  }
  if (JSON.stringify(stored?.names?.L?.map((v) => v.S)) !== JSON.stringify(names)) {
    problems.push(`stored names are ${JSON.stringify(stored?.names)}, expected ${JSON.stringify(names)}`);
  }
  if (problems.length > 0) throw new Error(`unexpected behaviour:\n  - ${problems.join('\n  - ')}`);
}

/** Starts one execution environment (a child process) and waits until its module is loaded. */
async function startEnvironment(script, bundle, env, cwd) {
  const child = fork(script, ['--environment', bundle], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopped = false;

  /** Resolves with the child's next message; rejects on a handler error, an exit or a timeout. `what`: for messages. */
  function next(what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`environment timed out after ${STEP_TIMEOUT_MS} ms (${what})`)), STEP_TIMEOUT_MS);
      const onMessage = (message) => {
        if (message.type === 'error') {
          const error = new Error(`the handler threw ${message.error.name}: ${message.error.message} (${what})`);
          error.details = [message.logs, message.error.stack].filter(Boolean).join('\n');
          fail(error);
        } else {
          done();
          resolve(message);
        }
      };
      const onExit = (code, signal) =>
        fail(Object.assign(new Error(`environment exited with ${signal ?? `code ${code}`} (${what})`), { details: output.trim() }));
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const fail = (error) => {
        done();
        reject(error);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  // Output of the init phase (module load) is shown with the first invocation, like in CloudWatch.
  let initLogs = (await next('loading the bundle')).logs;
  return {
    async invoke(event) {
      const reply = next(`invoking with ${JSON.stringify(event)}`);
      child.send({ type: 'invoke', event });
      const { result, ms, logs: invocationLogs } = await reply;
      const logs = [initLogs, invocationLogs].filter(Boolean).join('\n');
      initLogs = '';
      return { result, ms, ...(logs && { logs }) };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect();
        const timer = setTimeout(() => child.kill(), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** An HTTP proxy to `target` that files each request's operation under the running invocation. */
function requestRecorder(target, traffic) {
  return http.createServer((request, response) => {
    const op = String(request.headers['x-amz-target'] ?? `${request.method} ${request.url}`).replace(/^DynamoDB_\d+\./, '');
    const entry = { op };
    (traffic.current?.requests ?? traffic.stray).push(entry);
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        const chunks = [];
        answer.on('data', (chunk) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (answer.statusCode >= 400) {
            try {
              entry.error = String(JSON.parse(body.toString()).__type).split('#').pop();
            } catch {
              entry.error = `HTTP ${answer.statusCode}`;
            }
          }
          response.writeHead(answer.statusCode, answer.headers);
          response.end(body);
        });
      },
    );
    upstream.on('error', (error) => {
      entry.error = error.message;
      response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });
}

/** `GetItem (ResourceNotFoundException), CreateTable, DescribeTable ×2, PutItem` */
function describeRequests(requests) {
  if (requests.length === 0) return '(none)';
  const labels = requests.map(({ op, error }) => (error ? `${op} (${error})` : op));
  const parts = [];
  for (const label of labels) {
    const last = parts.at(-1);
    if (last?.label === label) last.count += 1;
    else parts.push({ label, count: 1 });
  }
  return parts.map(({ label, count }) => (count > 1 ? `${label} ×${count}` : label)).join(', ');
}

/** JSON indented like JSON.stringify(value, null, 2), but a value that fits on its line stays on one. */
function pretty(value, indent = '', prefix = 0, width = 100) {
  const flat = JSON.stringify(value, null, 1)?.replace(/\n\s*/g, ' ').replace(/([[{]) /g, '$1').replace(/ ([\]}])/g, '$1');
  if (value === null || typeof value !== 'object' || indent.length + prefix + flat.length <= width) return flat;
  const inner = `${indent}  `;
  const lines = Array.isArray(value)
    ? value.map((v) => `${inner}${pretty(v, inner, 0, width)}`)
    : Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner, k.length + 4, width)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${lines.join(',\n')}\n${indent}${close}`;
}

/** One table row: cells padded to `widths` (the last cell is not), the `ms` column (index 3) right-aligned. */
function row(cells, widths) {
  return cells
    .map((cell, i) => (i >= widths.length ? String(cell) : i === 3 ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i])))
    .join('  ');
}

/** esbuild's errors or warnings, one line each. */
function messages(list = []) {
  return list.map(({ text, location: at }) => `  ${at ? `${at.file}:${at.line}:${at.column}: ` : ''}${text}`).join('\n');
}

/** Runs a command; on failure throws with its output. Returns stdout. */
function run(command, args, cwd, what) {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw Object.assign(new Error(`${what} failed`), { details: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() });
  }
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

function close(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

function seconds(since) {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}
