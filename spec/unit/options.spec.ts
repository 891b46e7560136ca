import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError, Persistent, PersistentHandler } from '../../src';
import { resolveOptions } from '../../src/persistence/options';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();

class Visits extends PersistentHandler<void, number> {
  @Persistent() visits = 0;
  async handler() {
    return ++this.visits;
  }
}

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    expect(resolveOptions({}, {})).toEqual({
      tableName: 'AWSLambdaPersistence',
      tableKey: undefined,
      keyFieldName: 'key',
      valueFieldName: 'value',
      client: undefined,
      createTable: true,
      billing: { mode: 'PROVISIONED', readCapacityUnits: 1, writeCapacityUnits: 1 },
      maxAttempts: 3,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 3000,
      conflictRetries: 50,
      deadlineMarginMs: 500,
      tableCreationTimeoutMs: 60_000,
      refreshAfterMs: Infinity,
      maxStateBytes: 4 * 1024 * 1024,
      largeFieldBytes: 4096,
      onInvalid: 'fail',
      onFailure: 'discard',
      eventKey: expect.any(Function),
      eventKeyLimit: 32,
      onCorruptRow: 'fail',
    });
  });

  it('takes the function name as the table key in Lambda', () => {
    expect(resolveOptions({}, { AWS_LAMBDA_FUNCTION_NAME: 'orders' }).tableKey).toBe('orders');
  });

  it('lets the environment win over options passed in code', () => {
    const resolved = resolveOptions(
      { tableName: 'FromCode', tableKey: 'code', keyFieldName: 'k', valueFieldName: 'v', createTable: true, refresh: 'cold-start', onFailure: 'discard' },
      {
        PERSISTENCE_TABLE_NAME: 'FromEnv',
        PERSISTENCE_TABLE_KEY: 'env',
        PERSISTENCE_KEY_FIELD_NAME: 'pk',
        PERSISTENCE_VALUE_FIELD_NAME: 'state',
        PERSISTENCE_CREATE_TABLE: 'false',
        PERSISTENCE_BILLING_MODE: 'PAY_PER_REQUEST',
        PERSISTENCE_MAX_ATTEMPTS: '7',
        PERSISTENCE_REFRESH: '1000',
        PERSISTENCE_ON_FAILURE: 'save',
        AWS_LAMBDA_FUNCTION_NAME: 'ignored',
      },
    );
    expect(resolved).toMatchObject({
      tableName: 'FromEnv',
      tableKey: 'env',
      keyFieldName: 'pk',
      valueFieldName: 'state',
      createTable: false,
      billing: { mode: 'PAY_PER_REQUEST' },
      maxAttempts: 7,
      refreshAfterMs: 1000,
      onFailure: 'save',
    });
  });

  it.each([
    [{ tableName: 'ab' }, 'tableName', /3-255 characters/],
    [{ tableName: 'has space' }, 'tableName', /letters, digits/],
    [{ tableKey: '' }, 'tableKey', /non-empty string.*PERSISTENCE_TABLE_KEY/],
    [{ tableKey: 'é'.repeat(993) }, 'tableKey', /1986 bytes.*at most 1984 bytes/],
    [{ keyFieldName: 'revision' }, 'keyFieldName', /bookkeeping/],
    [{ keyFieldName: 'same', valueFieldName: 'same' }, 'valueFieldName', /must differ/],
    [{ valueFieldName: '__proto__' }, 'valueFieldName', /cannot be "__proto__".*another attribute name/],
    [{ client: {} }, 'client', /DynamoDBClient or DynamoDBDocumentClient/],
    [{ createTable: 'yes' }, 'createTable', /true or false/],
    [{ billing: { mode: 'FREE' } }, 'billing', /PROVISIONED.*PAY_PER_REQUEST/],
    [{ billing: { mode: 'PROVISIONED', readCapacityUnits: 0 } }, 'billing', /readCapacityUnits.*at least 1/],
    [{ maxAttempts: 0 }, 'maxAttempts', /at least 1/],
    [{ conflictRetries: 1.5 }, 'conflictRetries', /whole number/],
    [{ refresh: 'sometimes' }, 'refresh', /cold-start.*every-invocation.*maxAgeMs.*whole number of milliseconds, e\.g\. 60000/],
    [{ maxStateBytes: 10 }, 'maxStateBytes', /at least 1024/],
    [{ onCorruptRow: 'ignore' }, 'onCorruptRow', /'fail' or 'start-fresh'/],
    [{ onFailure: 'retry' }, 'onFailure', /Option "onFailure" \(PERSISTENCE_ON_FAILURE\) must be 'discard' or 'save', got "retry"/],
    [{ tablename: 'x' }, 'tablename', /Unknown option "tablename"/],
  ])('refuses %j with an error naming %s and the fix', (options, option, message) => {
    let thrown: unknown;
    try {
      resolveOptions(options as never, {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).option).toBe(option);
    expect((thrown as Error).message).toMatch(message);
  });

  it('refuses a malformed environment variable, naming it', () => {
    expect(() => resolveOptions({}, { PERSISTENCE_CREATE_TABLE: 'maybe' })).toThrow(/PERSISTENCE_CREATE_TABLE must be "true" or "false"/);
    expect(() => resolveOptions({}, { PERSISTENCE_MAX_ATTEMPTS: 'many' })).toThrow(/PERSISTENCE_MAX_ATTEMPTS must be a whole number/);
  });
});

