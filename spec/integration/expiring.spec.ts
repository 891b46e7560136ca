import '../../src/class-transformer';
import { ConfigurationError, Expiring, Persistent, PersistentHandler, PersistentMap, withPersistence } from '../../src';
import { lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'ExpiringTable';
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 26, 12);

let key = '';
let now = T0;
beforeEach(() => {
  key = uniqueKey('expiring');
  now = T0;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
});
afterEach(() => jest.restoreAllMocks());

interface Rates {
  eur: number;
}

class RatesHandler extends PersistentHandler<unknown, { eur: number; computed: number }> {
  @Persistent() rates = new Expiring<Rates>();
  computed = 0;

  async handler() {
    const rates = await this.rates.getOrCompute('4h', async () => {
      this.computed += 1;
      return { eur: 1 + now / 1e15 };
    });
    return { eur: rates.eur, computed: this.computed };
  }
}

function environment() {
  const client = recordingClient(dynamo.endpoint);
  const handler = RatesHandler.bind({ client, tableName: TABLE, tableKey: key });
  return { client, invoke: () => handler({}, lambdaContext()) };
}

describe('Class: Expiring', () => {
  it('reads back until it expires and is absent after', () => {
    const value = new Expiring<string>();
    expect(value.value).toBeUndefined();
    expect(value.fresh).toBe(false);
    value.set('hello', '30m');
    expect(value.value).toBe('hello');
    expect(value.expiresAt).toEqual(new Date(T0 + 30 * 60_000));
    now = T0 + 30 * 60_000 - 1;
    expect(value.value).toBe('hello');
    now = T0 + 30 * 60_000;
    expect(value.value).toBeUndefined();
    expect(value.fresh).toBe(false);
    expect(new Expiring('x', 1_000).value).toBe('x');
  });

  it('takes durations in ms or with a unit, and names the option when one is wrong', () => {
    expect(new Expiring(1, '500ms').expiresAt).toEqual(new Date(T0 + 500));
    expect(new Expiring(1, '2s').expiresAt).toEqual(new Date(T0 + 2_000));
    expect(new Expiring(1, '1.5h').expiresAt).toEqual(new Date(T0 + 1.5 * HOUR));
    expect(new Expiring(1, '7d').expiresAt).toEqual(new Date(T0 + 7 * 24 * HOUR));
    expect(() => new Expiring(1, '4 hours' as never)).toThrow(ConfigurationError);
    expect(() => new Expiring(1, -5)).toThrow(/ttl must be a positive number of milliseconds or a string such as '30s'/);
    expect(() => new Expiring(1)).toThrow(/needs a ttl/);
  });

  it('getOrCompute() keeps the old value when compute fails', async () => {
    const value = new Expiring<number>(1, '1h');
    now += 2 * HOUR;
    await expect(value.getOrCompute('1h', () => Promise.reject(new Error('offline')))).rejects.toThrow('offline');
    expect(value.value).toBeUndefined();
    expect(value.expiresAt).toEqual(new Date(T0 + HOUR));
  });
});

describe('Expiring values in a persistent field', () => {
  it('computes once, reuses the value across cold starts until it expires, then computes again', async () => {
    const first = environment();
    await expect(first.invoke()).resolves.toMatchObject({ computed: 1 });
    await expect(first.invoke()).resolves.toMatchObject({ computed: 1 });

    now = T0 + 3 * HOUR;
    const cold = environment();
    await expect(cold.invoke()).resolves.toMatchObject({ computed: 0 });
    expect(cold.client.requests).toEqual(['GetItem']);

    now = T0 + 4 * HOUR;
    const later = environment();
    const result = await later.invoke();
    expect(result.computed).toBe(1);
    expect(later.client.requests).toEqual(['GetItem', 'UpdateItem']);
    await expect(environment().invoke()).resolves.toMatchObject({ computed: 0, eur: result.eur });
  });

  it('stores the expiry beside the value, tagged, in the row', async () => {
    await environment().invoke();
    const item = await readItem(recordingClient(dynamo.endpoint), TABLE, key);
    expect(item?.value?.M?.rates).toEqual({
      M: {
        '@type': { S: 'Expiring' },
        '@value': { M: { value: { M: { eur: { N: String(1 + T0 / 1e15) } } }, expiresAt: { N: String(T0 + 4 * HOUR) } } },
      },
    });
  });
});

class Session {
  user = '';
  since = new Date(0);
  label() {
    return `${this.user} since ${this.since.toISOString()}`;
  }
}

class SessionHandler extends PersistentHandler<unknown, string | undefined> {
  @Persistent({ type: () => Session }) session = new Expiring<Session>();
  async handler() {
    const session = await this.session.getOrCompute('1h', () => Object.assign(new Session(), { user: 'ada', since: new Date(7) }));
    return session instanceof Session ? session.label() : undefined;
  }
}

describe('Expiring values of a declared class', () => {
  it('applies the field\'s type to the value inside: an instance again after a cold start', async () => {
    const bind = () => SessionHandler.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key });
    await expect(bind()({}, lambdaContext())).resolves.toBe('ada since 1970-01-01T00:00:00.007Z');
    await expect(bind()({}, lambdaContext())).resolves.toBe('ada since 1970-01-01T00:00:00.007Z');
    const item = await readItem(recordingClient(dynamo.endpoint), TABLE, key);
    expect(item?.value?.M?.session?.M?.['@type']).toEqual({ S: 'Expiring' });
  });
});

describe('Expiring values with withPersistence and PersistentMap', () => {
  it('works in withPersistence state', async () => {
    let computed = 0;
    const bind = () =>
      withPersistence({ token: new Expiring<string>() }, async (_event: unknown, _context, state) =>
        state.token.getOrCompute('50m', () => `token-${++computed}`),
      { client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key });
    await expect(bind()({}, lambdaContext())).resolves.toBe('token-1');
    await expect(bind()({}, lambdaContext())).resolves.toBe('token-1');
    now += 50 * 60_000;
    await expect(bind()({}, lambdaContext())).resolves.toBe('token-2');
  });

  it('PersistentMap.remember() returns the cached value or computes, stores and returns a fresh one', async () => {
    const open = () => PersistentMap.open({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key });
    let computed = 0;
    const compute = async () => ({ n: ++computed });
    const map = await open();
    await expect(map.remember('rates', '4h', compute)).resolves.toEqual({ n: 1 });
    await expect((await open()).remember('rates', '4h', compute)).resolves.toEqual({ n: 1 });
    now += 4 * HOUR;
    await expect((await open()).remember('rates', '4h', compute)).resolves.toEqual({ n: 2 });
    expect(((await open()).get('rates') as Expiring<unknown>).value).toEqual({ n: 2 });
    await map.set('plain', 1);
    await expect(map.remember('plain', '1h', compute)).rejects.toThrow(/not an Expiring one under "plain"/);
  });
});
