/**
 * The library's own store contract (src/persistence/RowStore.ts) kept in memory, for the engine's
 * specs (TrackedState, WriteQueue, Session): not an imitation of DynamoDB, just the contract, with
 * hooks to play another environment's writes, a missing table or a slow request. Every persistence
 * claim is also proven against dynalite (spec/integration) and moto.
 *
 * ```ts
 * const store = new MemoryRowStore();
 * store.beforeWrite = () => store.writeAsOther({ theirs: { S: 'x' } }); // a conflict on the next write
 * ```
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { TableNotFoundError } from '../../src/errors';
import type { DeadlineSignal } from '../../src/persistence/Deadline';
import type { FieldChanges } from '../../src/persistence/fields/FieldChange';
import type { RowStore, StoredRow, WriteOutcome } from '../../src/persistence/RowStore';
import type { EventChanges } from '../../src/persistence/storage/itemFormat';

export type Request =
  | { kind: 'get' }
  | { kind: 'put'; fields: Record<string, AttributeValue>; expectedRevision: number; signal?: DeadlineSignal }
  | { kind: 'update'; changes: FieldChanges; fields: Record<string, AttributeValue>; signal?: DeadlineSignal }
  | { kind: 'createTable' };

export class MemoryRowStore implements RowStore {
  readonly tableName = 'MemoryTable';
  readonly rowOverhead = 100;
  /** The stored row; null while there is none. */
  row: StoredRow | null = null;
  tableExists = true;
  createTable = true;
  /** Every request, in order. */
  readonly requests: Request[] = [];
  /** Runs before a put or update is applied: play another writer, or wait. */
  beforeWrite: (request: Request) => void | Promise<void> = () => undefined;
  /** Runs after a put or update was applied, before it answers: throw to lose the answer. */
  afterWrite: (request: Request) => void | Promise<void> = () => undefined;
  /** Runs before a get answers: wait, or play another writer. */
  beforeGet: () => void | Promise<void> = () => undefined;

  constructor(readonly tableKey = 'memory-fn') {}

  /** Another environment's whole-row write. */
  writeAsOther(fields: Record<string, AttributeValue>, layout: StoredRow['layout'] = 'map'): void {
    this.row = { fields: { ...(this.row?.fields ?? {}), ...fields }, revision: (this.row?.revision ?? 0) + 1, writeId: `other-${Math.random()}`, layout };
  }

  async get(): Promise<StoredRow | null | 'table-missing'> {
    this.requests.push({ kind: 'get' });
    await this.beforeGet();
    if (!this.tableExists) return 'table-missing';
    return this.row === null ? null : { ...this.row, fields: { ...this.row.fields } };
  }

  async put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
    versions?: Readonly<Record<string, number>>,
    events?: Readonly<Record<string, string>>,
  ): Promise<WriteOutcome> {
    const request: Request = { kind: 'put', fields: { ...fields }, expectedRevision, ...(signal && { signal }) };
    this.requests.push(request);
    await this.beforeWrite(request);
    if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    if (!this.tableExists) return { status: 'table-missing' };
    if ((this.row?.revision ?? 0) !== expectedRevision) return { status: 'conflict', current: this.row };
    this.row = {
      fields: { ...fields },
      revision: expectedRevision + 1,
      writeId,
      layout: 'map',
      ...(versions !== undefined && Object.keys(versions).length > 0 && { versions }),
      ...(events !== undefined && Object.keys(events).length > 0 && { events }),
    };
    await this.afterWrite(request);
    return { status: 'written', revision: this.row.revision, layout: 'map' };
  }

  async update(
    changes: FieldChanges,
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
    events?: EventChanges,
  ): Promise<WriteOutcome> {
    const request: Request = { kind: 'update', changes, fields: { ...fields }, ...(signal && { signal }) };
    this.requests.push(request);
    await this.beforeWrite(request);
    if (!this.tableExists) return { status: 'table-missing' };
    if (this.row === null || (this.row.layout ?? 'map') !== 'map') return { status: 'conflict', current: this.row };
    if (this.row.writeId === writeId) return { status: 'written', revision: this.row.revision, layout: 'map' };
    const stored = { ...this.row.fields };
    const versions: Record<string, number> = { ...this.row.versions };
    const remembered: Record<string, string> = { ...this.row.events };
    for (const [digest, mark] of events?.recorded ?? []) {
      if (remembered[digest] !== undefined && remembered[digest] !== mark) return { status: 'conflict', current: this.row };
    }
    for (const [name, change] of changes) {
      const condition = change.kind === 'set' || change.kind === 'remove' ? change.condition : undefined;
      const holds =
        condition === undefined ||
        (condition.kind === 'absent' && stored[name] === undefined) ||
        (condition.kind === 'revision' && this.row.revision === expectedRevision) ||
        (condition.kind === 'version' && (versions[name] ?? 0) === condition.expected);
      const container = change.kind === 'keys' ? change.path.reduce<AttributeValue | undefined>((at, step) => at?.M?.[step], stored[name]) : undefined;
      if (!holds || (change.kind === 'keys' && container?.M === undefined)) return { status: 'conflict', current: this.row };
      if (condition?.kind === 'version') versions[name] = condition.expected + 1;
    }
    for (const [name, change] of changes) {
      if (change.kind === 'set') stored[name] = change.attribute;
      else if (change.kind === 'remove') delete stored[name];
      else if (change.kind === 'add') stored[name] = { N: String(Number((stored[name] ?? change.from).N) + Number(change.delta.N)) };
      else {
        // A copy of the path down to the keys' map, with the keys set and removed.
        const copy = (at: AttributeValue, path: readonly string[]): AttributeValue => {
          const map = { ...at.M };
          if (path.length > 0) map[path[0]!] = copy(map[path[0]!]!, path.slice(1));
          else {
            for (const [key, value] of change.set) map[key] = value;
            for (const key of change.remove) delete map[key];
          }
          return { M: map };
        };
        stored[name] = copy(stored[name]!, change.path);
      }
    }
    for (const [digest, mark] of events?.recorded ?? []) remembered[digest] = mark;
    for (const digest of events?.forgotten ?? []) delete remembered[digest];
    this.row = {
      fields: stored,
      revision: this.row.revision + 1,
      writeId,
      layout: 'map',
      ...(Object.keys(versions).length > 0 && { versions }),
      ...(Object.keys(remembered).length > 0 && { events: remembered }),
    };
    await this.afterWrite(request);
    return { status: 'written', revision: this.row.revision, layout: 'map', row: this.row };
  }

  async createMissingTable(): Promise<void> {
    this.requests.push({ kind: 'createTable' });
    if (!this.createTable) throw new TableNotFoundError('no table, and createTable is off', { tableName: this.tableName, tableKey: this.tableKey });
    this.tableExists = true;
    this.row = null;
  }

  /** The kinds of the requests so far, e.g. ['get', 'put']. */
  kinds(): string[] {
    return this.requests.map((request) => request.kind);
  }
}

