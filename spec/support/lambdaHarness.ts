/**
 * A small Lambda service for tests: each execution environment is a child Node process that loads a
 * compiled handler module (its init phase) and is invoked over IPC with a Lambda-like context.
 * Like Lambda, the harness freezes the process (SIGSTOP) the moment an invocation reports its outcome,
 * thaws it (SIGCONT) for the next invocation, and may kill it (SIGKILL) at any time, frozen or not.
 * A cold start is a new environment.
 *
 * ```ts
 * const build = await buildFixtures(['recorder']);           // beforeAll: esbuild, once
 * const env = await startEnvironment({ module: build.modules.recorder, env: lambdaEnv(...) });
 * await env.invoke({ n: 1 });   // resolves with the result; the process is frozen when it resolves
 * await env.kill();             // SIGKILL, waits for the exit
 * await killAllEnvironments();  // afterAll: no child survives the run, frozen ones included
 * ```
 *
 * The child reports an outcome the moment the handler's promise settles and the parent sends SIGSTOP
 * when the report arrives: the child runs on only for the IPC hop (0.1 to a few ms, measured on a busy
 * 2-core machine), about what Lambda's runtime allows between the handler settling and the freeze.
 *
 * Fixtures live in spec/lifecycle-harness/ and import the library from `../../src`; the child
 * runner (spec/lifecycle-harness/runner.ts) is bundled beside them under .tmp/harness/<pid>/.
 * Set LAMBDA_HARNESS_LIBRARY=<dir> to bundle the fixtures against another copy of src/ (a mutated
 * one, to check that a test can fail).
 *
 * No child outlives the test process: afterAll calls killAllEnvironments(), an exit hook kills
 * what is left, and a watchdog process (never frozen) kills the rest if the test process itself is
 * killed. spec/support/dynamoProxy.ts puts a proxy between the environments and DynamoDB, to kill an
 * environment at an exact point of a write.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { ChildMessage, ContextData, ParentMessage, SerializedError, WatchdogMessage } from '../lifecycle-harness/protocol';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'spec/lifecycle-harness');
const OUT_ROOT = path.join(ROOT, '.tmp/harness');

/** The compiled runner and fixture modules. */
export interface HarnessBuild {
  readonly outDir: string;
  readonly runner: string;
  /** Fixture name → compiled module path. */
  readonly modules: Readonly<Record<string, string>>;
}

let currentBuild: HarnessBuild | undefined;

/**
 * Bundles the runner and the named fixtures (spec/lifecycle-harness/<name>.ts) as CDK
 * NodejsFunction or SAM would: esbuild, platform node, CJS, `@aws-sdk/*` left external (the Lambda
 * runtime provides it), standard decorators. Output: .tmp/harness/<jest pid>/, so concurrent test
 * runs do not overwrite each other's bundles.
 */
