import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { CorruptRowError, rowName, warnStartingFresh, type ErrorLocation } from '../errors';
import type { DeadlineSignal } from './Deadline';
import type { FieldChange, FieldChanges } from './fields/FieldChange';
import type { DynamoDBSender, ResolvedOptions } from './options';
import { DynamoDBItems, TABLE_MISSING, TOO_LARGE, type ConditionFailed, type TableMissing } from './storage/DynamoDBItems';
import { FieldItems } from './storage/fieldItems';
import { ItemFormat, type EventChanges, type FieldRef, type StateLayout } from './storage/itemFormat';
import { LargeStateStorage } from './storage/largeState';
import type { SizeCache } from './storage/sizes';
import { Stats } from './Stats';
import { createTable, missingTableError } from './storage/tableLifecycle';

export { createDefaultClient } from './storage/DynamoDBItems';

/** The function's row as read from the table. */
export interface StoredRow {
  /** The state map: field name to encoded value. */
  readonly fields: Readonly<Record<string, AttributeValue>>;
  /** Incremented by every write; conditional writes expect the revision they read. 0: none yet. */
  readonly revision: number;
  /** The id of the write that produced this revision (diagnostics; a writer recognises its own write by it). */
  readonly writeId?: string;
  /**
   * Where the row keeps its state: `map` (readable, in the row: writes of changes apply to it),
   * `packed` or `parts` (a large state, rewritten whole). Absent for a row the store did not read.
   */
  readonly layout?: StateLayout['kind'];
  /** The fields' own versions (fields whose merge function conditions on them); absent: none. */
  readonly versions?: Readonly<Record<string, number>>;
  /** The events whose changes the row holds, digest to mark; absent: none. */
  readonly events?: Readonly<Record<string, string>>;
}

/** What a conditional write came to. */
export type WriteOutcome =
  /**
   * Stored as revision `revision`, in `layout`; `row` is the whole row after the write when the
   * store knows it (a write of changes returns it: other writers' fields included).
   */
  | { readonly status: 'written'; readonly revision: number; readonly layout?: StateLayout['kind']; readonly row?: StoredRow }
  /** A write of changes that the row cannot take as changes (it would outgrow the readable layout): write the whole state. */
  | { readonly status: 'rewrite' }
  /** Another writer got there first. `current` is the row DynamoDB returned with the failure, if it did. */
  | { readonly status: 'conflict'; readonly current?: StoredRow | null }
  | { readonly status: 'table-missing' };

/**
 * Storage of the function's row: the engine's one view of the table. {@link DynamoDBRowStore} is
 * the DynamoDB implementation; the engine's specs use an in-memory one.
 */
export interface RowStore {
  readonly tableName: string;
  readonly tableKey: string;
  /** Reads the row with a strongly consistent GetItem. `null`: no row; `'table-missing'`: no table. */
  get(signal?: DeadlineSignal): Promise<StoredRow | null | 'table-missing'>;
  /**
   * Writes the whole state if the stored revision still is `expectedRevision` (0: no revision yet),
   * with the fields' own `versions` and the `events` it remembers.
   */
  put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
    versions?: Readonly<Record<string, number>>,
    events?: Readonly<Record<string, string>>,
  ): Promise<WriteOutcome>;
  /**
   * Writes only `changes` (set / remove / add / keys) into a row that is in the readable map
   * layout, whatever its revision, as long as each change's condition holds (see
   * `FieldCondition`); every other field stays as stored. `fields` is the whole state after the
   * changes as this environment knows it: when it would not fit the map layout, or the row turns
   * out too large, the outcome is `rewrite`. A conflict when the row is not in the map layout (or
   * missing), or a change's expected value is not the stored one.
   */
  update(
    changes: FieldChanges,
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
    events?: EventChanges,
  ): Promise<WriteOutcome>;
  /**
   * Creates the missing table (tolerating a concurrent creation) and waits until it is ACTIVE; a
   * {@link TableNotFoundError} when the options say not to create it.
   */
  createMissingTable(signal?: DeadlineSignal): Promise<void>;
  /** The size DynamoDB counts for the row without the state map's content: key, bookkeeping, names. */
  readonly rowOverhead: number;
}

// The largest ref a row records (for sizing a row before its refs exist): two write ids, a size.
const LARGEST_REF: FieldRef = { slot: 0, writeId: '0'.repeat(36), previous: '0'.repeat(36), size: 999_999 };

// A reader whose parts were replaced under it (a newer write committed) re-reads the row this often.
const MAX_PART_READS = 5;

/**
 * {@link RowStore} on DynamoDB, put together from the item format, large-state storage, table
 * lifecycle and the SDK adapter (src/persistence/storage/). It adds what a write of the row as a
 * whole needs: parts before the row, the row's condition, recognising its own lost answer, and the
 * corrupt-row policy.
 */
