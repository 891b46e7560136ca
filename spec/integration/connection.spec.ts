/**
 * An endpoint that accepts connections and never answers (a wrong AWS_ENDPOINT_URL_DYNAMODB, a
 * firewall that drops, a VPC without a route): the library's own client gives each attempt
 * connectTimeoutMs / requestTimeoutMs, so the invocation fails soon with an error that names the
 * endpoint and where it came from, instead of waiting for the deadline with advice about timeouts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { DeadlineExceededError, Persistent, PersistentHandler, PersistenceReadError } from '../../src';
import { describeEndpoint } from '../../src/persistence/RowStore';
import { lambdaContext, recordingClient, uniqueKey } from '../support/dynalite';

class Counter extends PersistentHandler<void, number> {
  @Persistent() count = 0;
  async handler() {
    this.count += 1;
    return this.count;
  }
}

let silent: Server;
let endpoint = '';
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => sockets.add(socket)); // accepts, reads, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('an endpoint that never answers', () => {
  it("fails the cold start's read after the request timeouts, naming the endpoint and AWS_ENDPOINT_URL_DYNAMODB", async () => {
    const handler = Counter.bind({ tableName: 'NeverAnswers', tableKey: uniqueKey('silent'), requestTimeoutMs: 200, maxAttempts: 2 });
    const failure = (await handler(undefined, lambdaContext('silent', 30_000)).catch((error: unknown) => error)) as Error;
    expect(failure).toBeInstanceOf(PersistenceReadError);
    expect(failure.message).toContain(`no answer from ${endpoint} (from AWS_ENDPOINT_URL_DYNAMODB)`);
    expect(failure.message).not.toMatch(/stays pending/);
    expect(handler.stats.requests.GetItem).toBe(1);
  });

  it('at the deadline, says that nothing was changed by a read, and names the endpoint', async () => {
    const handler = Counter.bind({ tableName: 'NeverAnswers', tableKey: uniqueKey('silent'), requestTimeoutMs: 60_000, deadlineMarginMs: 200 });
    const failure = (await handler(undefined, lambdaContext('silent', 700)).catch((error: unknown) => error)) as Error;
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect(failure.message).toContain(`${endpoint} (from AWS_ENDPOINT_URL_DYNAMODB) had not answered`);
    expect(failure.message).toContain('Nothing was changed');
    expect(failure.message).not.toMatch(/stays pending/);
  });
});

describe('describeEndpoint', () => {
  it('names the client passed in, the environment variable, or the default endpoint of the region', () => {
    expect(describeEndpoint({ client: recordingClient('http://127.0.0.1:1') }, {})).toBe('the endpoint of the client passed in (the client option)');
    expect(describeEndpoint({ client: undefined }, { AWS_ENDPOINT_URL: 'http://x:1' })).toBe('http://x:1 (from AWS_ENDPOINT_URL)');
    expect(describeEndpoint({ client: undefined }, { AWS_REGION: 'eu-west-1' })).toBe("DynamoDB's endpoint in region eu-west-1 (the SDK's default)");
  });
});