describe('bind() options', () => {
  afterEach(() => {
    delete process.env.PERSISTENCE_TABLE_NAME;
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  });

  it('fails at bind() on bad options, not at the first invocation', () => {
    expect(() => Visits.bind({ tableName: 'x' })).toThrow(ConfigurationError);
  });

  it('without a table key, fails the first invocation saying how to set one, then recovers once given', async () => {
    const client = recordingClient(dynamo.endpoint);
    const handler = Visits.bind({ client });
    const failure = await handler(undefined, {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as Error).message).toMatch(/No table key.*tableKey.*PERSISTENCE_TABLE_KEY/s);
    expect(client.requests).toEqual([]);
    // The context's function name is a key too: the failed cold start is retried.
    await expect(handler(undefined, lambdaContext(uniqueKey()))).resolves.toBe(1);
  });

  it('uses PERSISTENCE_TABLE_NAME over the tableName option', async () => {
    process.env.PERSISTENCE_TABLE_NAME = 'EnvTable';
    const client = recordingClient(dynamo.endpoint);
    const key = uniqueKey();
    await Visits.bind({ client, tableKey: key, tableName: 'CodeTable' })(undefined, lambdaContext());
    expect((await readItem(client, 'EnvTable', key))?.value).toEqual({ M: { visits: { N: '1' } } });
  });

  it('accepts a DynamoDBDocumentClient', async () => {
    const base = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
    const key = uniqueKey();
    const handler = Visits.bind({ client: DynamoDBDocumentClient.from(base), tableKey: key, tableName: 'DocClient' });
    await handler(undefined, lambdaContext());
    await expect(handler(undefined, lambdaContext())).resolves.toBe(2);
    expect((await readItem(base, 'DocClient', key))?.value).toEqual({ M: { visits: { N: '2' } } });
  });

  it('creates its own client from the AWS environment, AWS_ENDPOINT_URL_DYNAMODB included', async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    const key = uniqueKey();
    const handler = Visits.bind({ tableKey: key, tableName: 'DefaultClient' });
    await handler(undefined, lambdaContext());
    await expect(handler(undefined, lambdaContext())).resolves.toBe(2);
    expect((await readItem(recordingClient(dynamo.endpoint), 'DefaultClient', key))?.value).toEqual({ M: { visits: { N: '2' } } });
  });

  it('stores under custom key and value attribute names', async () => {
    const client = recordingClient(dynamo.endpoint);
    const key = uniqueKey();
    await Visits.bind({ client, tableKey: key, tableName: 'CustomNames', keyFieldName: 'pk', valueFieldName: 'state' })(undefined, lambdaContext());
    const item = await readItem(client, 'CustomNames', key, 'pk');
    expect(item?.state).toEqual({ M: { visits: { N: '1' } } });
    expect(Object.keys(item ?? {}).sort()).toEqual(['events', 'format', 'pk', 'revision', 'state', 'updatedAt', 'writeId']);
  });
});