export class DynamoDBRowStore implements RowStore {
  readonly tableName: string;
  readonly tableKey: string;
  private readonly location: Required<ErrorLocation>;
  private readonly format: ItemFormat;
  private readonly items: DynamoDBItems;
  private readonly large: LargeStateStorage;
  private readonly fieldItems: FieldItems;
  /** Whether the row as last seen names the write that made it (ItemFormat.update). */
  private rowHasWriteId = false;
  /** Whether the row as last seen can point to field items with a write of changes (it has `items`). */
  private rowHasItems = false;
  /** Whether the row as last seen has the fields' own versions (`versions`), so that one can be set on its own. */
  private rowHasVersions = false;
  /** Whether the row as last seen remembers events (`events`), so that one can be added on its own. */
  private rowHasEvents = false;
  /**
   * The map of the row as last read, until the first write has checked it for a large field (a row
   * of 0.1.0 holds them there): the next write then moves them out, whole. Checked by that write,
   * not by the read, so that a cold start that writes nothing does not size every field.
   */
  private uncheckedMap: Readonly<Record<string, AttributeValue>> | undefined;

  constructor(
    client: DynamoDBSender,
    private readonly options: ResolvedOptions,
    tableKey: string,
    sizes: SizeCache,
    invokedFunctionArn?: string,
    /** Counts the requests sent. */
    stats: Stats = new Stats(),
    /** Sees every item read (the row and any part items), e.g. to size them. */
    onItemRead?: (item: Record<string, AttributeValue>) => void,
  ) {
    this.tableName = options.tableName;
    this.tableKey = tableKey;
    this.location = { tableName: options.tableName, tableKey };
    this.format = new ItemFormat(options, this.location);
    this.items = new DynamoDBItems(
      client,
      this.location,
      { createTable: options.createTable, invokedFunctionArn, endpoint: describeEndpoint(options) },
      stats,
      onItemRead,
    );
    this.large = new LargeStateStorage(this.items, this.format, sizes, this.location);
    this.fieldItems = new FieldItems(this.items, this.format, sizes, options.largeFieldBytes);
  }

  get rowOverhead(): number {
    return this.format.rowOverhead;
  }

  async get(signal?: DeadlineSignal): Promise<StoredRow | null | 'table-missing'> {
    for (let attempt = 1; ; attempt++) {
      const item = await this.items.get(this.format.key, signal);
      if (item === TABLE_MISSING) return item;
      if (item === undefined) return null;
      const row = await this.read(item, signal);
      if (row !== 'parts-replaced') return row;
      if (attempt >= MAX_PART_READS) {
        throw new CorruptRowError(
          `Row ${rowName(this.location)} kept being replaced while its parts were read (${attempt} attempts), or a part is missing.`,
          this.location,
        );
      }
    }
  }

