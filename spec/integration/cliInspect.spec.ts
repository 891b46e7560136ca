import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Expiring, Persistent, PersistentHandler } from '../../src';
import { bigEnvironment } from '../support/bigState';
import { runCli } from '../support/cli';
import { lambdaContext, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'InspectTable';

class Typed extends PersistentHandler<unknown, void> {
  @Persistent() count = 0;
  @Persistent() lastRun?: Date;
  @Persistent() seen = new Map<string, Date>();
  @Persistent() tags = new Set(['a']);
  @Persistent() total = 0n;
  @Persistent() bytes = new Uint8Array();
  @Persistent() ratio = 0;
  @Persistent() lookalike: Record<string, unknown> = {};
  @Persistent() rate = new Expiring<number>();
  async handler() {
    this.rate = new Expiring(1.25, '1h');
    await this.update({
      count: 3,
      lastRun: new Date('2024-05-01T12:00:00.000Z'),
      seen: new Map([['alice', new Date(0)]]),
      tags: new Set(['a', 'b']),
      total: 12345678901234567890n,
      bytes: new Uint8Array([1, 2, 255]),
      ratio: NaN,
      lookalike: { '@type': 'not a tag' },
    });
  }
}

const inspect = (key: string, ...extra: string[]) => runCli(['inspect', '--function', key, '--table', TABLE, '--endpoint', dynamo.endpoint, ...extra]);

describe('CLI: inspect', () => {
  it('prints the decoded state with Date, Map, Set, BigInt, bytes, NaN and Expiring tagged as in the row', async () => {
    const key = uniqueKey('typed');
    await Typed.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key })({}, lambdaContext());
    const result = await inspect(key);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ table: TABLE, key, format: 1 /* no field in an item of its own */, revision: 1, layout: 'map', size: { items: 1 } });
    expect(Date.parse(report.updatedAt)).not.toBeNaN();
    expect(report.fields).toEqual({
      count: 3,
      lastRun: { '@type': 'Date', '@value': '2024-05-01T12:00:00.000Z' },
      seen: { '@type': 'Map', '@value': [['alice', { '@type': 'Date', '@value': '1970-01-01T00:00:00.000Z' }]] },
      tags: { '@type': 'Set', '@value': ['a', 'b'] },
      total: { '@type': 'BigInt', '@value': '12345678901234567890' },
      bytes: { '@type': 'Uint8Array', '@value': Buffer.from([1, 2, 255]).toString('base64') },
      ratio: { '@type': 'Number', '@value': 'NaN' },
      lookalike: { '@type': 'Object', '@value': { '@type': 'not a tag' } },
      rate: { '@type': 'Expiring', '@value': { value: 1.25, expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
    });
    expect(report.size.state).toBeGreaterThan(100);
    // size.state counts room for the events the row may remember (eventKeyLimit 32: under 1 KB).
    expect(report.size.stored).toBeGreaterThan(report.size.state - 1024);
  });

  it('reads a packed state (over 400 KB) as a cold start would', async () => {
    const key = uniqueKey('packed');
    await bigEnvironment(dynamo.endpoint, TABLE, key).handler({ op: 'text', kb: 1024 });
    const result = await inspect(key);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ layout: 'packed', size: { items: 1 } });
    expect(report.fields.text).toHaveLength(1024 * 1024);
    expect(report.size.state).toBeGreaterThan(1024 * 1024);
    // gzip: the stored row is far smaller than the state.
    expect(report.size.stored).toBeLessThan(100 * 1024);
  });

  it('shows which fields live in items of their own, with their keys and sizes', async () => {
    const key = uniqueKey('fielditems');
    await bigEnvironment(dynamo.endpoint, TABLE, key).handler({ op: 'text', kb: 100 });
    const result = await inspect(key);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ format: 2, layout: 'map', size: { items: 2 } });
    expect(report.fields.text).toHaveLength(100 * 1024);
    expect(report.where.text).toEqual({ stored: 'own item', bytes: 100 * 1024, key: `${key}#field#0#text` });
    for (const [name, where] of Object.entries(report.where as Record<string, { stored: string }>)) {
      if (name !== 'text') expect(where.stored).toBe('row');
    }
  });

  it('reads a state split into part items and counts them', async () => {
    const key = uniqueKey('parts');
    await bigEnvironment(dynamo.endpoint, TABLE, key).handler({ op: 'random', bytes: 1_000_000, marker: 7 });
    const result = await inspect(key);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ layout: 'parts', size: { items: 5 } });
    expect(report.fields.markers).toEqual(Array(100).fill(7));
    expect(Buffer.from(report.fields.blob['@value'], 'base64')).toHaveLength(1_000_000);
    expect(report.size.stored).toBeGreaterThan(1_000_000);
  });

  it('exits 1 naming the key when the function has no row, and the table when it does not exist', async () => {
    const missingRow = await inspect('never-ran');
    expect(missingRow).toMatchObject({ code: 1, stdout: '' });
    expect(missingRow.stderr).toContain(`No state stored for "never-ran" in table "${TABLE}"`);
    const missingTable = await runCli(['inspect', '--function', 'f', '--table', 'NoSuchTable', '--endpoint', dynamo.endpoint]);
    expect(missingTable).toMatchObject({ code: 1, stdout: '' });
    expect(missingTable.stderr).toContain(`There is no table "NoSuchTable" at ${dynamo.endpoint}`);
  });

  it('names --value-field, --key-field or --endpoint when one of them is wrong, instead of printing an empty state', async () => {
    const key = uniqueKey('inspect-options');
    await Typed.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key })({}, lambdaContext());
    const value = await inspect(key, '--value-field', 'state');
    expect(value).toMatchObject({ code: 2, stdout: '' });
    expect(value.stderr).toMatch(/^aws-lambda-persistence: Row ".*" has no attribute "state" .*--value-field/);
    const keyField = await inspect(key, '--key-field', 'id');
    expect(keyField).toMatchObject({ code: 1, stdout: '' });
    expect(keyField.stderr).toMatch(/^aws-lambda-persistence: .*pass the table's key attribute with --key-field/);
    const unreachable = await runCli(['inspect', '--function', key, '--endpoint', 'http://127.0.0.1:1']);
    expect(unreachable).toMatchObject({ code: 1, stdout: '' });
    expect(unreachable.stderr).toMatch(/^aws-lambda-persistence: Cannot reach DynamoDB .*check --endpoint/);
  });

  it('shows a field this version cannot decode as "@error" and exits 1', async () => {
    const key = uniqueKey('future');
    const future = { M: { '@type': { S: 'Temporal.Instant' }, '@value': { S: 'x' } } };
    await recordingClient(dynamo.endpoint).send(
      new PutItemCommand({ TableName: TABLE, Item: { key: { S: key }, value: { M: { ok: { N: '1' }, later: future } }, revision: { N: '1' } } }),
    );
    const result = await inspect(key);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).fields).toEqual({ ok: 1, later: { '@error': expect.stringContaining('unknown tag "Temporal.Instant"') } });
    expect(result.stderr).toContain('Fields later cannot be decoded');
  });

  it('takes the table from PERSISTENCE_TABLE_NAME when --table is not given', async () => {
    const key = uniqueKey('env');
    await bigEnvironment(dynamo.endpoint, TABLE, key).handler({ op: 'small' });
    const result = await runCli(['inspect', '--function', key, '--endpoint', dynamo.endpoint], { env: { ...process.env, PERSISTENCE_TABLE_NAME: TABLE } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).fields.small).toBe(1);
  });
});
