// No import of '../../src/class-transformer' here: jest gives each spec file its own globals, so this
// file sees the library as a handler that never imported it does.
import { DecoratorUsageError, Persistent, PersistentHandler } from '../../src';
import { lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'ClassCodec';

class Point {
  x = 0;
  y = 0;
  length() {
    return Math.hypot(this.x, this.y);
  }
}

class Tracker extends PersistentHandler<{ x: number; y: number }, number | null> {
  @Persistent({ type: () => Point }) last?: Point;
  async handler(event: { x: number; y: number }) {
    const previous = this.last?.length() ?? null;
    this.last = Object.assign(new Point(), event);
    return previous;
  }
}

describe('an instance stored in a field that declares no class', () => {
  class Loose extends PersistentHandler<'user' | 'bytes', void> {
    @Persistent() value: unknown = null;
    async handler(event: 'user' | 'bytes') {
      this.value = event === 'user' ? new Point() : new (class Bytes extends Uint8Array {})(2);
    }
  }

  it('names every step of the fix at once: the type option and, for a class of your own, the class-transformer import', async () => {
    const handler = Loose.bind({ client: recordingClient(dynamo.endpoint), tableKey: uniqueKey('loose'), tableName: TABLE });
    const user = (await handler('user', lambdaContext()).catch((error: unknown) => error)) as Error;
    expect(user.message).toContain('declare the field with @Persistent({ type: () => Point })');
    // The subpath is not imported yet in this file (the next describe does): the same message says to.
    expect(user.message).toContain("import 'aws-lambda-persistence/class-transformer'");
    const bytes = (await handler('bytes', lambdaContext()).catch((error: unknown) => error)) as Error;
    expect(bytes.message).toContain('declare the field with @Persistent({ type: () => Bytes })');
    expect(bytes.message).not.toContain('class-transformer');
  });
});

describe('class instances without aws-lambda-persistence/class-transformer', () => {
  it('fails the invocation with a DecoratorUsageError naming the field and the import, and writes nothing', async () => {
    const tableKey = uniqueKey('no-codec');
    const client = recordingClient(dynamo.endpoint);
    const failure = await Tracker.bind({ client, tableKey, tableName: TABLE })({ x: 3, y: 4 }, lambdaContext()).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DecoratorUsageError);
    expect((failure as DecoratorUsageError).message).toBe(
      'Field "last" holds instances of Point, which are stored and restored through class-transformer: ' +
        "install class-transformer and add import 'aws-lambda-persistence/class-transformer' to the handler's module.",
    );
    expect(client.requests).toEqual([]);
  });

  it('works once the subpath is imported, in any order before the first invocation', async () => {
    const tableKey = uniqueKey('codec');
    await import('../../src/class-transformer');
    const handler = Tracker.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE });
    await expect(handler({ x: 3, y: 4 }, lambdaContext())).resolves.toBeNull();
    const restarted = Tracker.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE });
    await expect(restarted({ x: 1, y: 1 }, lambdaContext())).resolves.toBe(5);
    const stored = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(stored?.last).toEqual({ M: { x: { N: '1' }, y: { N: '1' } } });
  });
});
