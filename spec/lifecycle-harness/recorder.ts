/**
 * Fixture of spec/chaos/freezeKill.spec.ts, "every change of every invocation survives freeze + kill".
 * Each `record` invocation leaves a unique trace in four fields: one assigned (its write starts
 * during the handler and nobody awaits it), three changed in place (only the library's
 * end-of-invocation check sees those). Nothing here waits for a write: the invocation relies on
 * the library awaiting every write before it settles.
 */
import { Persistent, PersistentHandler, type LambdaContext } from '../../src';

export type RecorderEvent = { action: 'record'; n: number } | { action: 'record-then-throw'; n: number } | { action: 'read' };

export interface RecorderView {
  /** The invocation numbers recorded, in order. */
  invocations: number[];
  /** The `seen` Map's entries. */
  seen: [string, number][];
  /** The plain object's entries: invocation key → request id. */
  requests: [string, string][];
  last: number;
  /** Not persistent: how many invocations this process (environment) ran. */
  warmInvocations: number;
  pid: number;
}

class Recorder extends PersistentHandler<RecorderEvent, RecorderView> {
  @Persistent() invocations: number[] = [];
  @Persistent() seen = new Map<string, number>();
  @Persistent() requests: Record<string, string> = {};
  @Persistent() last = 0;
  warmInvocations = 0;

  async handler(event: RecorderEvent, context: LambdaContext): Promise<RecorderView> {
    this.warmInvocations += 1;
    // What this environment found, before its own change.
    const view = this.view();
    if (event.action === 'record' || event.action === 'record-then-throw') {
      // With onFailure: 'save' this schedules a write nobody awaits, on its way after the next line;
      // with the default 'discard', everything goes out in one write when the invocation succeeds.
      this.last = event.n;
      await new Promise((resolve) => setImmediate(resolve));
      // In place: only the library's end-of-invocation check sees these; they go out in a second
      // write, queued behind the first, which may still be in flight when the handler returns.
      this.invocations.push(event.n);
      this.seen.set(`invocation-${event.n}`, event.n);
      this.requests[`invocation-${event.n}`] = context.awsRequestId ?? 'none';
    }
    if (event.action === 'record-then-throw') {
      // 'save': the library saves the changes above before the invocation settles; 'discard': it
      // undoes them. Then it rethrows this.
      throw Object.assign(new RangeError(`invocation ${event.n} refused`), { invocation: event.n });
    }
    return view;
  }

  private view(): RecorderView {
    return {
      invocations: [...this.invocations],
      seen: [...this.seen],
      requests: Object.entries(this.requests),
      last: this.last,
      warmInvocations: this.warmInvocations,
      pid: process.pid,
    };
  }
}

export const handler = Recorder.bind();
