import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptRowError, Persistent, PersistentHandler, sum } from '../../src';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();

const TABLE = 'StorageFormat';

class Documented extends PersistentHandler<void, unknown> {
  @Persistent() count = 0;
  @Persistent() lastRun?: Date;
  @Persistent() seen = new Map<string, number>();
  @Persistent() tags = new Set<string>();
  @Persistent() big = 0n;
  @Persistent() settings: Record<string, string> = {};
  async handler(): Promise<unknown> {
    await this.update({
      count: 3,
      lastRun: new Date('2026-11-26T12:00:00.000Z'),
      seen: new Map([['alice', 2]]),
      tags: new Set(['a']),
      big: 10n,
      settings: { theme: 'dark', '@type': 'mine' },
    });
    return undefined;
  }
}

describe('docs/storage-format.md', () => {
  it('shows exactly the item the library writes', async () => {
    const page = readFileSync(join(__dirname, '../..', 'docs', 'storage-format.md'), 'utf8');
    const documented = jsonBlocks(page).find((block) => block.value?.M?.settings !== undefined)!;
    const client = recordingClient(dynamo.endpoint);
    await Documented.bind({ client, tableKey: 'my-function', tableName: TABLE })(undefined, lambdaContext());
    const item = await readItem(client, TABLE, 'my-function');
    expect(item?.value).toEqual(documented.value);
    expect(item?.format).toEqual(documented.format);
    expect(Object.keys(item ?? {}).sort()).toEqual(Object.keys(documented).sort());
  });

  it('shows exactly the row and the slot item of a field in an item of its own', async () => {
    const page = readFileSync(join(__dirname, '../..', 'docs', 'storage-format.md'), 'utf8');
    const blocks = jsonBlocks(page);
    const slot = blocks.find((block) => block.field !== undefined)!;
    const row = blocks.find((block) => block.items !== undefined)!;
    class Report extends PersistentHandler<string, unknown> {
      @Persistent({ merge: sum }) count = 0;
      @Persistent() tag = '';
      @Persistent() report = '';
      async handler(letter: string) {
        this.count += 1;
        this.tag = 'weekly';
        this.report = letter.repeat(102_400);
        return undefined;
      }
    }
    const client = recordingClient(dynamo.endpoint);
    const handler = Report.bind({ client, tableKey: 'my-function', tableName: `${TABLE}Items` });
    await handler('a', lambdaContext());
    await handler('b', lambdaContext());
    const stored = (await readItem(client, `${TABLE}Items`, 'my-function'))!;
    expect(Object.keys(stored).sort()).toEqual(Object.keys(row).sort());
    expect(Object.keys(stored.value!.M!).sort()).toEqual(Object.keys(row.value.M).sort());
    expect(stored.format).toEqual(row.format);
    expect(Object.keys(stored.items!.M!.report!.M!).sort()).toEqual(Object.keys(row.items.M.report.M).sort());
    expect(stored.items!.M!.report!.M!.slot).toEqual(row.items.M.report.M.slot);
    expect(stored.items!.M!.report!.M!.size).toEqual(row.items.M.report.M.size);
    const item = (await readItem(client, `${TABLE}Items`, slot.key.S))!;
    expect(Object.keys(item).sort()).toEqual(Object.keys(slot).sort());
    expect(item.field).toEqual(slot.field);
    expect(item.writeId).toEqual(stored.items!.M!.report!.M!.writeId);
    expect(item.value?.S).toHaveLength(102_400);
  });
});

