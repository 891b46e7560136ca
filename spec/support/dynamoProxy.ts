/**
 * The one fault injector of the specs: an HTTP proxy between the library and DynamoDB (dynalite or
 * moto) that lets a test act on each request at the two points that matter — before it reaches the
 * server (delay it, answer with a DynamoDB error, drop the connection: never applied) and after the
 * server applied it (hold the answer, or drop it: applied, answer lost). Faults look to the SDK
 * exactly as DynamoDB's would, retries included.
 *
 * ```ts
 * const proxy = await startDynamoProxy(dynamo.endpoint);
 * proxy.failNext('PutItem', 'InternalServerError', { times: 1 });
 * const client = recordingClient(proxy.endpoint);
 * ```
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  /** The DynamoDB operation, e.g. `PutItem`. */
  readonly operation: string;
  /** The request body (DynamoDB JSON). */
  readonly body: Record<string, unknown>;
  /** The partition key value (attribute `key`) of the item the request names, if any. */
  readonly key: string | undefined;
}

/** A DynamoDB error answer: `type` is the exception's name, e.g. `ThrottlingException`. */
export interface ErrorAnswer {
  readonly type: string;
  readonly status?: number;
  readonly message?: string;
}

/** What to do with a request before it reaches the server. */
export type BeforeServer = void | 'forward' | 'drop' | { readonly delayMs: number } | { readonly error: ErrorAnswer };

export interface ProxyHooks {
  /** Before the request reaches the server: forward (default), delay, answer an error, or drop (never applied). */
  beforeServer?(request: ProxiedRequest): BeforeServer | Promise<BeforeServer>;
  /** The server applied it: hold the answer (await), or drop it (applied, answer lost). */
  afterServer?(request: ProxiedRequest, status: number): void | 'drop' | Promise<void | 'drop'>;
}

export interface DynamoProxy {
  readonly endpoint: string;
  /** Every request seen, in arrival order. */
  readonly requests: ProxiedRequest[];
  hooks: ProxyHooks;
  /**
   * Answers the next `times` requests of `operation` (every one by default) with a DynamoDB error
   * named `type` (server errors, `InternalServerError` and `ServiceUnavailable`, with a 5xx status).
   * Returns a function that stops it.
   */
  failNext(operation: string, type: string, options?: { times?: number; message?: string }): () => void;
  /** Clears faults, hooks and the requests seen. */
  reset(): void;
  close(): Promise<void>;
}

const SERVER_ERRORS: Record<string, number> = { InternalServerError: 500, ServiceUnavailable: 503 };

export async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const failures: { operation: string; error: ErrorAnswer; left: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const proxy: DynamoProxy = {
    endpoint: '',
    requests,
    hooks: {},
    failNext(operation, type, options = {}) {
      const failure = { operation, error: { type, ...(options.message && { message: options.message }) }, left: options.times ?? Infinity };
      failures.push(failure);
      return () => {
        failure.left = 0;
      };
    },
    reset() {
      failures.length = 0;
      requests.length = 0;
      proxy.hooks = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const forward = (incoming: http.IncomingMessage, raw: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined>((resolve) => {
      const outgoing = http.request(
        { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
        (reply) => {
          const parts: Buffer[] = [];
          reply.on('data', (chunk: Buffer) => parts.push(chunk));
          reply.on('end', () => resolve({ status: reply.statusCode ?? 500, headers: reply.headers, body: Buffer.concat(parts) }));
          reply.on('error', () => resolve(undefined));
        },
      );
      outgoing.on('error', () => resolve(undefined));
      outgoing.end(raw);
    });

  const answerError = (response: http.ServerResponse, error: ErrorAnswer) => {
    const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${error.type}`, message: error.message ?? error.type });
    response.writeHead(error.status ?? SERVER_ERRORS[error.type] ?? 400, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  };

  const server = http.createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          // not JSON: forwarded as it is
        }
        const item = (body.Item ?? body.Key) as Record<string, { S?: string }> | undefined;
        const request: ProxiedRequest = {
          operation: String(incoming.headers['x-amz-target'] ?? '').split('.').pop() ?? '',
          body,
          key: item?.key?.S,
        };
        requests.push(request);
        const failure = failures.find((candidate) => candidate.operation === request.operation && candidate.left > 0);
        if (failure !== undefined) {
          failure.left -= 1;
          answerError(response, failure.error);
          return;
        }
        const before = await proxy.hooks.beforeServer?.(request);
        if (before === 'drop') {
          response.destroy();
          return;
        }
        if (typeof before === 'object' && 'error' in before) {
          answerError(response, before.error);
          return;
        }
        if (typeof before === 'object') await sleep(before.delayMs);
        // The client gave up meanwhile (the request itself is destroyed once read; its socket is not).
        if (response.destroyed || incoming.socket.destroyed) return;
        const answer = await forward(incoming, raw);
        if (answer === undefined || (await proxy.hooks.afterServer?.(request, answer.status)) === 'drop') {
          response.destroy();
          return;
        }
        if (response.destroyed || incoming.socket.destroyed) return;
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
      })().catch(() => response.destroy());
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (proxy as { endpoint: string }).endpoint = `http://127.0.0.1:${port}`;
  return proxy;
}

/**
 * A proxy in front of `target` for the file's tests (started before them, closed after), reset
 * after each test. Clients made on `endpoint` go through it.
 */
export function useDynamoProxy(target: { readonly endpoint: string }): { readonly proxy: DynamoProxy; readonly endpoint: string } {
  let started: DynamoProxy | undefined;
  beforeAll(async () => {
    started = await startDynamoProxy(target.endpoint);
  });
  afterEach(() => started?.reset());
  afterAll(() => started?.close());
  const proxy = (): DynamoProxy => {
    if (started === undefined) throw new Error('the proxy is not running: use it inside tests or hooks');
    return started;
  };
  return {
    get proxy() {
      return proxy();
    },
    get endpoint() {
      return proxy().endpoint;
    },
  };
}
