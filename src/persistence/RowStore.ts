import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { AccessDeniedError, CorruptRowError, DeadlineExceededError, TableNotFoundError, warnStartingFresh } from '../errors';
import { attributeSize, FORMAT_VERSION } from './codec';
import { arnParts, policyFor } from './iamPolicy';
import type { DeadlineSignal } from './Deadline';
import type { DynamoDBSender, ResolvedOptions } from './options';
import { digestOf, packState, splitBytes, unpackState } from './packedState';
import { randomUUID } from 'node:crypto';

/** The function's row as read from the table. */
export interface StoredRow {
  /** The state map: field name to encoded value. */
  readonly fields: Readonly<Record<string, AttributeValue>>;
  /** Incremented by every write; conditional writes expect the revision they read. 0: none yet. */
  readonly revision: number;
  /** The id of the write that produced this revision (diagnostics; `put` compares it to recognise its own write). */
  readonly writeId?: string;
}

/** What a conditional put came to. */
export type PutOutcome =
  | { readonly status: 'written'; readonly revision: number }
  /** Another writer got there first. `current` is the row DynamoDB returned with the failure, if it did. */
  | { readonly status: 'conflict'; readonly current?: StoredRow | null }
  | { readonly status: 'table-missing' };

/**
 * Storage of the function's row. {@link DynamoDBRowStore} is the only implementation and the only
 * module that talks to DynamoDB; everything else goes through this interface.
 */
export interface RowStore {
  readonly tableName: string;
  readonly tableKey: string;
  /** Reads the row with a strongly consistent GetItem. `null`: no row; `'table-missing'`: no table. */
  get(signal?: DeadlineSignal): Promise<StoredRow | null | 'table-missing'>;
  /** Writes the whole state if the stored revision still is `expectedRevision` (0: no revision yet). */
  put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
  ): Promise<PutOutcome>;
  /** Creates the table (tolerating a concurrent creation) and waits until it is ACTIVE. */
  createTable(signal?: DeadlineSignal): Promise<void>;
  /** The error for a missing table that the library may not create. */
  missingTable(): TableNotFoundError;
  /** The size DynamoDB counts for the row without the state map's content: key, bookkeeping, names. */
  readonly rowOverhead: number;
}

const REVISION = 'revision';
const FORMAT = 'format';
const UPDATED_AT = 'updatedAt';
const WRITE_ID = 'writeId';
/** A state too large for a readable map: its packed bytes (gzip of DynamoDB JSON), in the row itself. */
const PACKED = 'packed';
/** A state too large for one item: where its packed bytes are, `{ id, count, digest }`. */
const PARTS = 'parts';
/** The attribute of a part item holding its slice of the packed bytes. */
const PART = 'part';
// DynamoDB's item limit is 400 KB (409,600 bytes) with attribute names. Our size count follows the
// documented rules; the margin covers servers that count a little differently.
const ITEM_LIMIT = 400 * 1024 - 2 * 1024;
// Part items carry their key (table key + "#part#" + a 36-character id + index) beside the slice,
// and moto counts binary as base64 (4/3 of the bytes): 296 KiB of bytes is 395 KiB of base64.
const PART_BYTES = 296 * 1024;
// Parts are read and written a few at a time: enough to overlap round trips, few enough for 1 WCU.
const PART_CONCURRENCY = 4;
// A reader whose parts were replaced under it (a newer write committed) re-reads the row this often.
const MAX_PART_READS = 5;

/** Where the parts of a large state are. Part items are never changed: each write makes new ones. */
interface PartsRef {
  readonly id: string;
  readonly count: number;
  readonly digest: string;
}
const CREATED_BY_TAG = { Key: 'created-by', Value: 'aws-lambda-persistence' };
// Polling for ACTIVE: start short (dynalite and DynamoDB often need well under a second), back off.
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;

/** The client the library creates when none is injected: standard AWS environment, SDK retries. */
export function createDefaultClient(maxAttempts: number): DynamoDBSender {
  return new DynamoDBClient({ maxAttempts });
}