/** The ```json blocks of a page, parsed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function jsonBlocks(page: string): any[] {
  return [...page.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]!));
}

describe('rows this library did not write', () => {
  class Reader extends PersistentHandler<void, unknown> {
    @Persistent() anything: unknown;
    async handler() {
      return this.anything;
    }
  }
  const readRow = async (item: Record<string, unknown>) => {
    const key = uniqueKey('foreign');
    const client = recordingClient(dynamo.endpoint);
    // Make sure the table exists, then plant the row.
    await Reader.bind({ client, tableKey: uniqueKey(), tableName: TABLE })(undefined, lambdaContext());
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { key: { S: key }, ...item } as never }));
    const outcome = await Reader.bind({ client, tableKey: key, tableName: TABLE })(undefined, lambdaContext()).catch((e: unknown) => e);
    const after = await readItem(client, TABLE, key);
    return { outcome, after, key };
  };

  it.each([
    ['a string value', { value: { S: 'hello' } }, /holds a S in attribute "value", not the map of fields/],
    ['a binary blob (a pickle of the Python package)', { value: { B: new Uint8Array([0x80, 4, 0x95]) } }, /holds a B in attribute "value"/],
    ['a newer format', { value: { M: {} }, format: { N: '99' } }, /storage format 99.*Upgrade the package/],
    ['an unknown tag', { value: { M: { anything: { M: { '@type': { S: 'Temporal' }, '@value': { S: 'x' } } } } } }, /field "anything" at anything: unknown tag "Temporal"/],
  ])('refuses %s with a CorruptRowError naming table, key and problem, and leaves the row alone', async (_name, item, message) => {
    const { outcome: failure, after, key } = await readRow(item);
    expect(failure).toBeInstanceOf(CorruptRowError);
    expect((failure as Error).message).toMatch(message);
    expect((failure as Error).message).toContain(`"${key}" of table "${TABLE}"`);
    expect((failure as CorruptRowError).tableKey).toBe(key);
    expect(after).toEqual({ key: { S: key }, ...item });
  });

  describe("with onCorruptRow: 'start-fresh'", () => {
    class Fresh extends PersistentHandler<string, unknown> {
      @Persistent() note = 'initial';
      @Persistent() other = 'kept?';
      async handler(event: string) {
        const before = { note: this.note, other: this.other };
        if (event) this.note = event;
        return before;
      }
    }
    const plantAndRun = async (item: Record<string, unknown>) => {
      const key = uniqueKey('fresh');
      const client = recordingClient(dynamo.endpoint);
      await Fresh.bind({ client, tableKey: uniqueKey(), tableName: TABLE })('', lambdaContext());
      await client.send(new PutItemCommand({ TableName: TABLE, Item: { key: { S: key }, ...item } as never }));
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const seen = await Fresh.bind({ client, tableKey: key, tableName: TABLE, onCorruptRow: 'start-fresh' })('written', lambdaContext());
        const warnings = emitWarning.mock.calls
          .filter(([, options]) => (options as { code?: string } | undefined)?.code === 'AWS_LAMBDA_PERSISTENCE_START_FRESH')
          .map(([message]) => String(message));
        return { seen, warnings, after: await readItem(client, TABLE, key) };
      } finally {
        emitWarning.mockRestore();
      }
    };

    it('starts from the initializers with a warning, and the next write replaces the foreign row', async () => {
      const { seen, warnings, after } = await plantAndRun({ value: { B: new Uint8Array([0x80, 4]) } });
      expect(seen).toEqual({ note: 'initial', other: 'kept?' });
      expect(warnings).toEqual([expect.stringMatching(/holds a B in attribute "value".*Starting fresh/s)]);
      expect(after?.value).toEqual({ M: { note: { S: 'written' } } });
    });

    it('drops only an undecodable field and keeps the others', async () => {
      const { seen, warnings, after } = await plantAndRun({
        value: { M: { note: { M: { '@type': { S: 'Temporal' }, '@value': { S: 'x' } } }, other: { S: 'stored' } } },
      });
      expect(seen).toEqual({ note: 'initial', other: 'stored' });
      expect(warnings).toEqual([expect.stringMatching(/field "note".*unknown tag "Temporal".*Starting fresh/s)]);
      expect(after?.value).toEqual({ M: { note: { S: 'written' }, other: { S: 'stored' } } });
    });
  });

  it('reads a row written by hand without bookkeeping attributes', async () => {
    const { outcome } = await readRow({ value: { M: { anything: { S: 'hand-written' } } } });
    expect(outcome).toBe('hand-written');
  });
});