export async function buildFixtures(names: readonly string[]): Promise<HarnessBuild> {
  const outDir = path.join(OUT_ROOT, String(process.pid));
  rmSync(outDir, { recursive: true, force: true });
  removeAbandonedBuilds();
  const library = process.env.LAMBDA_HARNESS_LIBRARY;
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(['runner', ...names].map((name) => [name, path.join(FIXTURES, `${name}.ts`)])),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@aws-sdk/*'],
    // Explicitly standard decorators and [[Define]] class fields (esbuild's defaults for a bundle
    // without experimentalDecorators), whatever tsconfig.json lies nearest.
    tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
    logLevel: 'silent',
    plugins:
      library === undefined
        ? []
        : [
            {
              name: 'library-override',
              setup(build) {
                build.onResolve({ filter: /^(\.\.\/)+src$/ }, (args) =>
                  args.importer.startsWith(FIXTURES) ? { path: path.join(path.resolve(library), 'index.ts') } : undefined,
                );
              },
            },
          ],
  });
  currentBuild = {
    outDir,
    runner: path.join(outDir, 'runner.js'),
    modules: Object.fromEntries(names.map((name) => [name, path.join(outDir, `${name}.js`)])),
  };
  return currentBuild;
}

/** Removes the bundles of test runs that were killed before their afterAll (their process is gone). */
function removeAbandonedBuilds(): void {
  let entries: string[];
  try {
    entries = readdirSync(OUT_ROOT);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      process.kill(Number(entry), 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(path.join(OUT_ROOT, entry), { recursive: true, force: true });
    }
  }
}

/** Removes the bundles of {@link buildFixtures}. */
export function removeBuild(build: HarnessBuild | undefined = currentBuild): void {
  if (build !== undefined) rmSync(build.outDir, { recursive: true, force: true });
}

/**
 * The environment variables of a function pointed at a local DynamoDB: the endpoint, test
 * credentials, the region, the table and the row key.
 */
export function lambdaEnv(settings: { endpoint: string; tableName: string; tableKey: string; extra?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: settings.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    PERSISTENCE_TABLE_NAME: settings.tableName,
    PERSISTENCE_TABLE_KEY: settings.tableKey,
    ...settings.extra,
  };
}

export interface EnvironmentOptions {
  /** The compiled handler module (from {@link buildFixtures}). */
  readonly module: string;
  /** Environment variables of the function (see {@link lambdaEnv}), over the jest process's own. */
  readonly env?: NodeJS.ProcessEnv;
  /** The exported handler; default `handler`. */
  readonly exportName?: string;
  /** Default: the env's AWS_LAMBDA_FUNCTION_NAME, else `harness-function`. */
  readonly functionName?: string;
  /** The function timeout, from which `getRemainingTimeInMillis()` counts down; default 10 s. */
  readonly timeoutMs?: number;
  /** Freeze (SIGSTOP) the process as soon as an invocation reports its outcome; default true. */
  readonly freezeAfterInvocation?: boolean;
  /** How long the harness waits for the init phase or an invocation before giving up; default 60 s. */
  readonly harnessTimeoutMs?: number;
}

export type EnvironmentState = 'idle' | 'invoking' | 'frozen' | 'exited';

/** An error the handler threw (or the environment died of), rebuilt in the jest process. */
export class InvocationError extends Error {
  /** The error as the child serialized it (properties, cause, persistenceError). */
  readonly remote: SerializedError | undefined;

  constructor(message: string, remote?: SerializedError, name = remote?.name ?? 'InvocationError') {
    super(message);
    this.name = name;
    this.remote = remote;
    if (remote?.stack !== undefined) this.stack = `${name}: ${message}\n    (in the environment)\n${remote.stack.split('\n').slice(1).join('\n')}`;
  }
}

/** The environment exited (was killed, crashed) while an invocation was pending. */
export class EnvironmentExitedError extends InvocationError {
  constructor(
    readonly pid: number | undefined,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    output: string,
  ) {
    super(
      `environment ${pid} exited (${signal ?? `code ${exitCode}`}) before the invocation reported an outcome` +
        (output.trim() === '' ? '' : `; its output:\n${output.slice(-4000)}`),
      undefined,
      'EnvironmentExitedError',
    );
  }
}

export interface InvokeOptions {
  /** The context's awsRequestId; default a random one. */
  readonly requestId?: string;
}

interface Pending {
  readonly id: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const live = new Set<LambdaEnvironment>();
let exitHookInstalled = false;
let nextEnvironment = 0;

/** One execution environment: a child process running spec/lifecycle-harness/runner.ts. */
export class LambdaEnvironment {
  /** A number unique in this jest process, for logs. */
  readonly id = ++nextEnvironment;
  /** How long the init phase (loading the module) took in the child, in ms. */
  initMs = NaN;
  /** Invocations that reported an outcome. */
  invocations = 0;
  /** How long the last invocation that reported an outcome took in the child, in ms. */
  lastDurationMs = NaN;
  private stateValue: EnvironmentState = 'idle';
  private readonly outputChunks: string[] = [];
  private outputLength = 0;
  private pending: Pending | undefined;
  private nextInvocation = 0;
  private readonly marks = new Map<string, unknown[]>();
  private readonly markWaiters = new Map<string, ((data: unknown) => void)[]>();
  private readonly exited: Promise<void>;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: EnvironmentOptions & { functionName: string; timeoutMs: number; harnessTimeoutMs: number },
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.record(chunk));
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.stateValue = 'exited';
        if (child.pid !== undefined) watch(undefined, { type: 'unwatch', pid: child.pid });
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(new EnvironmentExitedError(child.pid, code, signal, this.output()));
        resolve();
      });
    });
    child.on('message', (message: ChildMessage) => this.receive(message));
  }

  /** Forks the runner with the module and waits for the init phase (module load) to finish. */
  static async start(options: EnvironmentOptions): Promise<LambdaEnvironment> {
    const build = currentBuild;
    if (build === undefined) throw new Error('lambdaHarness: call buildFixtures() (in beforeAll) before startEnvironment()');
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    // Nothing of the jest process's Node flags (inspector, ts-node hooks, heap options).
    delete env.NODE_OPTIONS;
    const child = fork(build.runner, [options.module, options.exportName ?? 'handler'], {
      execPath: process.execPath,
      execArgv: [],
      env,
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    // An environment left behind must not keep the test process alive (a frozen child would never
    // close its IPC channel): the exit hook kills it instead.
    child.unref();
    child.channel?.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    installExitHook();
    if (child.pid !== undefined) watch(build.runner, { type: 'watch', pid: child.pid });
    const environment = new LambdaEnvironment(child, {
      ...options,
      functionName: options.functionName ?? env.AWS_LAMBDA_FUNCTION_NAME ?? 'harness-function',
      timeoutMs: options.timeoutMs ?? 10_000,
      harnessTimeoutMs: options.harnessTimeoutMs ?? 60_000,
    });
    live.add(environment);
    child.on('error', (error) => environment.record(`\n[harness] child process error: ${error.message}\n`));
    try {
      await environment.initialized();
    } catch (error) {
      await environment.kill();
      throw error;
    }
    return environment;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get state(): EnvironmentState {
    return this.stateValue;
  }

  /** The child's stdout and stderr so far (the last 64 KB). */
  output(): string {
    return this.outputChunks.join('');
  }

  /**
   * Invokes the handler. Thaws a frozen environment first. Resolves with the handler's result (the
   * process is frozen by then, unless `freezeAfterInvocation` is off), or rejects with an
   * {@link InvocationError} named like the error the handler threw, or an
   * {@link EnvironmentExitedError} when the process died first.
   */
  invoke<TResult = unknown>(event: unknown, invokeOptions: InvokeOptions = {}): Promise<TResult> {
    if (this.stateValue === 'exited') return Promise.reject(new Error(`environment ${this.pid} has exited`));
    if (this.pending !== undefined) {
      return Promise.reject(new Error(`environment ${this.pid} is still running invocation ${this.pending.id}: Lambda never overlaps invocations`));
    }
    if (this.stateValue === 'frozen') this.thaw();
    const id = ++this.nextInvocation;
    const { functionName, timeoutMs } = this.options;
    const requestId = invokeOptions.requestId ?? globalThis.crypto.randomUUID();
    const context: ContextData = {
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
      memoryLimitInMB: '128',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `harness/${this.id}/${this.pid}`,
      timeoutMs,
    };
    return new Promise<TResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = undefined;
        reject(new Error(`environment ${this.pid}: invocation ${id} reported nothing within ${this.options.harnessTimeoutMs} ms; output:\n${this.output()}`));
      }, this.options.harnessTimeoutMs);
      this.pending = {
        id,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as TResult);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.stateValue = 'invoking';
      this.send({ type: 'invoke', id, event, context });
    });
  }

  /**
   * Resolves with the data of the handler's next (or an earlier, not yet consumed)
   * `harnessHooks().mark(name, data)`; rejects if the environment exits first.
   */
  marked(name: string): Promise<unknown> {
    const earlier = this.marks.get(name);
    if (earlier !== undefined && earlier.length > 0) return Promise.resolve(earlier.shift());
    if (this.stateValue === 'exited') return Promise.reject(new Error(`environment ${this.pid} has exited`));
    return new Promise((resolve, reject) => {
      this.markWaiters.set(name, [...(this.markWaiters.get(name) ?? []), resolve]);
      void this.exited.then(() => reject(new Error(`environment ${this.pid} exited before mark "${name}"`)));
    });
  }

  /** Resolves the handler's `harnessHooks().waitFor(name)` with `value`. */
  signal(name: string, value?: unknown): void {
    this.send({ type: 'signal', name, value });
  }

  /**
   * The process's state as the kernel reports it (`/proc/<pid>/stat`: `T` stopped, `S` sleeping,
   * `R` running, ...), or undefined where there is no /proc or the process is gone.
   */
  osState(): string | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the kernel has stopped the process (SIGSTOP is delivered asynchronously: waits up to
   * `timeoutMs` for it); undefined where that cannot be told (no /proc).
   */
  async stopped(timeoutMs = 2_000): Promise<boolean | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = this.osState();
      if (state === undefined) return undefined;
      if (state === 'T' || state === 't') return true;
      if (Date.now() >= until) return false;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** SIGSTOP: the process stops at once, wherever it is (between or during invocations). */
  freeze(): void {
    if (this.stateValue === 'exited' || this.stateValue === 'frozen') return;
    this.child.kill('SIGSTOP');
    this.stateValue = 'frozen';
  }

  /** SIGCONT. */
  thaw(): void {
    if (this.stateValue !== 'frozen') return;
    this.child.kill('SIGCONT');
    this.stateValue = this.pending === undefined ? 'idle' : 'invoking';
  }

  /** SIGKILL (works on a frozen process too) and waits for the exit. */
  async kill(): Promise<void> {
    if (this.stateValue !== 'exited') this.child.kill('SIGKILL');
    await this.exited;
  }

  private initialized(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`environment ${this.pid} did not finish its init phase within ${this.options.harnessTimeoutMs} ms; output:\n${this.output()}`)),
        this.options.harnessTimeoutMs,
      );
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'ready') {
          this.initMs = message.initMs;
          done();
          resolve();
        } else if (message.type === 'init-error') {
          done();
          reject(rebuild(message.error, `init phase of ${this.options.module}`));
        }
      };
      const onExit = () => {
        done();
        reject(new EnvironmentExitedError(this.child.pid, this.child.exitCode, this.child.signalCode, this.output()));
      };
      const done = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  private receive(message: ChildMessage): void {
    if (message.type === 'result') {
      const pending = this.pending;
      if (pending === undefined || pending.id !== message.id) return;
      this.pending = undefined;
      this.invocations += 1;
      this.lastDurationMs = message.durationMs;
      // As Lambda does: the invocation is over, the process gets no more CPU time until the next.
      if (this.options.freezeAfterInvocation !== false) this.freeze();
      else this.stateValue = 'idle';
      if (message.ok) pending.resolve(message.value);
      else pending.reject(rebuild(message.error));
    } else if (message.type === 'mark') {
      const waiters = this.markWaiters.get(message.name);
      if (waiters !== undefined && waiters.length > 0) waiters.shift()!(message.data);
      else this.marks.set(message.name, [...(this.marks.get(message.name) ?? []), message.data]);
    }
  }

  private send(message: ParentMessage): void {
    this.child.send(message, (error) => {
      // A message to a process killed meanwhile: the exit handler reports the invocation.
      if (error) this.record(`\n[harness] could not send ${message.type}: ${error.message}\n`);
    });
  }

  private record(chunk: string): void {
    this.outputChunks.push(chunk);
    this.outputLength += chunk.length;
    while (this.outputLength > 65_536 && this.outputChunks.length > 1) this.outputLength -= this.outputChunks.shift()!.length;
  }
}

