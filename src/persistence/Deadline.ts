/**
 * The abort signal the library passes to `client.send()` as `abortSignal`: the invocation's
 * deadline. It has the shape the AWS SDK reads (the SDK's `AbortSignal` interface, `aborted` and
 * `onabort`, plus `reason`, `addEventListener` and `removeEventListener`), not the whole DOM
 * `AbortSignal`: a sender that wraps `send()` can pass it on to the SDK or watch it, but not give
 * it to `AbortSignal.any()`.
 */
export interface DeadlineSignal {
  /** True once the deadline has passed. */
  readonly aborted: boolean;
  /** Why it aborted: an `Error` named `TimeoutError`. */
  readonly reason: unknown;
  /** Called once, at the deadline. */
  onabort: ((event: DeadlineEvent) => void) | null;
  /** Adds a listener called once, at the deadline (only the `abort` type exists). */
  addEventListener(type: 'abort', listener: (event: DeadlineEvent) => void, options?: unknown): void;
  /** Removes a listener added by `addEventListener`. */
  removeEventListener(type: 'abort', listener: (event: DeadlineEvent) => void, options?: unknown): void;
}

/** What a {@link DeadlineSignal}'s listeners receive. */
export interface DeadlineEvent {
  /** Always `abort`. */
  readonly type: 'abort';
  /** The signal that aborted. */
  readonly target: DeadlineSignal;
}

type Listener = (event: DeadlineEvent) => void;

/**
 * A plain object rather than Node's AbortController: Node's EventTarget made every request
 * ~0.06–0.10 ms slower inside the SDK (which adds and removes a listener per request and per retry
 * token), this ~0.03 ms (docs/performance.md, `node bench/profile.mjs signal`).
 */
class Signal implements DeadlineSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: Listener | null = null;
  private listeners: Listener[] = [];

  addEventListener(type: 'abort', listener: Listener): void {
    if (type === 'abort' && !this.listeners.includes(listener)) this.listeners.push(listener);
  }

  removeEventListener(type: 'abort', listener: Listener): void {
    const at = type === 'abort' ? this.listeners.indexOf(listener) : -1;
    if (at >= 0) this.listeners.splice(at, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const event: DeadlineEvent = { type: 'abort', target: this };
    const listeners = this.listeners;
    this.listeners = [];
    // Every listener runs, as with an EventTarget; one that throws is reported after the others.
    for (const listener of [...listeners, this.onabort]) {
      try {
        listener?.call(this, event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * One invocation's deadline. Its signal and timer are made on the first request, so an invocation
 * that sends nothing arms nothing.
 */
export class Deadline {
  private signal: Signal | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  /** `at`: the time (ms since the epoch) by which requests must be done; undefined for none. */
  constructor(readonly at: number | undefined) {}

  /** The signal for the next request, or undefined when there is no deadline or it has ended. */
  requestSignal(): DeadlineSignal | undefined {
    if (this.at === undefined || this.ended) return undefined;
    if (this.signal === undefined) {
      const signal = (this.signal = new Signal());
      const abort = () => signal.abort(Object.assign(new Error('the invocation deadline passed'), { name: 'TimeoutError' }));
      const left = this.at - Date.now();
      if (left > 0) {
        this.timer = setTimeout(abort, left);
        this.timer.unref();
      } else abort();
    }
    return this.signal;
  }

  /** Disarms the timer: requests still in flight are no longer aborted. */
  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
  }
}

/** No deadline: between invocations, and without a Lambda context. */
export const NO_DEADLINE = new Deadline(undefined);
