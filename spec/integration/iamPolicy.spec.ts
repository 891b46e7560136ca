/**
 * The generated IAM policy allows every request the library sends, and only for the function's own
 * keys: dynalite and moto check no IAM, a user's role does. Every command the store sends in the
 * scenarios below (table creation, cold start, small and large writes, replaced parts, a write of
 * changes) is recorded with the partition key it touches and checked against policyFor() as IAM
 * would: the action listed, the table's ARN, and `dynamodb:LeadingKeys` matching.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomFillSync } from 'node:crypto';
import { Persistent, PersistentHandler, policyFor } from '../../src';
import { resolveOptions } from '../../src/persistence/options';
import { DynamoDBRowStore, newWriteId } from '../../src/persistence/RowStore';
import { SizeCache } from '../../src/persistence/storage/sizes';
import { lambdaContext, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();

interface Sent {
  readonly action: string;
  /** The partition key of the item the request touches; undefined for table-level requests. */
  readonly key: string | undefined;
}

/** A client that records each request's action and the partition key it touches. */
function auditedClient(): DynamoDBClient & { sent: Sent[] } {
  const client = recordingClient(dynamo.endpoint) as unknown as DynamoDBClient & { sent: Sent[] };
  client.sent = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      const input = args.input as {
        Key?: Record<string, { S?: string }>;
        Item?: Record<string, { S?: string }>;
        RequestItems?: Record<string, { Keys?: Record<string, { S?: string }>[] }>;
      };
      const action = `dynamodb:${String(context.commandName).replace(/Command$/, '')}`;
      // A batch touches every key it names: IAM evaluates LeadingKeys over all of them.
      if (input.RequestItems !== undefined) {
        for (const request of Object.values(input.RequestItems)) for (const key of request.Keys ?? []) client.sent.push({ action, key: key.key?.S });
      } else client.sent.push({ action, key: (input.Key ?? input.Item)?.key?.S });
      return next(args);
    },
    { step: 'initialize', name: 'auditRequests' },
  );
  return client;
}

interface Statement {
  Action: string[];
  Resource: string;
  Condition?: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string[] } };
}

/** Whether `policy` allows `sent` on `tableArn`, by IAM's rules for the statements policyFor writes. */
function allows(policy: { Statement: Statement[] }, tableArn: string, sent: Sent): boolean {
  return policy.Statement.some((statement) => {
    if (!statement.Action.includes(sent.action) || statement.Resource !== tableArn) return false;
    const patterns = statement.Condition?.['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
    if (patterns === undefined) return true;
    // ForAllValues over an empty set is true; every request the store sends names its item's key.
    if (sent.key === undefined) return true;
    return patterns.some((pattern) => new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`).test(sent.key!));
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

class Large extends PersistentHandler<{ size: number }, number> {
  @Persistent() blob = new Uint8Array();
  @Persistent() small = 0;
  async handler(event: { size: number }) {
    // Random bytes: gzip cannot shrink them, so a large blob really is large once packed.
    this.blob = randomFillSync(new Uint8Array(event.size));
    this.small += 1;
    return this.small;
  }
}

describe('policyFor: every request the store sends is allowed, for the function\'s own keys only', () => {
  it('covers table creation, cold start, small, packed and split writes, replaced parts, field items and a write of changes', async () => {
    const tableName = `Iam${uniqueKey('t').replace(/[^A-Za-z0-9]/g, '')}`;
    const tableKey = uniqueKey('iam-fn');
    const client = auditedClient();
    const handler = Large.bind({ client, tableName, tableKey });
    await handler({ size: 10 }, lambdaContext()); // creates the table, reads, writes a small row
    await handler({ size: 100 * 1024 }, lambdaContext()); // a large field: its own item
    // A cold start reads the row, then the field's item with a BatchGetItem.
    const cold = new DynamoDBRowStore(client, resolveOptions({ tableName, tableKey }, {}), tableKey, new SizeCache());
    expect(Object.keys((await cold.get()) as object)).toContain('fields');
    await handler({ size: 300 * 1024 }, lambdaContext()); // over 350 KB as base64: the state packed, or split
    await handler({ size: 1500 * 1024 }, lambdaContext()); // split into part items
    await handler({ size: 1600 * 1024 }, lambdaContext()); // new parts; the replaced ones deleted
    await handler({ size: 10 }, lambdaContext()); // back to a small row; the last parts deleted
    const store = new DynamoDBRowStore(client, resolveOptions({ tableName, tableKey }, {}), tableKey, new SizeCache());
    const row = await store.get();
    expect(row).toMatchObject({ layout: 'map' });
    const add = new Map([['small', { kind: 'add' as const, delta: { N: '1' }, from: { N: '0' } }]]);
    await expect(store.update(add, { small: { N: '6' } }, 0, newWriteId())).resolves.toMatchObject({ status: 'written' });

    const actions = [...new Set(client.sent.map((sent) => sent.action))].sort();
    expect(actions).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:CreateTable',
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    const policy = policyFor({ tableName, tableKey, createTable: true, region: 'us-east-1', account: '123456789012' }) as {
      Statement: Statement[];
    };
    const arn = `arn:aws:dynamodb:us-east-1:123456789012:table/${tableName}`;
    expect(client.sent.filter((sent) => !allows(policy, arn, sent))).toEqual([]);
    // Item requests name a key, and only this function's keys.
    const itemRequests = client.sent.filter((sent) => !/CreateTable|DescribeTable/.test(sent.action));
    expect(itemRequests.filter((sent) => sent.key === undefined)).toEqual([]);
    // The same requests from another function's policy are denied: LeadingKeys confines them.
    const other = policyFor({ tableName, tableKey: 'another-function', createTable: true, region: 'us-east-1', account: '123456789012' });
    expect(itemRequests.filter((sent) => allows(other as { Statement: Statement[] }, arn, sent))).toEqual([]);
    // Without createTable, the table-level actions are not granted.
    const noCreate = policyFor({ tableName, tableKey, createTable: false, region: 'us-east-1', account: '123456789012' });
    expect(client.sent.filter((sent) => !allows(noCreate as { Statement: Statement[] }, arn, sent)).map((sent) => sent.action).sort()).toEqual([
      'dynamodb:CreateTable',
      ...client.sent.filter((sent) => sent.action === 'dynamodb:DescribeTable').map(() => 'dynamodb:DescribeTable'),
    ]);
  });
});
