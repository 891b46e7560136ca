import type { Context } from 'aws-lambda';
import { AccessDeniedError, ConfigurationError, persistentState, withPersistence } from '../../src';
import { persistence } from '../../src/middy';
import { lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';
import { useDynamoProxy } from '../support/dynamoProxy';

const dynamo = useDynalite();
const faults = useDynamoProxy(dynamo);
const TABLE = 'FunctionalTable';

let key = '';
beforeEach(() => {
  key = uniqueKey('functional');
});

const defaults = () => ({ count: 0, lastRun: undefined as Date | undefined, items: [] as string[] });

function options(client = recordingClient(dynamo.endpoint), onFailure: 'save' | 'discard' = 'save') {
  return { client, tableName: TABLE, tableKey: key, onFailure };
}

async function stored() {
  return (await readItem(recordingClient(dynamo.endpoint), TABLE, key))?.value?.M;
}

describe('Function: withPersistence', () => {
  function bind(client = recordingClient(dynamo.endpoint), onFailure: 'save' | 'discard' = 'save') {
    return withPersistence(defaults(), async (event: { add: number; fail?: boolean }, _context, state) => {
      state.count += event.add;
      state.lastRun = new Date(1_000);
      state.items.push(`+${event.add}`);
      if (event.fail) throw new Error('handler failed');
      return { count: state.count };
    }, options(client, onFailure));
  }

  it('hydrates on cold start, writes before it settles, and types state from the defaults', async () => {
    const client = recordingClient(dynamo.endpoint);
    const handler = bind(client);
    await expect(handler({ add: 2 }, lambdaContext())).resolves.toEqual({ count: 2 });
    client.requests.length = 0;
    await expect(handler({ add: 3 }, lambdaContext())).resolves.toEqual({ count: 5 });
    expect(client.requests).toEqual(['UpdateItem']); // the row exists: only the changed keys
    const cold = recordingClient(dynamo.endpoint);
    await expect(bind(cold)({ add: 1 }, lambdaContext())).resolves.toEqual({ count: 6 });
    expect(cold.requests).toEqual(['GetItem', 'UpdateItem']);
    expect(await stored()).toMatchObject({ count: { N: '6' }, items: { L: [{ S: '+2' }, { S: '+3' }, { S: '+1' }] } });
  });

  it("onFailure: 'save' saves the changes of a handler that throws, and rethrows its error", async () => {
    await expect(bind()({ add: 4, fail: true }, lambdaContext())).rejects.toThrow('handler failed');
    expect(await stored()).toMatchObject({ count: { N: '4' } });
  });

  it("onFailure: 'discard': a handler that throws leaves the row and the state as they were", async () => {
    const client = recordingClient(dynamo.endpoint);
    const handler = bind(client, 'discard');
    await expect(handler({ add: 1 }, lambdaContext())).resolves.toEqual({ count: 1 });
    client.requests.length = 0;
    await expect(handler({ add: 4, fail: true }, lambdaContext())).rejects.toThrow('handler failed');
    expect(client.requests).toEqual([]);
    // The failed invocation's += and its in-place push are both gone.
    await expect(handler({ add: 1 }, lambdaContext())).resolves.toEqual({ count: 2 });
    expect(await stored()).toMatchObject({ count: { N: '2' }, items: { L: [{ S: '+1' }, { S: '+1' }] } });
  });

  it('takes the context type the function declares (Context of @types/aws-lambda)', async () => {
    const handler = withPersistence({ count: 0 }, async (_event: unknown, context: Context, state) => {
      state.count += 1;
      return `${context.functionName}:${state.count}`;
    }, options());
    const context = { ...lambdaContext('typed-context'), callbackWaitsForEmptyEventLoop: true } as unknown as Context;
    await expect(handler({}, context)).resolves.toBe('typed-context:1');
  });

  it('seals state: a key that is not in the defaults throws instead of being lost', async () => {
    const handler = withPersistence({ count: 0 }, async (_event: unknown, _context, state) => {
      (state as Record<string, unknown>).cuont = 1;
    }, options());
    await expect(handler({}, lambdaContext())).rejects.toThrow(TypeError);
  });

  it('says what is wrong with the defaults or the handler, at module load', () => {
    expect(() => withPersistence([] as never, async () => undefined)).toThrow(ConfigurationError);
    expect(() => withPersistence(new Date() as never, async () => undefined)).toThrow(/plain object .*got an instance of Date/);
    expect(() => withPersistence({}, undefined as never)).toThrow(/takes the handler function second/);
  });
});

describe('Function: persistentState', () => {
  it('runs begin / update / end, and fail() attaches a failed save to the handler error', async () => {
    const client = recordingClient(faults.endpoint);
    const lifecycle = persistentState(defaults(), options(client));
    const first = await lifecycle.begin(lambdaContext());
    await lifecycle.update({ count: 7, lastRun: new Date(9) });
    expect(first.count).toBe(7);
    expect(await stored()).toMatchObject({ count: { N: '7' }, lastRun: { M: { '@type': { S: 'Date' } } } });
    await lifecycle.end();

    const state = await lifecycle.begin(lambdaContext());
    expect(state).toBe(first);
    state.count += 1;
    const removeFault = faults.proxy.failNext('UpdateItem', 'AccessDeniedException', { message: 'nope' });
    const handlerError = new Error('handler failed');
    const thrown = (await lifecycle.fail(handlerError)) as Error & { persistenceError?: unknown };
    removeFault();
    expect(thrown).toBe(handlerError);
    expect(thrown.persistenceError).toBeInstanceOf(Error);
    // The change stayed dirty and goes out with the next invocation.
    await lifecycle.begin(lambdaContext());
    await lifecycle.end();
    expect(await stored()).toMatchObject({ count: { N: '8' } });
  });

  it('with invocations at once (Managed Instances): begin leaves the others open, each ends by its context', async () => {
    process.env.AWS_LAMBDA_MAX_CONCURRENCY = '4';
    try {
      const lifecycle = persistentState(defaults(), options());
      const first = lambdaContext();
      const second = lambdaContext();
      const state = await lifecycle.begin(first);
      expect(await lifecycle.begin(second)).toBe(state);
      state.count = 1;
      await lifecycle.end(second);
      // The first invocation is still running: its update and end are its own.
      await lifecycle.update({ items: ['first'] }, first);
      await lifecycle.end(first);
      expect(await stored()).toMatchObject({ count: { N: '1' }, items: { L: [{ S: 'first' }] } });
      await expect(lifecycle.end(first)).rejects.toBeInstanceOf(ConfigurationError);
    } finally {
      delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
    }
  });

  it('refuses end() and update() outside an invocation', async () => {
    const lifecycle = persistentState({ n: 0 }, options());
    await expect(lifecycle.end()).rejects.toThrow(/end\(\) was called outside an invocation: call begin\(context\) first/);
    await expect(lifecycle.update({ n: 1 })).rejects.toThrow(ConfigurationError);
  });
});

describe('Function: persistence (middy middleware), driven as middy drives it', () => {
  type Request = { event: unknown; context: ReturnType<typeof lambdaContext> & { state?: { count: number } }; error?: unknown };

  async function invoke(middleware: ReturnType<typeof persistence>, body: (request: Request) => Promise<void>) {
    const request: Request = { event: {}, context: lambdaContext() };
    try {
      await middleware.before(request);
      await body(request);
      await middleware.after(request);
    } catch (error) {
      request.error = error;
      await middleware.onError(request);
      throw request.error;
    }
    return request;
  }

  it('puts the state on context.state and saves it in after and in onError', async () => {
    const middleware = persistence({ count: 0 }, options());
    await invoke(middleware, async (request) => {
      request.context.state!.count += 1;
    });
    expect(await stored()).toEqual({ count: { N: '1' } });
    await expect(
      invoke(middleware, async (request) => {
        request.context.state!.count += 1;
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await stored()).toEqual({ count: { N: '2' } });
  });

  it('saves at the next before when a middleware used after it short-circuited its after', async () => {
    const middleware = persistence({ items: [] as number[] }, options());
    const request = { event: {}, context: lambdaContext() as ReturnType<typeof lambdaContext> & { state?: { items: number[] } } };
    await middleware.before(request);
    // An in-place change, found only by the end-of-invocation check, which middy then skipped.
    request.context.state!.items.push(3);
    expect(await stored()).toBeUndefined();
    const next = { event: {}, context: lambdaContext() };
    await middleware.before(next);
    expect(await stored()).toEqual({ items: { L: [{ N: '3' }] } });
    await middleware.after(next);
  });

  it('does not save twice when the save in after failed; the next invocation retries it', async () => {
    const client = recordingClient(faults.endpoint);
    const middleware = persistence({ count: 0 }, options(client));
    await invoke(middleware, async () => undefined);
    const removeFault = faults.proxy.failNext('PutItem', 'AccessDeniedException', { message: 'nope' });
    client.requests.length = 0;
    const error = await invoke(middleware, async (request) => {
      request.context.state!.count = 5;
    }).catch((e: unknown) => e);
    removeFault();
    expect(error).toBeInstanceOf(AccessDeniedError);
    // The write started by the assignment, and the final flush's retry of it; onError adds none.
    expect(client.requests).toEqual(['PutItem', 'PutItem']);
    await invoke(middleware, async () => undefined);
    expect(await stored()).toEqual({ count: { N: '5' } });
  });
});
