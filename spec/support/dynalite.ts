import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

/** A dynalite server on 127.0.0.1 and a free port, in memory. */
export interface LocalDynamo {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * The DynamoDB implementation the tests run against: dynalite, started here with short table-state
 * delays, or, when TEST_DYNAMODB_ENDPOINT is set (`npm run test:moto`), a server started outside.
 */
export async function startDynalite(): Promise<LocalDynamo> {
  const external = process.env.TEST_DYNAMODB_ENDPOINT;
  if (external) return { endpoint: external, close: async () => undefined };
  const server = dynalite({ createTableMs: 20, deleteTableMs: 20, updateTableMs: 20 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A client for `endpoint` that records the name of every command it sends (e.g. `GetItemCommand`). */
export function recordingClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient & { requests: string[] } {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: options.maxAttempts ?? 3,
  }) as DynamoDBClient & { requests: string[] };
  client.requests = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      client.requests.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    // The deserialize step runs once per HTTP attempt, after the retry middleware: retries count too.
    { step: 'deserialize', name: 'recordRequests' },
  );
  return client;
}

/** The raw stored item of `key`, read directly. */
export async function readItem(client: DynamoDBClient, tableName: string, key: string, keyField = 'key'): Promise<Record<string, AttributeValue> | undefined> {
  const output = await client.send(new GetItemCommand({ TableName: tableName, Key: { [keyField]: { S: key } }, ConsistentRead: true }));
  return output.Item;
}

let counter = 0;
/** A table key unique within the test run. */
export function uniqueKey(prefix = 'fn'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** A minimal Lambda context. */
export function lambdaContext(functionName = 'test-function', remainingMs = 30_000) {
  const deadline = Date.now() + remainingMs;
  return {
    functionName,
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

/** Starts dynalite before the file's tests and stops it after them. */
export function useDynalite(): { readonly endpoint: string } {
  let server: LocalDynamo | undefined;
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(() => server?.close());
  return {
    get endpoint(): string {
      if (server === undefined) throw new Error('dynalite is not running: use the endpoint inside tests or hooks');
      return server.endpoint;
    },
  };
}

/**
 * The GetItem a conflicting write needs to re-read the row: none where the server returns the
 * current item with the failed condition (DynamoDB, moto), one where it ignores
 * ReturnValuesOnConditionCheckFailure (dynalite).
 */
export const conflictReread: string[] = process.env.TEST_DYNAMODB_IMPLEMENTATION === 'moto' ? [] : ['GetItem'];

/**
 * Whether the server applies concurrent writes of one item one after the other, as DynamoDB does.
 * dynalite does; moto 5.2 does not: 80 raw `SET n = n + 1` UpdateItems from 8 clients at once left
 * n at 79, and conditional writes at once can both pass (measured 2026-11-29,
 * docs/dynamodb-implementations.md).
 */
export const isolatesConcurrentWrites = process.env.TEST_DYNAMODB_IMPLEMENTATION !== 'moto';

/**
 * Runs `tasks` at the same moment where the server isolates concurrent writes, else one after the
 * other: the environments' copies are just as stale either way, so merges and conflicts are still
 * exercised, and exact results can be asserted on both servers.
 */
export async function atOnce<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  if (isolatesConcurrentWrites) return Promise.all(tasks.map((task) => task()));
  const results: T[] = [];
  for (const task of tasks) results.push(await task());
  return results;
}
