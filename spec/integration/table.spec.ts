import { DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { AccessDeniedError, Persistent, PersistentHandler, TableNotFoundError } from '../../src';
import { lambdaContext, recordingClient, useDynalite } from '../support/dynalite';
import { useDynamoProxy } from '../support/dynamoProxy';

const dynamo = useDynalite();
const faults = useDynamoProxy(dynamo);

class Note extends PersistentHandler<string, string> {
  @Persistent() note = '';
  async handler(event: string) {
    this.note = event;
    return this.note;
  }
}

let tableCount = 0;
const newTable = () => `Table${++tableCount}_${process.pid}`;

describe('Table lifecycle', () => {
  it('creates a missing table with 1 RCU / 1 WCU and a tag, waits for ACTIVE, then writes', async () => {
    const tableName = newTable();
    const client = recordingClient(dynamo.endpoint);
    const created: unknown[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'CreateTableCommand') created.push(args.input);
        return next(args);
      },
      { step: 'initialize' },
    );
    await expect(Note.bind({ client, tableName, tableKey: 'fn' })('first', lambdaContext())).resolves.toBe('first');
    expect(client.requests[0]).toBe('GetItem');
    expect(client.requests).toContain('CreateTable');
    expect(client.requests[client.requests.length - 1]).toBe('PutItem');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'key', KeyType: 'HASH' }]);
    expect(Table?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 1, WriteCapacityUnits: 1 });
    // dynalite accepts Tags on CreateTable but does not keep them (ListTagsOfResource answers []),
    // so the request is what can be checked here.
    expect(created).toEqual([expect.objectContaining({ Tags: [{ Key: 'created-by', Value: 'aws-lambda-persistence' }] })]);
  });

  it('creates an on-demand table with a custom key attribute when asked', async () => {
    const tableName = newTable();
    const client = recordingClient(dynamo.endpoint);
    await Note.bind({ client, tableName, tableKey: 'fn', keyFieldName: 'pk', billing: { mode: 'PAY_PER_REQUEST' } })('x', lambdaContext());
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
  });

  it('tolerates several environments creating the same table at the same moment', async () => {
    const tableName = newTable();
    const environments = Array.from({ length: 4 }, (_, i) =>
      Note.bind({ client: recordingClient(dynamo.endpoint), tableName, tableKey: `fn-${i}` }),
    );
    await expect(Promise.all(environments.map((handler, i) => handler(`env ${i}`, lambdaContext())))).resolves.toEqual([
      'env 0',
      'env 1',
      'env 2',
      'env 3',
    ]);
  });

  it('with createTable off, a missing table is a TableNotFoundError that says how to fix it', async () => {
    const tableName = newTable();
    const client = recordingClient(dynamo.endpoint);
    const failure = await Note.bind({ client, tableName, tableKey: 'fn', createTable: false })('x', lambdaContext()).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TableNotFoundError);
    expect((failure as Error).message).toMatch(new RegExp(`${tableName}.*does not exist.*createTable`));
    expect(client.requests).toEqual(['GetItem']);
  });

  it('with createTable off, a table deleted while the environment is warm fails the next write clearly', async () => {
    const tableName = newTable();
    const client = recordingClient(dynamo.endpoint);
    await Note.bind({ client, tableName, tableKey: 'fn' })('created', lambdaContext());
    const handler = Note.bind({ client, tableName, tableKey: 'fn', createTable: false });
    await handler('warm', lambdaContext());
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const failure = await handler('after delete', lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TableNotFoundError);
    expect((failure as Error).message).toMatch(/does not exist and createTable is off/);
  });

  it('recreates a table deleted while the environment is warm, keeping the state it knew', async () => {
    const tableName = newTable();
    const client = recordingClient(dynamo.endpoint);
    const handler = Note.bind({ client, tableName, tableKey: 'fn' });
    await handler('before', lambdaContext());
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(handler('after', lambdaContext())).resolves.toBe('after');
    class Reader extends Note {
      override async handler() {
        return this.note;
      }
    }
    await expect(Reader.bind({ client: recordingClient(dynamo.endpoint), tableName, tableKey: 'fn' })('', lambdaContext())).resolves.toBe('after');
  });
});

describe('AccessDenied', () => {
  it.each(['GetItem', 'PutItem', 'CreateTable', 'DescribeTable'])('on %s names the action and prints the policy to attach', async (operation) => {
    const creates = operation === 'CreateTable' || operation === 'DescribeTable';
    const tableName = creates ? newTable() : 'Existing';
    if (!creates) await Note.bind({ client: recordingClient(dynamo.endpoint), tableName, tableKey: 'seed' })('x', lambdaContext());
    const client = recordingClient(faults.endpoint);
    faults.proxy.failNext(operation, 'AccessDeniedException', { message: `User is not authorized to perform: dynamodb:${operation}` });
    const failure = await Note.bind({ client, tableName, tableKey: 'my-fn' })('x', lambdaContext('my-fn')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AccessDeniedError);
    const denied = failure as AccessDeniedError;
    expect(denied.action).toBe(`dynamodb:${operation}`);
    expect(denied.message).toContain(`may not call dynamodb:${operation} on table "${tableName}"`);
    expect(denied.message).toContain('"dynamodb:LeadingKeys"');
    expect(denied.policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadWriteOwnRow',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          Resource: `arn:aws:dynamodb:us-east-1:123456789012:table/${tableName}`,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['my-fn', 'my-fn#part#*', 'my-fn#field#*'] } },
        },
        {
          Sid: 'CreateTableOnFirstUse',
          Effect: 'Allow',
          Action: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:TagResource'],
          Resource: `arn:aws:dynamodb:us-east-1:123456789012:table/${tableName}`,
        },
      ],
    });
    expect(JSON.parse(denied.message.slice(denied.message.indexOf('{')))).toEqual(denied.policy);
  });

  it("names the function's own partition (AWS China, GovCloud) in the policy", async () => {
    await Note.bind({ client: recordingClient(dynamo.endpoint), tableName: 'Existing', tableKey: 'seed' })('x', lambdaContext());
    const client = recordingClient(faults.endpoint);
    faults.proxy.failNext('GetItem', 'AccessDeniedException', { message: 'not authorized' });
    const context = { ...lambdaContext('cn-fn'), invokedFunctionArn: 'arn:aws-cn:lambda:cn-north-1:123456789012:function:cn-fn' };
    const failure = (await Note.bind({ client, tableName: 'Existing', tableKey: 'cn-fn' })('x', context).catch((error: unknown) => error)) as AccessDeniedError;
    expect(JSON.stringify(failure.policy)).toContain('"arn:aws-cn:dynamodb:cn-north-1:123456789012:table/Existing"');
  });
});
