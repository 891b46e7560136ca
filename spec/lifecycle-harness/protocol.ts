/**
 * What spec/support/lambdaHarness.ts (the jest process, playing the Lambda service) and
 * runner.ts (one child process, playing one execution environment) say to each other over IPC,
 * and the hooks a fixture handler may use to let a test act in the middle of an invocation.
 *
 * Messages go through Node's "advanced" (structured clone) IPC serialization, so events and results
 * may hold Date, Map, Set, BigInt and typed arrays.
 */

/** The serializable part of a Lambda context; the runner adds `getRemainingTimeInMillis`. */
export interface ContextData {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** The function timeout: `getRemainingTimeInMillis()` counts down from this when the event arrives. */
  readonly timeoutMs: number;
}

/** An error thrown in the child, as data. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** Own enumerable properties that clone (e.g. `fields`, `tableName`, `option`). */
  readonly properties: Record<string, unknown>;
  readonly cause?: SerializedError;
  /** The library attaches this (non-enumerable) when the handler threw and saving failed too. */
  readonly persistenceError?: SerializedError;
}

/** Parent → child. */
export type ParentMessage =
  | { readonly type: 'invoke'; readonly id: number; readonly event: unknown; readonly context: ContextData }
  /** Resolves the handler's `harnessHooks().waitFor(name)`. */
  | { readonly type: 'signal'; readonly name: string; readonly value?: unknown };

/** Child → parent. */
export type ChildMessage =
  /** The module loaded (Lambda's init phase is over). */
  | { readonly type: 'ready'; readonly initMs: number }
  | { readonly type: 'init-error'; readonly error: SerializedError }
  /** Sent the moment the handler's promise settled: the parent freezes the process on receipt. */
  | { readonly type: 'result'; readonly id: number; readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | { readonly type: 'result'; readonly id: number; readonly ok: false; readonly error: SerializedError; readonly durationMs: number }
  /** `harnessHooks().mark(name, data)` in the handler. */
  | { readonly type: 'mark'; readonly id: number | undefined; readonly name: string; readonly data?: unknown };

/**
 * Parent → the watchdog (runner.js --watchdog), a process that is never frozen: the environments to
 * SIGKILL if the parent dies without killing them itself (a SIGTERM or SIGKILL of the test run
 * runs no exit hook, and a frozen child cannot notice that its parent is gone).
 */
export type WatchdogMessage = { readonly type: 'watch' | 'unwatch'; readonly pid: number };

/** What a fixture handler may call to cooperate with a test. Outside the harness both are inert. */
export interface HarnessHooks {
  /** Tells the test that the handler reached a point (the test awaits `environment.marked(name)`). */
  mark(name: string, data?: unknown): void;
  /** Resolves when the test calls `environment.signal(name, value)`; outside the harness, never. */
  waitFor(name: string): Promise<unknown>;
}

export const HOOKS_KEY = Symbol.for('aws-lambda-persistence.lambda-harness.hooks');

/** The hooks the runner installed, or inert ones when the module runs elsewhere. */
export function harnessHooks(): HarnessHooks {
  const installed = (globalThis as Record<symbol, HarnessHooks | undefined>)[HOOKS_KEY];
  return installed ?? { mark: () => undefined, waitFor: () => new Promise<never>(() => undefined) };
}

/** An error as data: name, message, stack, cloneable own properties, cause and persistenceError. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error === null || typeof error !== 'object') {
    return { name: 'NonError', message: String(error), properties: {} };
  }
  const e = error as Error & { cause?: unknown; persistenceError?: unknown };
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(e)) {
    if (key === 'cause' || key === 'persistenceError') continue;
    if (value === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value)) {
      properties[key] = value;
    } else if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) {
      properties[key] = [...value];
    }
  }
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(e),
    ...(typeof e.stack === 'string' && { stack: e.stack }),
    properties,
    ...(e.cause !== undefined && depth < 3 && { cause: serializeError(e.cause, depth + 1) }),
    ...(e.persistenceError !== undefined && depth < 3 && { persistenceError: serializeError(e.persistenceError, depth + 1) }),
  };
}
