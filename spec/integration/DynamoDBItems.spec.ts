/**
 * The SDK adapter (src/persistence/storage/DynamoDBItems.ts) against a real DynamoDB API server:
 * failures become outcomes (a failed condition, a missing table, an item too large) or the library's
 * errors (no permission: the policy to attach), and every request is counted with its capacity.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { AccessDeniedError } from '../../src/errors';
import { Stats } from '../../src/persistence/Stats';
import { DynamoDBItems, TABLE_MISSING, TOO_LARGE } from '../../src/persistence/storage/DynamoDBItems';
import { recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'ItemsTable';

function itemsOver(tableName = TABLE, client = recordingClient(dynamo.endpoint)) {
  const stats = new Stats();
  const items = new DynamoDBItems(client, { tableName, tableKey: 'fn' }, { createTable: true, endpoint: dynamo.endpoint }, stats);
  return { items, stats, client };
}

describe('Class: DynamoDBItems', () => {
  beforeAll(async () => {
    await recordingClient(dynamo.endpoint).send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const { items } = itemsOver();
    for (let i = 0; i < 100 && (await items.tableStatus()) !== 'ACTIVE'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('answers a missing table as TABLE_MISSING, for reads and writes alike', async () => {
    const { items } = itemsOver('NoSuchTable');
    await expect(items.get({ key: { S: 'x' } })).resolves.toBe(TABLE_MISSING);
    await expect(items.put({ Item: { key: { S: 'x' } } })).resolves.toBe(TABLE_MISSING);
  });

  it('answers a failed condition as a conflict, and counts the request', async () => {
    const { items, stats } = itemsOver();
    const key = { key: { S: uniqueKey('cond') } };
    await expect(items.put({ Item: { ...key, n: { N: '1' } } })).resolves.toBeUndefined();
    const refused = await items.put({ Item: { ...key, n: { N: '2' } }, ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': 'key' } });
    expect(refused).toMatchObject({ conflict: true });
    expect(stats.requests.PutItem).toBe(2);
    await expect(items.get(key)).resolves.toEqual({ ...key, n: { N: '1' } });
    expect(stats.requests.GetItem).toBe(1);
    expect(stats.readUnits).toBeGreaterThan(0);
  });

  it('answers an UpdateItem that would pass the item limit as TOO_LARGE', async () => {
    const { items } = itemsOver();
    const key = { key: { S: uniqueKey('large') } };
    await items.put({ Item: { ...key, a: { S: 'x'.repeat(300 * 1024) } } });
    const outcome = await items.update({ Key: key, UpdateExpression: 'SET #b = :b', ExpressionAttributeNames: { '#b': 'b' }, ExpressionAttributeValues: { ':b': { S: 'y'.repeat(200 * 1024) } } });
    expect(outcome).toBe(TOO_LARGE);
  });

  it('turns AccessDenied into an AccessDeniedError naming the action and the policy to attach', async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const { items } = itemsOver(TABLE, Object.assign(recordingClient(dynamo.endpoint), { send: async () => Promise.reject(denied) }) as never);
    const error = await items.get({ key: { S: 'x' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('dynamodb:GetItem');
    expect(JSON.stringify((error as AccessDeniedError).policy)).toContain('dynamodb:UpdateItem');
  });
});