  async put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
    versions?: Readonly<Record<string, number>>,
    events?: Readonly<Record<string, string>>,
  ): Promise<WriteOutcome> {
    const revision = expectedRevision + 1;
    // Large fields into their slot items first: the row points to them only once they are stored.
    const inRow: Record<string, AttributeValue> = {};
    const large = new Map<string, AttributeValue>();
    for (const name of Object.keys(fields)) {
      if (this.fieldItems.isLarge(fields[name]!)) large.set(name, fields[name]!);
      else inRow[name] = fields[name]!;
    }
    const refs = await this.fieldItems.placeAll(large, writeId, signal);
    if (refs === TABLE_MISSING) return { status: 'table-missing' };
    // A slot holds a write this environment did not expect: read the row, then try again.
    if (!(refs instanceof Map)) return { status: 'conflict' };
    const { state, parts } = this.large.layout(inRow, writeId, this.format.refsSize(refs));
    const condition = this.format.revisionCondition(expectedRevision);
    // Parts first: the row points to them only once they are all stored, so a reader never
    // follows the row to a part that is not there yet.
    let result: undefined | ConditionFailed | TableMissing = parts.length > 0 ? await this.large.write(parts, signal) : undefined;
    if (result === undefined) {
      result = await this.items.put(
        {
          Item: this.format.item(state, revision, writeId, refs, versions, events),
          ...condition,
          // DynamoDB returns the current item with the failure, which saves a GetItem on a conflict.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
        signal,
      );
    }
    // An error thrown above (an abort, retries exhausted after the server applied the write) leaves
    // it unknown whether the row was written: its parts may be the row's now, so they stay. At
    // worst they are garbage.
    let outcome: WriteOutcome;
    if (result === undefined) outcome = { status: 'written', revision, layout: state.kind };
    else if (result === TABLE_MISSING) outcome = { status: 'table-missing' };
    else {
      // The row as it is now: from the failure (DynamoDB, moto) or, when this write made parts
      // that must not be deleted if it landed after all, read here (dynalite returns none).
      let current = result.item;
      if (current === undefined && parts.length > 0) {
        const read = await this.items.get(this.format.key, signal);
        current = read === TABLE_MISSING ? undefined : read;
      }
      outcome = await this.conflictOutcome(current, writeId, signal);
    }
    if (outcome.status === 'written') {
      this.rowHasWriteId = true;
      this.rowHasItems = refs.size > 0;
      this.rowHasVersions = versions !== undefined && Object.keys(versions).length > 0;
      this.rowHasEvents = events !== undefined && Object.keys(events).length > 0;
      this.uncheckedMap = undefined;
      this.fieldItems.seen(refs);
      await this.large.replaced(state);
    } else if (parts.length > 0) await this.large.discard(parts);
    return outcome;
  }

  /** Whether the row as last read holds a large field in its map (see `uncheckedMap`). */
  private largeInMap(): boolean {
    const map = this.uncheckedMap;
    if (map === undefined) return false;
    if (Object.values(map).some((attribute) => this.fieldItems.isLarge(attribute))) return true;
    this.uncheckedMap = undefined;
    return false;
  }

  async update(
    given: FieldChanges,
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
    events?: EventChanges,
  ): Promise<WriteOutcome> {
    // A row of 0.1.0 with a large field in its map: one whole-row write moves it into its own item.
    if (this.largeInMap()) return { status: 'rewrite' };
    const current = this.fieldItems.refs;
    const changes = wholeValues(given, (name, attribute) => current.has(name) || this.fieldItems.isLarge(attribute));
    // Which fields the row will point to after this write: those it points to now that this write
    // does not bring back into the map, and the large new values. Sized before anything is sent.
    const large = new Set<string>();
    const unrefer = new Set<string>();
    for (const [name, change] of changes) {
      if (change.kind === 'set' && this.fieldItems.isLarge(change.attribute)) large.add(name);
      else if (current.has(name)) unrefer.add(name);
    }
    // The row cannot point to a field item yet (it has no `items`): a whole-row write can.
    if (large.size > 0 && !this.rowHasItems) return { status: 'rewrite' };
    const referred = new Map<string, FieldRef>();
    for (const [name, ref] of current) if (!unrefer.has(name) && !large.has(name)) referred.set(name, ref);
    for (const name of large) referred.set(name, LARGEST_REF);
    let inRow = fields;
    if (referred.size > 0) {
      const copy: Record<string, AttributeValue> = {};
      for (const name of Object.keys(fields)) if (!referred.has(name)) copy[name] = fields[name]!;
      inRow = copy;
    }
    if (!this.large.fitsInRow(inRow, this.format.refsSize(referred))) return { status: 'rewrite' };
    const placed = await this.fieldItems.placeAll(
      new Map([...large].map((name) => [name, (changes.get(name) as { readonly attribute: AttributeValue }).attribute])),
      writeId,
      signal,
    );
    if (placed === TABLE_MISSING) return { status: 'table-missing' };
    // A slot holds a write this environment did not expect: read the row, then try again.
    if (!(placed instanceof Map)) return { status: 'conflict' };
    const refer = new Map<string, { ref: FieldRef; expected: string | undefined }>();
    for (const [name, ref] of placed) refer.set(name, { ref, expected: current.get(name)?.writeId });
    const parts = this.format.update(changes, expectedRevision, writeId, this.rowHasWriteId, { refer, unrefer }, this.rowHasVersions, events, this.rowHasEvents);
    const result = await this.items.update({ Key: this.format.key, ...parts, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }, signal);
    if (result === TABLE_MISSING) return { status: 'table-missing' };
    if (result === TOO_LARGE) return { status: 'rewrite' };
    if ('conflict' in result) {
      // Whether this very write was applied (its answer lost, the SDK's resend refused) must be
      // known: an added delta taken for another writer's would count twice. Read the row when the
      // failure did not return it (dynalite).
      let current = result.item;
      if (current === undefined) {
        const read = await this.items.get(this.format.key, signal);
        current = read === TABLE_MISSING ? undefined : read;
      }
      return this.conflictOutcome(current, writeId, signal, true);
    }
    this.rowHasWriteId = true;
    const row = await this.read(result.updated, signal, false);
    const revision = this.format.revisionOf(result.updated);
    return row === 'parts-replaced' ? { status: 'written', revision, layout: 'map' } : { status: 'written', revision, layout: 'map', row };
  }

  async createMissingTable(signal?: DeadlineSignal): Promise<void> {
    if (!this.options.createTable) throw missingTableError(this.location, this.options.keyFieldName);
    await createTable(this.items, this.options, this.location, signal);
  }

  /**
   * A failed condition: this very write, whose answer was lost and whose resend failed the
   * condition, or another writer's row. A write of changes that was this one is taken in whole:
   * it applied on top of whatever other writers had stored, which this environment must see.
   */
  private async conflictOutcome(
    current: Record<string, AttributeValue> | undefined,
    writeId: string,
    signal: DeadlineSignal | undefined,
    ofChanges = false,
  ): Promise<WriteOutcome> {
    if (current !== undefined && this.format.writeIdOf(current) === writeId) {
      const layout = this.format.parse(current).state.kind;
      // A whole-row write is the row now (and its parts are the row's: not read, not marked replaced).
      if (!ofChanges || layout !== 'map') return { status: 'written', revision: this.format.revisionOf(current), layout };
      const row = await this.read(current, signal);
      return row === 'parts-replaced' ? { status: 'written', revision: this.format.revisionOf(current), layout } : { status: 'written', revision: row.revision, layout, row };
    }
    if (current === undefined) return { status: 'conflict' };
    const row = await this.read(current, signal);
    return row === 'parts-replaced' ? { status: 'conflict' } : { status: 'conflict', current: row };
  }

  /**
   * A row item as the stored row, under the corrupt-row policy: its state map, or its packed or
   * split state, with the fields in items of their own. `read`: the item comes from a read of the
   * row (not from a write's answer), so it tells whether 0.1.0 left a large field in the map.
   */
  private async read(item: Record<string, AttributeValue>, signal?: DeadlineSignal, read = true): Promise<StoredRow | 'parts-replaced'> {
    try {
      const parsed = this.format.parse(item);
      this.rowHasWriteId = parsed.writeId !== undefined;
      let fields = await this.large.read(parsed.state, signal);
      if (fields === 'parts-replaced') return fields;
      if (parsed.refs !== undefined && parsed.refs.size > 0) {
        const held = await this.fieldItems.read(parsed.refs, signal);
        if (held === 'replaced') return 'parts-replaced';
        fields = { ...fields, ...held };
      }
      // The newest row this environment has seen: its parts and field items are the ones the next write replaces.
      this.large.seen(parsed.state);
      this.fieldItems.seen(parsed.refs);
      this.rowHasItems = parsed.refs !== undefined;
      this.rowHasVersions = parsed.versions !== undefined;
      this.rowHasEvents = parsed.events !== undefined;
      if (read) this.uncheckedMap = parsed.state.kind === 'map' ? parsed.state.fields : undefined;
      return {
        fields,
        revision: parsed.revision,
        layout: parsed.state.kind,
        ...(parsed.writeId !== undefined && { writeId: parsed.writeId }),
        ...(parsed.versions !== undefined && { versions: parsed.versions }),
        ...(parsed.events !== undefined && { events: parsed.events }),
      };
    } catch (error) {
      if (!(error instanceof CorruptRowError) || this.options.onCorruptRow === 'fail') throw error;
      warnStartingFresh(error);
      this.rowHasWriteId = false;
      this.rowHasItems = false;
      this.rowHasVersions = false;
      this.rowHasEvents = false;
      this.uncheckedMap = undefined;
      this.large.seen(undefined);
      this.fieldItems.seen(undefined);
      // Keep the revision: the next write must replace exactly this row.
      return { fields: {}, revision: this.format.revisionOf(item) };
    }
  }
}