/** Starts an execution environment (a cold start's init phase): see {@link LambdaEnvironment}. */
export function startEnvironment(options: EnvironmentOptions): Promise<LambdaEnvironment> {
  return LambdaEnvironment.start(options);
}

/** The environments not yet exited. */
export function liveEnvironments(): LambdaEnvironment[] {
  return [...live];
}

/** SIGKILLs every environment still alive, frozen or not, and waits until each has exited. */
export async function killAllEnvironments(): Promise<void> {
  await Promise.all([...live].map((environment) => environment.kill()));
}

let watchdog: ChildProcess | undefined;

/**
 * Tells the watchdog (started on first use: runner.js --watchdog, never frozen) which environments
 * to SIGKILL should this process die without doing it: a SIGTERM or SIGKILL of the test run runs
 * neither afterAll nor the exit hook, and a frozen child would otherwise stay stopped forever.
 */
function watch(runner: string | undefined, message: WatchdogMessage): void {
  if (watchdog === undefined || watchdog.exitCode !== null || watchdog.signalCode !== null) {
    if (runner === undefined) return;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    watchdog = fork(runner, ['--watchdog'], { execPath: process.execPath, execArgv: [], env, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    watchdog.unref();
    watchdog.channel?.unref();
    watchdog.on('error', () => undefined);
  }
  if (watchdog.connected) watchdog.send(message, () => undefined);
}

/** If the jest process exits without afterAll having run, still kill every child, frozen or not. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const environment of live) {
      try {
        process.kill(environment.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function rebuild(error: SerializedError, where?: string): InvocationError {
  return new InvocationError(where === undefined ? error.message : `${where}: ${error.message}`, error);
}
