import { Invocation } from './Invocation';
import type { StoredRow } from './RowStore';
import type { TrackedState } from './TrackedState';

/**
 * The invocations running now in one environment (one at a time in standard Lambda, several under
 * Managed Instances) and whose each change is: which one runs the code that assigns, which one
 * changed each field last, what an undo puts back, which events a write records and which attempts
 * are retries of an event already applied. It does no I/O; Session decides when to write.
 */
export class RunningInvocations {
  private readonly running = new Set<Invocation>();
  /** Which invocation changed each field last (whose change an undo may take back). */
  private readonly changedBy = new Map<string, Invocation>();

  constructor(
    /** The engine the invocations belong to (a handler may run invocations of two: a handler and a map). */
    private readonly owner: object,
    private readonly state: TrackedState,
  ) {}

  add(invocation: Invocation): void {
    this.running.add(invocation);
  }

  /** Ends `invocation`: it is no longer running, and no field's last change is its own any more. */
  delete(invocation: Invocation): void {
    this.running.delete(invocation);
    this.forget(invocation);
  }

  /**
   * The invocation whose code runs now: the async context's (the bound handler runs each invocation
   * inside it); where the library could not wrap the handler (a middleware's before and after), the
   * one the Lambda runtime names by request id (Managed Instances), else the only one running.
   */
  current(): Invocation | undefined {
    const running = Invocation.current();
    if (running?.owner === this.owner) return running;
    if (this.running.size === 1) return this.running.values().next().value;
    const requestId = runtimeRequestId();
    if (requestId !== undefined) for (const invocation of this.running) if (invocation.requestId === requestId) return invocation;
    return undefined;
  }

  /** Field `name` is about to change by `invocation`: what it holds now is what an undo puts back. */
  changing(invocation: Invocation, name: string): void {
    if (!invocation.saved.has(name)) invocation.saved.set(name, this.state.saved(name));
    this.changedBy.set(name, invocation);
  }

  /**
   * Whether a write leaves field `name` out for now (onFailure: 'discard'): its last change is an
   * invocation's that is still running and not writing, so it goes out when that one succeeds.
   */
  heldBack(name: string): boolean {
    const owner = this.changedBy.get(name);
    return owner !== undefined && !owner.writing && this.running.has(owner);
  }

  /**
   * The events whose changes a write now carries (digest to mark): of the invocations that changed
   * something, not retries; with `writingOnly` (discard), of those writing now.
   */
  recordedEvents(writingOnly: boolean): ReadonlyMap<string, string> | undefined {
    let recorded: Map<string, string> | undefined;
    for (const invocation of this.running) {
      if (invocation.eventDigest === undefined || !invocation.changed || invocation.retried) continue;
      if (writingOnly && !invocation.writing) continue;
      (recorded ??= new Map()).set(invocation.eventDigest, invocation.mark);
    }
    return recorded;
  }

  /** Whether another attempt of the event `digest` is running here now (a duplicate delivery). */
  attemptRunning(invocation: Invocation, digest: string): boolean {
    for (const other of this.running) if (other !== invocation && other.eventDigest === digest && !other.retried) return true;
    return false;
  }

  /** The running invocations whose event `row` holds, marked by another attempt: retries of an event already applied. */
  retriesIn(row: StoredRow | null): Invocation[] {
    const retries: Invocation[] = [];
    for (const invocation of this.running) {
      const digest = invocation.eventDigest;
      if (digest === undefined || invocation.retried) continue;
      const mark = row?.events?.[digest];
      if (mark !== undefined && mark !== invocation.mark) retries.push(invocation);
    }
    return retries;
  }

  /**
   * Undoes an invocation's changes in memory: in-place changes not yet found, and each field it
   * changed goes back to what it held before (unless another invocation changed it since: then
   * that one's value stands).
   */
  undo(invocation: Invocation): void {
    // In-place changes not yet found cannot be told apart by invocation: undone only when no other
    // invocation is running (whose pending changes they may be).
    if ([...this.running].every((other) => other === invocation)) this.state.revertMutations();
    for (const [name, saved] of invocation.saved) {
      if (this.changedBy.get(name) === invocation) this.state.restore(name, saved);
    }
    this.forget(invocation);
    invocation.changed = false;
  }

  /** `invocation`'s changes are stored: none of them is its to undo any more. */
  forget(invocation: Invocation): void {
    for (const name of invocation.saved.keys()) if (this.changedBy.get(name) === invocation) this.changedBy.delete(name);
    invocation.saved.clear();
  }
}

/**
 * The request id of the invocation the Lambda runtime says is running (its `@aws/lambda-invoke-store`,
 * which the runtime interface client keeps per invocation under Managed Instances); undefined elsewhere.
 */
function runtimeRequestId(): string | undefined {
  const store = (globalThis as { awslambda?: { InvokeStore?: { getRequestId?: () => string } } }).awslambda?.InvokeStore;
  const id = store?.getRequestId?.();
  return id === undefined || id === '-' ? undefined : id;
}