/**
 * {@link RowStore} on DynamoDB. Translates the SDK's failures into the library's outcomes and errors:
 * a failed condition is a `conflict`, a missing table is `table-missing`, AccessDenied is an
 * {@link AccessDeniedError} with the policy to attach, an aborted request is a
 * {@link DeadlineExceededError}. Other SDK errors (after the SDK's retries) are thrown unchanged
 * for the caller to wrap with its context.
 */
export class DynamoDBRowStore implements RowStore {
  readonly tableName: string;
  readonly tableKey: string;
  private readonly key: Record<string, AttributeValue>;
  private fixedSize: number | undefined;
  /** The parts of the newest row seen (read or written), deleted once a write replaces that row. */
  private parts: { id: string; count: number } | undefined;

  constructor(
    private readonly client: DynamoDBSender,
    private readonly options: ResolvedOptions,
    tableKey: string,
    private readonly invokedFunctionArn?: string,
  ) {
    this.tableName = options.tableName;
    this.tableKey = tableKey;
    this.key = { [options.keyFieldName]: { S: tableKey } };
  }

  async get(signal?: DeadlineSignal): Promise<StoredRow | null | 'table-missing'> {
    for (let attempt = 1; ; attempt++) {
      let item: Record<string, AttributeValue> | undefined;
      try {
        item = await this.getItem(this.key, signal);
      } catch (error) {
        if (isNamed(error, 'ResourceNotFoundException')) return 'table-missing';
        throw error;
      }
      if (item === undefined) return null;
      const row = await this.parse(item, signal);
      if (row !== 'parts-replaced') return row;
      if (attempt >= MAX_PART_READS) {
        throw new CorruptRowError(
          `${this.where()} kept being replaced while its parts were read (${attempt} attempts), or a part is missing.`,
          this.location(),
        );
      }
    }
  }

