/**
 * One Lambda execution environment: the entry point of a child process forked by
 * spec/support/lambdaHarness.ts (bundled by it to .tmp/harness/). Usage: runner.js <module> [export].
 *
 * Init phase: requires the compiled handler module (what Lambda's Node runtime does before the
 * first event) and reports `ready`. Then each `invoke` message calls the exported handler with the
 * event and a Lambda-like context, and reports the outcome the moment the handler's promise settles;
 * the parent freezes this process (SIGSTOP) on receipt, as Lambda does, and may kill it (SIGKILL).
 * Invocations come one at a time, as in Lambda.
 *
 * Like Lambda's runtime, an uncaught exception or unhandled rejection ends the process (Node's
 * default): the parent sees the environment exit and the pending invocation fails.
 *
 * `runner.js --watchdog` is the harness's watchdog instead (see WatchdogMessage).
 */
import * as path from 'node:path';
import {
  HOOKS_KEY,
  serializeError,
  type ChildMessage,
  type ContextData,
  type HarnessHooks,
  type ParentMessage,
  type WatchdogMessage,
} from './protocol';

type Handler = (event: unknown, context: unknown) => unknown;

const [modulePath, exportName = 'handler'] = process.argv.slice(2);

function send(message: ChildMessage): void {
  if (!process.connected) return;
  try {
    process.send!(message);
  } catch (error) {
    // A value that does not clone (a function in a result, say): report that instead.
    if (message.type === 'result' && message.ok) {
      process.send!({ type: 'result', id: message.id, ok: false, error: serializeError(error), durationMs: message.durationMs } satisfies ChildMessage);
    } else {
      throw error;
    }
  }
}

let currentInvocation: number | undefined;
const waiting = new Map<string, ((value: unknown) => void)[]>();
const signalled = new Map<string, unknown>();

const hooks: HarnessHooks = {
  mark(name, data) {
    send({ type: 'mark', id: currentInvocation, name, data });
  },
  waitFor(name) {
    if (signalled.has(name)) {
      const value = signalled.get(name);
      signalled.delete(name);
      return Promise.resolve(value);
    }
    return new Promise((resolve) => waiting.set(name, [...(waiting.get(name) ?? []), resolve]));
  },
};
(globalThis as Record<symbol, unknown>)[HOOKS_KEY] = hooks;

function lambdaContext(data: ContextData) {
  const deadline = Date.now() + data.timeoutMs;
  return {
    functionName: data.functionName,
    functionVersion: data.functionVersion,
    invokedFunctionArn: data.invokedFunctionArn,
    memoryLimitInMB: data.memoryLimitInMB,
    awsRequestId: data.awsRequestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

async function invoke(handler: Handler, id: number, event: unknown, data: ContextData): Promise<void> {
  currentInvocation = id;
  const started = performance.now();
  let message: ChildMessage;
  try {
    const value = await handler(event, lambdaContext(data));
    message = { type: 'result', id, ok: true, value, durationMs: performance.now() - started };
  } catch (error) {
    message = { type: 'result', id, ok: false, error: serializeError(error), durationMs: performance.now() - started };
  }
  currentInvocation = undefined;
  // Nothing else runs between the handler's promise settling and this report.
  send(message);
}

function main(): void {
  if (modulePath === undefined) throw new Error('usage: runner.js <compiled handler module> [export name]');
  const started = performance.now();
  let handler: Handler;
  try {
    const loaded = require(path.resolve(modulePath)) as Record<string, unknown>;
    const exported = loaded[exportName];
    if (typeof exported !== 'function') {
      throw new TypeError(`${modulePath} exports no function "${exportName}" (exports: ${Object.keys(loaded).join(', ') || 'none'})`);
    }
    handler = exported as Handler;
  } catch (error) {
    send({ type: 'init-error', error: serializeError(error) });
    process.disconnect?.();
    return;
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'invoke') {
      void invoke(handler, message.id, message.event, message.context);
    } else if (message.type === 'signal') {
      const resolvers = waiting.get(message.name);
      waiting.delete(message.name);
      if (resolvers === undefined) signalled.set(message.name, message.value);
      else for (const resolve of resolvers) resolve(message.value);
    }
  });
  // The test run is over (or the parent died): an environment never outlives its service.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', initMs: performance.now() - started });
}

/** runner.js --watchdog: SIGKILLs the watched environments when the parent goes away. */
function watchdog(): void {
  const watched = new Set<number>();
  process.on('message', (message: WatchdogMessage) => {
    if (message.type === 'watch') watched.add(message.pid);
    else watched.delete(message.pid);
  });
  process.on('disconnect', () => {
    for (const pid of watched) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(0);
  });
}

if (modulePath === '--watchdog') watchdog();
else main();