/** Where the requests go, and where that came from, for errors of the connection. */
export function describeEndpoint(options: Pick<ResolvedOptions, 'client'>, env: NodeJS.ProcessEnv = process.env): string {
  if (options.client !== undefined) return 'the endpoint of the client passed in (the client option)';
  if (env.AWS_ENDPOINT_URL_DYNAMODB) return `${env.AWS_ENDPOINT_URL_DYNAMODB} (from AWS_ENDPOINT_URL_DYNAMODB)`;
  if (env.AWS_ENDPOINT_URL) return `${env.AWS_ENDPOINT_URL} (from AWS_ENDPOINT_URL)`;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  return `DynamoDB's endpoint in ${region ? `region ${region}` : 'the default region'} (the SDK's default)`;
}

/**
 * `changes` with each key-by-key change of a field that `whole` says must be written whole (one
 * in an item of its own, or growing into one) turned into a write of its whole value: those
 * conflict through their slot's own condition.
 */
function wholeValues(changes: FieldChanges, whole: (name: string, attribute: AttributeValue) => boolean): FieldChanges {
  let result: Map<string, FieldChange> | undefined;
  for (const [name, change] of changes) {
    if (change.kind !== 'keys' || !whole(name, change.attribute)) continue;
    (result ??= new Map(changes)).set(name, { kind: 'set', attribute: change.attribute });
  }
  return result ?? changes;
}

/** A random id for one write attempt. */
export function newWriteId(): string {
  return randomUUID();
}