  async put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: DeadlineSignal,
  ): Promise<PutOutcome> {
    const revision = expectedRevision + 1;
    const { state, parts } = this.layout(fields, writeId);
    // Built by assignment: an object literal with two spreads and computed keys took ~6 µs here
    // against ~1 µs (docs/performance.md).
    const item: Record<string, AttributeValue> = Object.assign({}, this.key, state);
    item[REVISION] = { N: String(revision) };
    item[FORMAT] = { N: String(FORMAT_VERSION) };
    item[UPDATED_AT] = { S: new Date().toISOString() };
    item[WRITE_ID] = { S: writeId };
    const input: PutItemCommandInput = {
      TableName: this.tableName,
      Item: item,
      ConditionExpression: expectedRevision === 0 ? 'attribute_not_exists(#revision)' : '#revision = :expected',
      ExpressionAttributeNames: { '#revision': REVISION },
      // DynamoDB returns the current item with the failure, which saves a GetItem on a conflict.
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
    if (expectedRevision !== 0) input.ExpressionAttributeValues = { ':expected': { N: String(expectedRevision) } };
    let outcome: PutOutcome;
    try {
      // Parts first: the row points to them only once they are all stored, so a reader never
      // follows the row to a part that is not there yet.
      if (parts.length > 0) {
        await this.eachPart(parts, (part) =>
          this.putItem({ TableName: this.tableName, Item: { ...part.key, [PART]: { B: part.bytes } } }, signal),
        );
      }
      await this.putItem(input, signal);
      outcome = { status: 'written', revision };
    } catch (error) {
      if (isNamed(error, 'ConditionalCheckFailedException')) {
        // The row as it is now: from the failure (DynamoDB, moto) or, when this write made parts
        // that must not be deleted if it landed after all, read here (dynalite returns none).
        const current =
          (error as { Item?: Record<string, AttributeValue> }).Item ??
          (parts.length > 0 ? await this.getItem(this.key, signal) : undefined);
        if (current?.[WRITE_ID]?.S === writeId) {
          // This very write was applied; its answer was lost and the SDK's resend failed the
          // condition. It is the row now (and its parts are the row's).
          outcome = { status: 'written', revision: Number(current[REVISION]?.N) };
        } else {
          const row = current === undefined ? undefined : await this.parse(current, signal);
          outcome = { status: 'conflict', ...(row !== undefined && row !== 'parts-replaced' && { current: row }) };
        }
      } else if (isNamed(error, 'ResourceNotFoundException')) {
        outcome = { status: 'table-missing' };
      } else {
        // Whether the row write was applied is unknown (an abort, retries exhausted after the server
        // applied it): its parts may be the row's now, so they stay. At worst they are garbage.
        throw error;
      }
    }
    if (outcome.status === 'written') {
      // The replaced row's parts are unreachable now. A reader that read the old row just before
      // finds them gone and re-reads the row.
      const replaced = this.parts;
      this.parts = parts.length > 0 ? { id: writeId, count: parts.length } : undefined;
      if (replaced !== undefined) await this.deleteParts(this.partKeys(replaced));
    } else if (parts.length > 0) {
      await this.deleteParts(parts.map((part) => part.key));
    }
    return outcome;
  }

  async createTable(signal?: DeadlineSignal): Promise<void> {
    const { billing, keyFieldName } = this.options;
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: keyFieldName, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: keyFieldName, KeyType: 'HASH' }],
          ...(billing.mode === 'PAY_PER_REQUEST'
            ? { BillingMode: 'PAY_PER_REQUEST' }
            : {
                BillingMode: 'PROVISIONED',
                ProvisionedThroughput: {
                  ReadCapacityUnits: billing.readCapacityUnits,
                  WriteCapacityUnits: billing.writeCapacityUnits,
                },
              }),
          Tags: [CREATED_BY_TAG],
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      // Another environment is creating the same table at this moment: wait for it like for ours.
      if (!isNamed(error, 'ResourceInUseException')) {
        throw this.translate(error, 'dynamodb:CreateTable', 'creating the table');
      }
    }
    await this.waitUntilActive(signal);
  }

  /** The attributes holding `fields`: a readable map if the item fits, else packed, else in parts. */
  private layout(
    fields: Readonly<Record<string, AttributeValue>>,
    writeId: string,
  ): { state: Record<string, AttributeValue>; parts: { key: Record<string, AttributeValue>; bytes: Uint8Array }[] } {
    if (this.rowOverhead + this.stateMapSize(fields) <= ITEM_LIMIT) {
      return { state: { [this.options.valueFieldName]: { M: fields as Record<string, AttributeValue> } }, parts: [] };
    }
    const packed = packState(fields);
    if (this.rowOverhead + Buffer.byteLength(PACKED) + attributeSize({ B: packed }, true) <= ITEM_LIMIT) {
      return { state: { [PACKED]: { B: packed } }, parts: [] };
    }
    const slices = splitBytes(packed, PART_BYTES);
    const ref = { id: writeId, count: slices.length, digest: digestOf(packed) };
    return {
      state: { [PARTS]: { M: { id: { S: ref.id }, count: { N: String(ref.count) }, digest: { S: ref.digest } } } },
      parts: slices.map((bytes, i) => ({ key: this.partKey(ref.id, i), bytes })),
    };
  }

  /**
   * `attributeSize({ M: fields }, true)`, with each field's size remembered per attribute object:
   * a write re-sizes only the fields it changed, not the whole state (0.85–1.7 ms at 100 KB).
   */
  private stateMapSize(fields: Readonly<Record<string, AttributeValue>>): number {
    let size = 3;
    for (const name of Object.keys(fields)) {
      const attribute = fields[name]!;
      let fieldSize = this.fieldSizes.get(attribute);
      if (fieldSize === undefined) this.fieldSizes.set(attribute, (fieldSize = attributeSize(attribute, true)));
      size += 1 + Buffer.byteLength(name) + fieldSize;
    }
    return size;
  }

  private readonly fieldSizes = new WeakMap<AttributeValue, number>();

  private partKey(id: string, index: number): Record<string, AttributeValue> {
    return { [this.options.keyFieldName]: { S: `${this.tableKey}#part#${id}#${index}` } };
  }

  private partKeys(ref: { id: string; count: number }): Record<string, AttributeValue>[] {
    return Array.from({ length: ref.count }, (_, i) => this.partKey(ref.id, i));
  }

  /** Reads the parts `ref` names; 'parts-replaced' when one is gone (a newer write replaced them). */
  private async readParts(ref: PartsRef, signal?: DeadlineSignal): Promise<Uint8Array | 'parts-replaced'> {
    const slices = await this.eachPart(this.partKeys(ref), async (key) => (await this.getItem(key, signal))?.[PART]?.B);
    if (slices.some((slice) => slice === undefined)) return 'parts-replaced';
    const packed = Buffer.concat(slices as Uint8Array[]);
    if (digestOf(packed) !== ref.digest) {
      throw new CorruptRowError(`${this.where()}: its ${ref.count} parts do not match the digest the row records.`, this.location());
    }
    return packed;
  }

  /** Best effort: a part left behind (a failed delete, a frozen environment) is unreachable garbage, not state. */
  private async deleteParts(keys: Record<string, AttributeValue>[]): Promise<void> {
    await this.eachPart(keys, (key) =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key })).catch(() => undefined),
    );
  }

  private async eachPart<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, items.length) }, worker));
    return results;
  }

  private async getItem(key: Record<string, AttributeValue>, signal?: DeadlineSignal): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const output = (await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }), {
        abortSignal: signal,
      })) as { Item?: Record<string, AttributeValue> };
      return output.Item;
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) throw error;
      throw this.translate(error, 'dynamodb:GetItem', 'reading the row');
    }
  }

  private async putItem(input: PutItemCommandInput, signal: DeadlineSignal | undefined): Promise<void> {
    try {
      await this.client.send(new PutItemCommand(input), { abortSignal: signal });
    } catch (error) {
      if (isNamed(error, 'ConditionalCheckFailedException') || isNamed(error, 'ResourceNotFoundException')) throw error;
      throw this.translate(error, 'dynamodb:PutItem', 'writing the row');
    }
  }

  private where(): string {
    return `Row "${this.tableKey}" of table "${this.tableName}"`;
  }

  private location(): { tableName: string; tableKey: string } {
    return { tableName: this.tableName, tableKey: this.tableKey };
  }

  missingTable(): TableNotFoundError {
    return new TableNotFoundError(
      `Table "${this.tableName}" does not exist and createTable is off. Create it with the string ` +
        `partition key "${this.options.keyFieldName}" (see the README's "Table" section), set tableName ` +
        '(PERSISTENCE_TABLE_NAME) to an existing table, or enable createTable.',
      { tableName: this.tableName, tableKey: this.tableKey },
    );
  }

  /** Worked out on first use: a cold start that writes nothing never sizes anything. */
  get rowOverhead(): number {
    if (this.fixedSize === undefined) {
      const sample: Record<string, AttributeValue> = {
        ...this.key,
        [REVISION]: { N: '1000000000' },
        [FORMAT]: { N: String(FORMAT_VERSION) },
        [UPDATED_AT]: { S: new Date(0).toISOString() },
        [WRITE_ID]: { S: '00000000-0000-0000-0000-000000000000' },
      };
      this.fixedSize = Object.entries(sample).reduce(
        (size, [name, value]) => size + Buffer.byteLength(name) + attributeSize(value),
        Buffer.byteLength(this.options.valueFieldName),
      );
    }
    return this.fixedSize;
  }

  private async waitUntilActive(signal?: DeadlineSignal): Promise<void> {
    const deadline = Date.now() + this.options.tableCreationTimeoutMs;
    for (let wait = FIRST_POLL_MS; ; wait = Math.min(wait * 2, MAX_POLL_MS)) {
      let status: string | undefined;
      try {
        const output = (await this.client.send(new DescribeTableCommand({ TableName: this.tableName }), {
          abortSignal: signal,
        })) as { Table?: { TableStatus?: string } };
        status = output.Table?.TableStatus;
      } catch (error) {
        // Eventually consistent: a table just created may not be visible to DescribeTable yet.
        if (!isNamed(error, 'ResourceNotFoundException')) {
          throw this.translate(error, 'dynamodb:DescribeTable', 'waiting for the new table');
        }
      }
      if (status === 'ACTIVE') return;
      if (Date.now() + wait > deadline) {
        throw new TableNotFoundError(
          `Table "${this.tableName}" did not become ACTIVE within ${this.options.tableCreationTimeoutMs} ms ` +
            `(last status: ${status ?? 'not visible'}). Raise tableCreationTimeoutMs or create the table beforehand.`,
          { tableName: this.tableName, tableKey: this.tableKey },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async parse(item: Record<string, AttributeValue>, signal?: DeadlineSignal): Promise<StoredRow | 'parts-replaced'> {
    try {
      return await this.parseStrictly(item, signal);
    } catch (error) {
      if (!(error instanceof CorruptRowError) || this.options.onCorruptRow === 'fail') throw error;
      warnStartingFresh(error);
      this.parts = undefined;
      // Keep the revision: the next write must replace exactly this row.
      return { fields: {}, revision: Number(item[REVISION]?.N) || 0 };
    }
  }

  private async parseStrictly(item: Record<string, AttributeValue>, signal?: DeadlineSignal): Promise<StoredRow | 'parts-replaced'> {
    const format = item[FORMAT]?.N !== undefined ? Number(item[FORMAT].N) : FORMAT_VERSION;
    if (!(format >= 1 && format <= FORMAT_VERSION)) {
      throw new CorruptRowError(
        `${this.where()} has storage format ${item[FORMAT]?.N ?? JSON.stringify(item[FORMAT])}; this version of ` +
          `aws-lambda-persistence reads formats 1 to ${FORMAT_VERSION}. Upgrade the package.`,
        this.location(),
      );
    }
    const revision = item[REVISION]?.N !== undefined ? Number(item[REVISION].N) : 0;
    const writeId = item[WRITE_ID]?.S;
    const parts = item[PARTS]?.M;
    let fields: Record<string, AttributeValue>;
    let ref: PartsRef | undefined;
    if (parts !== undefined) {
      ref = { id: parts.id?.S ?? '', count: Number(parts.count?.N), digest: parts.digest?.S ?? '' };
      const packed = await this.readParts(ref, signal);
      if (packed === 'parts-replaced') return packed;
      fields = this.unpack(packed);
    } else if (item[PACKED]?.B !== undefined) {
      fields = this.unpack(item[PACKED].B);
    } else {
      const value = item[this.options.valueFieldName];
      if (value !== undefined && value.M === undefined) {
        const kind = Object.keys(value)[0] ?? 'empty';
        throw new CorruptRowError(
          `${this.where()} holds a ${kind} in attribute "${this.options.valueFieldName}", not the map of fields ` +
            'aws-lambda-persistence writes (a row of another program, such as the Python package?). ' +
            'Point tableName or tableKey elsewhere (another valueFieldName on this row would replace the data ' +
            "on the first write), or set onCorruptRow: 'start-fresh' to replace it.",
          this.location(),
        );
      }
      fields = value?.M ?? {};
    }
    // The newest row this environment has seen: its parts are the ones the next write replaces.
    this.parts = ref;
    return { fields, revision, ...(writeId !== undefined && { writeId }) };
  }

  private unpack(packed: Uint8Array): Record<string, AttributeValue> {
    try {
      return unpackState(packed);
    } catch (error) {
      throw new CorruptRowError(`${this.where()}: its packed state cannot be unpacked (${(error as Error).message}).`, {
        ...this.location(),
        cause: error,
      });
    }
  }

  private translate(error: unknown, action: string, doing: string): unknown {
    const location = { tableName: this.tableName, tableKey: this.tableKey };
    if (isNamed(error, 'AccessDeniedException')) {
      const policy = policyFor({
        tableName: this.tableName,
        tableKey: this.tableKey,
        createTable: this.options.createTable,
        ...arnParts(this.invokedFunctionArn),
      });
      return new AccessDeniedError(action, policy, { ...location, cause: error });
    }
    if (isNamed(error, 'AbortError') || isNamed(error, 'TimeoutError')) {
      return new DeadlineExceededError(
        `Stopped ${doing} in table "${this.tableName}" before the invocation's deadline; the change stays ` +
          'pending and is retried with the next write. Raise the function timeout or lower deadlineMarginMs.',
        { ...location, cause: error },
      );
    }
    return error;
  }
}

/** A random id for one write attempt. */
export function newWriteId(): string {
  return randomUUID();
}

function isNamed(error: unknown, name: string): boolean {
  return (error as { name?: unknown } | null)?.name === name;
}
