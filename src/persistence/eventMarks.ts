import { createHash } from 'node:crypto';
import type { EventChanges } from './storage/itemFormat';

/**
 * Exactly once across retries: a write that carries an invocation's changes records the key of its
 * event (by default the Lambda request id, which Lambda keeps for the retries of an asynchronous
 * event) in the same request, so that a retry of the event, in this environment or another, finds
 * it and applies nothing again. The row remembers the events of the last hours, within a count
 * (docs/limits.md): their digests, each with the mark of the invocation that applied it.
 */

/**
 * How long an event is remembered: Lambda keeps retrying an asynchronous event for up to 6 hours
 * (its maximum event age), plus a margin for clocks.
 */
export const EVENT_MEMORY_MS = (6 * 60 + 10) * 60_000;

/** A digest of an event's key: fixed and short in the row (96 bits), whatever the key. */
export function digestOf(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

/**
 * A mark for one invocation: its start in ms and a random fraction (three digits, the last never 0,
 * so that DynamoDB returns the number as it was written), unique enough to tell this invocation's
 * own landed write from another attempt's.
 */
export function newMark(now = Date.now()): string {
  const digits = Math.floor(Math.random() * 100)
    .toString()
    .padStart(2, '0');
  return `${now}.${digits}${1 + Math.floor(Math.random() * 9)}`;
}

/** When a mark was made (ms since the epoch). */
function markTime(mark: string): number {
  return Math.floor(Number(mark));
}

/**
 * The events a row remembers after a write that records `recorded`, and the change to the row: the
 * new ones kept, then the newest of the others up to `limit`, none older than {@link EVENT_MEMORY_MS}.
 */
export function nextEvents(
  remembered: Readonly<Record<string, string>>,
  recorded: ReadonlyMap<string, string>,
  limit: number,
  now = Date.now(),
): { readonly events: Readonly<Record<string, string>>; readonly changes: EventChanges } {
  const events: Record<string, string> = Object.fromEntries(recorded);
  const older = Object.entries(remembered)
    .filter(([digest, mark]) => !recorded.has(digest) && markTime(mark) > now - EVENT_MEMORY_MS)
    .sort((a, b) => markTime(b[1]) - markTime(a[1]))
    .slice(0, Math.max(0, limit - recorded.size));
  for (const [digest, mark] of older) events[digest] = mark;
  const forgotten = Object.keys(remembered).filter((digest) => events[digest] === undefined);
  return { events, changes: { recorded, forgotten } };
}
