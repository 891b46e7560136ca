/**
 * Creating a missing table (src/persistence/storage/tableLifecycle.ts) against a real DynamoDB API
 * server: the key and billing the options describe, the library's tag, tolerance of another
 * environment creating it at the same moment, and waiting until ACTIVE.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { TableNotFoundError } from '../../src/errors';
import { resolveOptions } from '../../src/persistence/options';
import { Stats } from '../../src/persistence/Stats';
import { DynamoDBItems } from '../../src/persistence/storage/DynamoDBItems';
import { createTable, missingTableError } from '../../src/persistence/storage/tableLifecycle';
import { recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();

function creator(tableName: string) {
  const client = recordingClient(dynamo.endpoint);
  const location = { tableName, tableKey: 'fn' };
  // What the store sends, beside what the server made of it (dynalite lists no tags given at creation).
  const sent: { input: Record<string, unknown> }[] = [];
  const sender = { send: (command: { input: Record<string, unknown> }, options?: object) => (sent.push(command), client.send(command as never, options)) };
  const items = new DynamoDBItems(sender as never, location, { createTable: true, endpoint: dynamo.endpoint }, new Stats());
  return { client, location, items, sent };
}

describe('Function: createTable', () => {
  it('creates the table with the configured key and 1/1 provisioned capacity, tagged, and returns once it is ACTIVE', async () => {
    const tableName = uniqueKey('Created');
    const { client, location, items, sent } = creator(tableName);
    await createTable(items, resolveOptions({ tableName, keyFieldName: 'pk' }, {}), location);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 1, WriteCapacityUnits: 1 });
    expect(sent[0]?.input).toMatchObject({ TableName: tableName, Tags: [{ Key: 'created-by', Value: 'aws-lambda-persistence' }] });
    // Then DescribeTable until ACTIVE: nothing else.
    expect(sent.slice(1).every((command) => Object.keys(command.input).join() === 'TableName')).toBe(true);
  });

  it('tolerates another environment creating the same table at the same moment', async () => {
    const tableName = uniqueKey('Raced');
    const [a, b] = [creator(tableName), creator(tableName)];
    const options = resolveOptions({ tableName, billing: { mode: 'PAY_PER_REQUEST' } }, {});
    await Promise.all([createTable(a.items, options, a.location), createTable(b.items, options, b.location)]);
    const { Table } = await a.client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST').toBe('PAY_PER_REQUEST');
    expect(Table?.TableStatus).toBe('ACTIVE');
  });

  it('says what to do when the table may not be created', () => {
    const error = missingTableError({ tableName: 'T', tableKey: 'fn' }, 'key');
    expect(error).toBeInstanceOf(TableNotFoundError);
    expect(error.message).toMatch(/Table "T" does not exist and createTable is off\. Create it with the string partition key "key"/);
  });
});
