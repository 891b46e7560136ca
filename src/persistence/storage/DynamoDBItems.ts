import {
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClientConfig,
  type PutItemCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { AccessDeniedError, DeadlineExceededError, type ErrorLocation } from '../../errors';
import type { DeadlineSignal } from '../Deadline';
import { arnParts, policyFor } from '../iamPolicy';
import type { DynamoDBSender } from '../options';
import type { Stats } from '../Stats';
import type { DynamoDBOperation } from './commands';

/** A write's condition failed; `item` is the item as it is now when DynamoDB returned it. */
export interface ConditionFailed {
  readonly conflict: true;
  readonly item?: Record<string, AttributeValue>;
}

/** The table does not exist. */
export const TABLE_MISSING = 'table-missing';
export type TableMissing = typeof TABLE_MISSING;

/** An UpdateItem would make the item larger than DynamoDB's 400 KB. */
export const TOO_LARGE = 'too-large';
export type TooLarge = typeof TOO_LARGE;

/**
 * The client the library creates when none is injected: standard AWS environment, SDK retries;
 * `config` adds to it (the CLI's endpoint and region).
 */
export function createDefaultClient(
  options: { readonly maxAttempts: number; readonly connectTimeoutMs?: number; readonly requestTimeoutMs?: number },
  config: DynamoDBClientConfig = {},
): DynamoDBClient {
  const client = new DynamoDBClient({
    maxAttempts: options.maxAttempts,
    // An attempt that gets no connection, or no answer, fails (and is retried by the SDK) instead of
    // hanging until the invocation's deadline. throwOnRequestTimeout: recent SDKs only warn otherwise.
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 1000,
      requestTimeout: options.requestTimeoutMs ?? 3000,
      throwOnRequestTimeout: true,
    },
    ...config,
  });
  // SDKs older than the requestHandler shorthand (early 2024) keep the options object as the
  // handler, which cannot send: use their default handler (no timeouts) rather than fail.
  const handler = (client.config as { requestHandler?: { handle?: unknown } }).requestHandler;
  if (typeof handler?.handle === 'function') return client;
  client.destroy();
  return new DynamoDBClient({ maxAttempts: options.maxAttempts, ...config });
}

/**
 * The thin adapter over the AWS SDK: the one module that builds DynamoDB commands. It turns the
 * SDK's failures into outcomes (a failed condition, a missing table) and the library's errors
 * (AccessDenied: an {@link AccessDeniedError} with the policy to attach; an aborted request: a
 * {@link DeadlineExceededError}); other SDK errors, after the SDK's own retries, are thrown as
 * they are for the caller to wrap with its context.
 */
export class DynamoDBItems {
  constructor(
    private readonly client: DynamoDBSender,
    private readonly location: Required<ErrorLocation>,
    /**
     * What errors say: the policy an AccessDeniedError prints, and which endpoint the requests go to
     * and where it came from, for failures of the connection.
     */
    private readonly access: { readonly createTable: boolean; readonly invokedFunctionArn?: string | undefined; readonly endpoint: string },
    /** Counts requests and the capacity DynamoDB reports for them. */
    private readonly stats: Stats,
    /** Sees every item a GetItem returns (the CLI's `inspect` sizes them). */
    private readonly onItemRead?: (item: Record<string, AttributeValue>) => void,
  ) {}

  /** Sends `command`, counting it and the capacity its answer (or failure) reports. */
  private async send<T>(operation: DynamoDBOperation, command: Parameters<DynamoDBSender['send']>[0], signal?: DeadlineSignal): Promise<T> {
    try {
      const output = (await this.client.send(command, { abortSignal: signal })) as T & {
        ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
      };
      this.stats.sent(operation, output.ConsumedCapacity);
      return output;
    } catch (error) {
      // A refused conditional write is charged too; its failure may report the capacity.
      this.stats.sent(operation, (error as { ConsumedCapacity?: { CapacityUnits?: number } } | null)?.ConsumedCapacity);
      throw error;
    }
  }

