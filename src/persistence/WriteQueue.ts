import {
  AccessDeniedError,
  DeadlineExceededError,
  PersistenceError,
  PersistenceWriteError,
  rowName,
  WriteConflictError,
  type ErrorLocation,
} from '../errors';
import type { DeadlineSignal } from './Deadline';
import type { Invocation } from './Invocation';
import type { Stats } from './Stats';
import { newWriteId, type RowStore, type StoredRow, type WriteOutcome } from './RowStore';
import type { Snapshot, TrackedState } from './TrackedState';

/** Settings of the write loop. */
export interface WriteQueueSettings {
  /** Re-read, merge and retry this many times after a conflict. */
  readonly conflictRetries: number;
  /** The abort signal for a write no invocation asked for (one started by an assignment), or undefined for none. */
  readonly signal: () => DeadlineSignal | undefined;
  /** Where conflicts and retries are counted. */
  readonly stats?: Stats;
  /** What becomes of a change a write could not store, said in its error (onFailure decides). */
  readonly pendingNote?: string;
  /** The events whose changes a write carries, to record in it (digest to mark). */
  readonly recorded?: () => ReadonlyMap<string, string> | undefined;
  /** Fields a write leaves out for now (changes of invocations still running, onFailure: 'discard'). */
  readonly held?: (name: string) => boolean;
  /** Sees the row another writer left, before it is taken in after a conflict (a retried event's changes are dropped there). */
  readonly beforeAdopt?: (row: StoredRow | null) => void;
}

// Backoff after a conflict: a random wait in [0, BASE * 2^attempt), capped ("full jitter").
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 200;

/**
 * Moves the dirty state to the row store, one write at a time and in order, so a later state is
 * never overwritten by an earlier one. Requests made before a write starts share it; a request
 * made while one is in flight gets the next. Each write is conditional on the revision last read:
 * on a conflict it takes in the other writer's row (keeping only this environment's changes),
 * backs off and retries.
 */
export class WriteQueue {
  /** The write that has not taken its snapshot yet: new requests join it. */
  private queued: Promise<void> | undefined;
  /** The invocations that asked for the queued write. */
  private queuedFor: Invocation[] = [];
  /** A write that failed without an answer: it may have been applied. */
  private uncertain: { readonly writeId: string; readonly snapshot: Snapshot } | undefined;
  /** How many writes have started: a read that overlapped one must not be taken in (Session.read). */
  writesStarted = 0;
  /** The last write requested; the next one starts after it settles. */
  private tail: Promise<void> = Promise.resolve();
  /** Writes requested and not settled yet. */
  private running = 0;

  constructor(
    private readonly state: TrackedState,
    private readonly store: RowStore,
    private readonly settings: WriteQueueSettings,
  ) {}

  /**
   * Resolves when everything dirty at the time of the call (or later, until the write starts) is
   * durable. The write's requests are bounded by the earliest deadline among the invocations that
   * asked for it (none named: the settings' signal, for writes started by assignments).
   */
  request(invocation?: Invocation): Promise<void> {
    // Nothing dirty, no write queued or running, none left uncertain: there is nothing to wait for.
    // Most invocations end here (a cold start that only reads, a warm one that changes nothing),
    // so they do not run, nor compile, the write path.
    if (this.running === 0 && this.queued === undefined && this.uncertain === undefined && !this.state.hasChanges()) {
      return Promise.resolve();
    }
    const write = this.join(invocation);
    if (invocation === undefined) return write;
    // The write was cut off by another invocation's deadline (Lambda Managed Instances runs several
    // at once): this one still has time, so its changes go out with a write of its own.
    return write.catch((error: unknown) => {
      if (error instanceof DeadlineExceededError && invocation.signal()?.aborted !== true) return this.request(invocation);
      throw error;
    });
  }

  private join(invocation: Invocation | undefined): Promise<void> {
    if (this.queued !== undefined) {
      if (invocation !== undefined) this.queuedFor.push(invocation);
      return this.queued;
    }
    const requesters: Invocation[] = invocation === undefined ? [] : [invocation];
    this.queuedFor = requesters;
    this.running += 1;
    const next = this.tail
      .then(noop, noop)
      .then(() => {
        this.queued = undefined;
        this.writesStarted += 1;
        return this.write(requesters);
      })
      .finally(() => {
        this.running -= 1;
      });
    this.queued = next;
    this.tail = next;
    return next;
  }

  /**
   * Drops what is known of a write that failed without an answer: the row is read again as a whole
   * before the next write (an invocation's changes were undone, onFailure: 'discard'), and tells.
   */
  forgetUncertain(): void {
    this.uncertain = undefined;
  }

  /** Resolves when the writes requested so far have settled, whatever their outcome. */
  settled(): Promise<void> {
    return this.tail.then(noop, noop);
  }

  private signalFor(requesters: readonly Invocation[]): DeadlineSignal | undefined {
    let earliest: Invocation | undefined;
    for (const invocation of requesters) {
      if (earliest === undefined || (invocation.deadlineAt ?? Infinity) < (earliest.deadlineAt ?? Infinity)) earliest = invocation;
    }
    return earliest !== undefined ? earliest.signal() : this.settings.signal();
  }

