import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { AccessDeniedError, CorruptRowError, DeadlineExceededError, TableNotFoundError } from '../errors';
import { attributeSize, FORMAT_VERSION } from './codec';
import { arnParts, policyFor } from './iamPolicy';
import type { DynamoDBSender, ResolvedOptions } from './options';

/** The function's row as read from the table. */
export interface StoredRow {
  /** The state map: field name to encoded value. */
  readonly fields: Readonly<Record<string, AttributeValue>>;
  /** Incremented by every write; conditional writes expect the revision they read. 0: none yet. */
  readonly revision: number;
  /** The id of the write that produced this revision, to recognise our own write after a lost answer. */
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
  get(signal?: AbortSignal): Promise<StoredRow | null | 'table-missing'>;
  /** Writes the whole state if the stored revision still is `expectedRevision` (0: no revision yet). */
  put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: AbortSignal,
  ): Promise<PutOutcome>;
  /** Creates the table (tolerating a concurrent creation) and waits until it is ACTIVE. */
  createTable(signal?: AbortSignal): Promise<void>;
  /** The error for a missing table that the library may not create. */
  missingTable(): TableNotFoundError;
  /** The size DynamoDB would count for the row holding `fields`, bookkeeping included. */
  itemSize(fields: Readonly<Record<string, AttributeValue>>): number;
}

const REVISION = 'revision';
const FORMAT = 'format';
const UPDATED_AT = 'updatedAt';
const WRITE_ID = 'writeId';
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
  private readonly fixedSize: number;

  constructor(
    private readonly client: DynamoDBSender,
    private readonly options: ResolvedOptions,
    tableKey: string,
    private readonly invokedFunctionArn?: string,
  ) {
    this.tableName = options.tableName;
    this.tableKey = tableKey;
    this.key = { [options.keyFieldName]: { S: tableKey } };
    const sample: Record<string, AttributeValue> = {
      ...this.key,
      [REVISION]: { N: '1000000000' },
      [FORMAT]: { N: String(FORMAT_VERSION) },
      [UPDATED_AT]: { S: new Date(0).toISOString() },
      [WRITE_ID]: { S: newWriteId() },
    };
    this.fixedSize = Object.entries(sample).reduce(
      (size, [name, value]) => size + Buffer.byteLength(name) + attributeSize(value),
      Buffer.byteLength(options.valueFieldName),
    );
  }

  async get(signal?: AbortSignal): Promise<StoredRow | null | 'table-missing'> {
    try {
      const output = (await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }),
        { abortSignal: signal },
      )) as { Item?: Record<string, AttributeValue> };
      return output.Item === undefined ? null : this.parse(output.Item);
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return 'table-missing';
      throw this.translate(error, 'dynamodb:GetItem', 'reading the row');
    }
  }

  async put(
    fields: Readonly<Record<string, AttributeValue>>,
    expectedRevision: number,
    writeId: string,
    signal?: AbortSignal,
  ): Promise<PutOutcome> {
    const revision = expectedRevision + 1;
    const item: Record<string, AttributeValue> = {
      ...this.key,
      [this.options.valueFieldName]: { M: fields as Record<string, AttributeValue> },
      [REVISION]: { N: String(revision) },
      [FORMAT]: { N: String(FORMAT_VERSION) },
      [UPDATED_AT]: { S: new Date().toISOString() },
      [WRITE_ID]: { S: writeId },
    };
    const condition =
      expectedRevision === 0
        ? { ConditionExpression: 'attribute_not_exists(#revision)' }
        : { ConditionExpression: '#revision = :expected', ExpressionAttributeValues: { ':expected': { N: String(expectedRevision) } } };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ...condition,
          ExpressionAttributeNames: { '#revision': REVISION },
          // DynamoDB returns the current item with the failure, which saves a GetItem on a conflict.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return { status: 'written', revision };
    } catch (error) {
      if (isNamed(error, 'ConditionalCheckFailedException')) {
        const returned = (error as { Item?: Record<string, AttributeValue> }).Item;
        return { status: 'conflict', ...(returned !== undefined && { current: this.parse(returned) }) };
      }
      if (isNamed(error, 'ResourceNotFoundException')) return { status: 'table-missing' };
      throw this.translate(error, 'dynamodb:PutItem', 'writing the row');
    }
  }

  async createTable(signal?: AbortSignal): Promise<void> {
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

  missingTable(): TableNotFoundError {
    return new TableNotFoundError(
      `Table "${this.tableName}" does not exist and createTable is off. Create it with the string ` +
        `partition key "${this.options.keyFieldName}" (see the README's "Table" section), set tableName ` +
        '(PERSISTENCE_TABLE_NAME) to an existing table, or enable createTable.',
      { tableName: this.tableName, tableKey: this.tableKey },
    );
  }

  itemSize(fields: Readonly<Record<string, AttributeValue>>): number {
    return this.fixedSize + attributeSize({ M: fields as Record<string, AttributeValue> });
  }

  private async waitUntilActive(signal?: AbortSignal): Promise<void> {
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

  private parse(item: Record<string, AttributeValue>): StoredRow {
    const location = { tableName: this.tableName, tableKey: this.tableKey };
    const where = `Row "${this.tableKey}" of table "${this.tableName}"`;
    const format = item[FORMAT]?.N !== undefined ? Number(item[FORMAT].N) : FORMAT_VERSION;
    if (!(format >= 1 && format <= FORMAT_VERSION)) {
      throw new CorruptRowError(
        `${where} has storage format ${item[FORMAT]?.N ?? JSON.stringify(item[FORMAT])}; this version of ` +
          `aws-lambda-persistence reads formats 1 to ${FORMAT_VERSION}. Upgrade the package.`,
        location,
      );
    }
    const value = item[this.options.valueFieldName];
    if (value !== undefined && value.M === undefined) {
      const kind = Object.keys(value)[0] ?? 'empty';
      throw new CorruptRowError(
        `${where} holds a ${kind} in attribute "${this.options.valueFieldName}", not the map of fields ` +
          'aws-lambda-persistence writes (a row of another program, such as the Python package?). ' +
          'Point tableKey or valueFieldName elsewhere, or delete the row to start fresh.',
        location,
      );
    }
    const revision = item[REVISION]?.N !== undefined ? Number(item[REVISION].N) : 0;
    return {
      fields: value?.M ?? {},
      revision,
      ...(item[WRITE_ID]?.S !== undefined && { writeId: item[WRITE_ID].S }),
    };
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
  return globalThis.crypto.randomUUID();
}

function isNamed(error: unknown, name: string): boolean {
  return (error as { name?: unknown } | null)?.name === name;
}
