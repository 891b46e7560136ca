import { OPERATION_NAMES, OPERATIONS, type DynamoDBOperation } from './storage/commands';

export type { DynamoDBOperation } from './storage/commands';

/**
 * What one execution environment's persistence has done since it started: its requests, the
 * capacity DynamoDB counted for them, conflicts and retries. Read it to see contention and cost,
 * e.g. log it now and then; every number only grows.
 *
 * @example
 * ```ts
 * export const handler = Handler.bind();
 * // later, anywhere in the module:
 * console.log(handler.stats.requests.UpdateItem, handler.stats.writeUnits, handler.stats.conflicts);
 * ```
 */
export interface PersistenceStats {
  /** Requests sent, by DynamoDB operation (the SDK's own retries of one request not counted). */
  readonly requests: Readonly<Record<DynamoDBOperation, number>>;
  /** Read capacity units DynamoDB reported for the reads (`ReturnConsumedCapacity`). */
  readonly readUnits: number;
  /** Write capacity units DynamoDB reported for the writes, part items and deletes included. */
  readonly writeUnits: number;
  /** Conditional writes that found the row changed by another writer. */
  readonly conflicts: number;
  /** Writes sent again after a conflict (each conflict is followed by one, or by a `WriteConflictError`). */
  readonly retries: number;
  /**
   * Invocations whose event the row already held (a retry of an event applied before, found by its
   * key, `eventKey`): their changes were dropped.
   */
  readonly skippedRetries: number;
}


/** The counters behind {@link PersistenceStats}, kept by the store and the write queue. */
export class Stats implements PersistenceStats {
  readonly requests = Object.fromEntries(OPERATION_NAMES.map((name) => [name, 0])) as Record<DynamoDBOperation, number>;
  readUnits = 0;
  writeUnits = 0;
  conflicts = 0;
  retries = 0;
  skippedRetries = 0;

  /** A request sent, and the capacity its answer reported (if any; a batch reports one entry per table). */
  sent(operation: DynamoDBOperation, consumed?: { CapacityUnits?: number } | readonly { CapacityUnits?: number }[]): void {
    this.requests[operation] += 1;
    for (const entry of Array.isArray(consumed) ? consumed : [consumed]) this.consumed(operation, entry);
  }

  /** Capacity reported by an answer, or by a failure (DynamoDB counts a refused conditional write too). */
  consumed(operation: DynamoDBOperation, consumed?: { CapacityUnits?: number }): void {
    const units = consumed?.CapacityUnits;
    if (typeof units !== 'number') return;
    if (OPERATIONS[operation].reads) this.readUnits += units;
    else this.writeUnits += units;
  }
}