  private async write(requesters: readonly Invocation[]): Promise<void> {
    // A row that outgrew the readable layout is written whole from then on.
    let wholeRow = false;
    for (let attempt = 0; ; attempt++) {
      const signal = this.signalFor(requesters);
      if (this.uncertain !== undefined) await this.settleUncertain(signal);
      const snapshot = this.state.snapshot(this.settings.recorded?.(), this.settings.held);
      if (snapshot === undefined) return;
      const fields = [...snapshot.changes.keys()];
      const asChanges = !wholeRow && this.state.writesChanges;
      const writeId = newWriteId();
      let outcome: WriteOutcome;
      try {
        if (signal?.aborted) throw new DeadlineExceededError('no time left before the deadline', this.location());
        outcome = asChanges
          ? await this.store.update(snapshot.changes, snapshot.fields, snapshot.expectedRevision, writeId, signal, snapshot.eventChanges)
          : await this.store.put(snapshot.fields, snapshot.expectedRevision, writeId, signal, snapshot.versions, snapshot.events);
      } catch (error) {
        // Refused for good (no permission): nothing was applied. Anything else (an abort at the
        // deadline, a connection that failed after sending) may have been applied: the next write
        // first finds out, so that an applied change is not applied again (a sum's delta would count twice).
        if (!(error instanceof AccessDeniedError)) this.uncertain = { writeId, snapshot };
        throw this.failure(error, fields);
      }
      if (outcome.status === 'written') {
        this.state.confirm(snapshot, outcome);
        return;
      }
      if (outcome.status === 'rewrite') {
        wholeRow = true;
        continue;
      }
      if (outcome.status === 'table-missing') {
        try {
          await this.store.createMissingTable(signal);
        } catch (error) {
          throw this.failure(error, fields);
        }
        // The row went with the table: write the whole last known state as a new row.
        this.state.forgetRevision();
        continue;
      }
      // The row holds this write's own marks: it landed (an answer lost, the resend refused after
      // another writer's write), whatever the condition says now.
      if (outcome.current !== undefined && outcome.current !== null && recordedIn(outcome.current, snapshot)) {
        const row = outcome.current;
        this.state.confirm(snapshot, { revision: row.revision, ...(row.layout !== undefined && { layout: row.layout }), row });
        return;
      }
      if (this.settings.stats) this.settings.stats.conflicts += 1;
      if (attempt >= this.settings.conflictRetries || signal?.aborted) {
        throw new WriteConflictError(
          `Row ${rowName(this.location())} kept changing under this write ` +
            `(${attempt + 1} conflicting attempts); fields ${fields.join(', ')} are not ` +
            'stored yet and go out with the next write. Raise conflictRetries if many environments write at once.',
          this.location(),
        );
      }
      let current: StoredRow | null | 'table-missing';
      try {
        // The row the failure returned is the freshest there is: the first retry takes it at once.
        // Later ones back off first and then read, so that they retry against the row as it is
        // after the wait, not as it was before it.
        if (attempt === 0 && outcome.current !== undefined) current = outcome.current;
        else {
          await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
          current = await this.store.get(signal);
        }
      } catch (error) {
        throw this.failure(error, fields);
      }
      const row = current === 'table-missing' ? null : current;
      this.settings.beforeAdopt?.(row);
      this.state.adopt(row);
      if (this.settings.stats) this.settings.stats.retries += 1;
    }
  }

  /**
   * Whether the last write, which failed without an answer, was applied after all: the row names
   * the last write applied to it. If it is this one, it counts as done (the row is taken in, so its
   * changes are not written again). If the row names another write, this one was not applied, or
   * another writer wrote after it: then it is written again (docs/concurrency.md: the one window in
   * which a summed field can count a change twice).
   */
  private async settleUncertain(signal: DeadlineSignal | undefined): Promise<void> {
    const { writeId, snapshot } = this.uncertain!;
    let row: StoredRow | null | 'table-missing';
    try {
      row = await this.store.get(signal);
    } catch (error) {
      throw this.failure(error, [...snapshot.changes.keys()]);
    }
    this.uncertain = undefined;
    if (row !== null && row !== 'table-missing' && (row.writeId === writeId || recordedIn(row, snapshot))) {
      this.state.confirm(snapshot, { revision: row.revision, ...(row.layout !== undefined && { layout: row.layout }), row });
    }
  }

  private failure(error: unknown, fields: string[]): PersistenceError {
    if (error instanceof PersistenceError) return error;
    const reason = (error as Error)?.message ?? String(error);
    return new PersistenceWriteError(
      `Could not save field(s) ${fields.join(', ')} to row ${rowName(this.location())}: ${reason}. ` +
        (this.settings.pendingNote ?? 'The change stays pending and goes out with the next write.'),
      { ...this.location(), cause: error, fields },
    );
  }

  private location(): Required<ErrorLocation> {
    return { tableName: this.store.tableName, tableKey: this.store.tableKey };
  }
}

function noop(): void {}

/**
 * Whether `row` holds the events `snapshot` recorded, each with this very mark: then that write
 * landed, even when another writer's came after it (closes the window in which a sum could count twice).
 */
function recordedIn(row: StoredRow, snapshot: Snapshot): boolean {
  const recorded = snapshot.eventChanges?.recorded;
  if (recorded === undefined || recorded.size === 0) return false;
  for (const [digest, mark] of recorded) if (row.events?.[digest] !== mark) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