  /** A strongly consistent GetItem. */
  async get(key: Record<string, AttributeValue>, signal?: DeadlineSignal): Promise<Record<string, AttributeValue> | undefined | TableMissing> {
    try {
      const command = new GetItemCommand({ TableName: this.location.tableName, Key: key, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' });
      const output = await this.send<{ Item?: Record<string, AttributeValue> }>('GetItem', command, signal);
      if (output.Item !== undefined) this.onItemRead?.(output.Item);
      return output.Item;
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return TABLE_MISSING;
      throw this.translate(error, 'dynamodb:GetItem', 'reading the row', signal);
    }
  }

  /**
   * Strongly consistent reads of `keys` (at most 100) in one BatchGetItem, and another for any keys
   * DynamoDB leaves unprocessed (it may, under throttling or for answers over 16 MB). Items not
   * found are absent from the result.
   */
  async batchGet(keys: readonly Record<string, AttributeValue>[], signal?: DeadlineSignal): Promise<Record<string, AttributeValue>[] | TableMissing> {
    const found: Record<string, AttributeValue>[] = [];
    let pending: Record<string, AttributeValue>[] = [...keys];
    try {
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
        const command = new BatchGetItemCommand({
          RequestItems: { [this.location.tableName]: { Keys: pending, ConsistentRead: true } },
          ReturnConsumedCapacity: 'TOTAL',
        });
        const output = await this.send<{
          Responses?: Record<string, Record<string, AttributeValue>[]>;
          UnprocessedKeys?: Record<string, { Keys?: Record<string, AttributeValue>[] }>;
          ConsumedCapacity?: { CapacityUnits?: number }[];
        }>('BatchGetItem', command, signal);
        for (const item of output.Responses?.[this.location.tableName] ?? []) {
          this.onItemRead?.(item);
          found.push(item);
        }
        pending = output.UnprocessedKeys?.[this.location.tableName]?.Keys ?? [];
      }
      return found;
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return TABLE_MISSING;
      throw this.translate(error, 'dynamodb:BatchGetItem', 'reading the row', signal);
    }
  }

  /** A PutItem; with a condition, its failure is an outcome. */
  async put(input: Omit<PutItemCommandInput, 'TableName'>, signal?: DeadlineSignal): Promise<undefined | ConditionFailed | TableMissing> {
    try {
      await this.send('PutItem', new PutItemCommand({ TableName: this.location.tableName, ReturnConsumedCapacity: 'TOTAL', ...input }), signal);
      return undefined;
    } catch (error) {
      return this.outcome(error, 'dynamodb:PutItem', 'writing the row', signal);
    }
  }

  /** An UpdateItem returning the item after it; its condition's failure is an outcome. */
  async update(
    input: Omit<UpdateItemCommandInput, 'TableName'>,
    signal?: DeadlineSignal,
  ): Promise<{ readonly updated: Record<string, AttributeValue> } | ConditionFailed | TableMissing | TooLarge> {
    try {
      const command = new UpdateItemCommand({ TableName: this.location.tableName, ReturnValues: 'ALL_NEW', ReturnConsumedCapacity: 'TOTAL', ...input });
      const output = await this.send<{ Attributes?: Record<string, AttributeValue> }>('UpdateItem', command, signal);
      return { updated: output.Attributes ?? {} };
    } catch (error) {
      // DynamoDB: "Item size to update has exceeded the maximum allowed size".
      if (isNamed(error, 'ValidationException') && /size/i.test((error as Error).message)) return TOO_LARGE;
      // A map this write sets a path in is gone since the row was read (a whole-row write of another
      // release dropped `versions` or `events`): a conflict, so that the row is read again.
      if (isNamed(error, 'ValidationException') && /document path provided in the update expression is invalid/i.test((error as Error).message)) {
        return { conflict: true };
      }
      return this.outcome(error, 'dynamodb:UpdateItem', 'writing the row', signal);
    }
  }

  /** Best effort, no deadline: an item left behind is unreachable garbage, not state. */
  async delete(key: Record<string, AttributeValue>): Promise<void> {
    const command = new DeleteItemCommand({ TableName: this.location.tableName, Key: key, ReturnConsumedCapacity: 'TOTAL' });
    await this.send('DeleteItem', command).catch(() => undefined);
  }

  /** CreateTable; `false` when another environment is creating it at this moment. */
  async createTable(input: Omit<CreateTableCommandInput, 'TableName'>, signal?: DeadlineSignal): Promise<boolean> {
    try {
      await this.send('CreateTable', new CreateTableCommand({ TableName: this.location.tableName, ...input }), signal);
      return true;
    } catch (error) {
      if (isNamed(error, 'ResourceInUseException')) return false;
      throw this.translate(error, 'dynamodb:CreateTable', 'creating the table', signal);
    }
  }

  /** The table's status; undefined while DescribeTable does not see it (eventually consistent). */
  async tableStatus(signal?: DeadlineSignal): Promise<string | undefined> {
    try {
      const command = new DescribeTableCommand({ TableName: this.location.tableName });
      const output = await this.send<{ Table?: { TableStatus?: string } }>('DescribeTable', command, signal);
      return output.Table?.TableStatus;
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return undefined;
      throw this.translate(error, 'dynamodb:DescribeTable', 'waiting for the new table', signal);
    }
  }

  private outcome(error: unknown, action: string, doing: string, signal: DeadlineSignal | undefined): ConditionFailed | TableMissing {
    if (isNamed(error, 'ConditionalCheckFailedException')) {
      const item = (error as { Item?: Record<string, AttributeValue> }).Item;
      return item === undefined ? { conflict: true } : { conflict: true, item };
    }
    if (isNamed(error, 'ResourceNotFoundException')) return TABLE_MISSING;
    throw this.translate(error, action, doing, signal);
  }

  private translate(error: unknown, action: string, doing: string, signal: DeadlineSignal | undefined): unknown {
    if (isNamed(error, 'AccessDeniedException')) {
      const policy = policyFor({
        tableName: this.location.tableName,
        tableKey: this.location.tableKey,
        createTable: this.access.createTable,
        ...arnParts(this.access.invokedFunctionArn),
      });
      return new AccessDeniedError(action, policy, { ...this.location, cause: error });
    }
    const writing = doing.startsWith('writing');
    if (signal?.aborted === true || isNamed(error, 'AbortError')) {
      return new DeadlineExceededError(
        `Stopped ${doing} in table "${this.location.tableName}" at the invocation's deadline ` +
          `(getRemainingTimeInMillis() minus deadlineMarginMs): ${this.access.endpoint} had not answered. ` +
          (writing ? 'The change stays pending and is retried with the next write. ' : 'Nothing was changed. ') +
          'If the endpoint is right and only slow, raise the function timeout or lower deadlineMarginMs.',
        { ...this.location, cause: error },
      );
    }
    if (isConnectionFailure(error)) {
      // The callers add the row and what stays pending; the message says where the requests went.
      return Object.assign(
        new Error(
          `${(error as Error).message} (no answer from ${this.access.endpoint}: check that endpoint, the network ` +
            'and the function\'s VPC settings; connectTimeoutMs and requestTimeoutMs bound each attempt)',
          { cause: error },
        ),
        { name: (error as Error).name },
      );
    }
    return error;
  }
}

/** A failure to reach the endpoint or to hear from it (as opposed to an answer that refused the request). */
function isConnectionFailure(error: unknown): boolean {
  const { name, code, message } = (error ?? {}) as { name?: string; code?: string; message?: string };
  return (
    name === 'TimeoutError' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code ?? '') ||
    /socket hang up|ECONNREFUSED|ENOTFOUND/.test(message ?? '')
  );
}

function isNamed(error: unknown, name: string): boolean {
  return (error as { name?: unknown } | null)?.name === name;
}
