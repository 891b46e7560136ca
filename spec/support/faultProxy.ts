import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './seededRandom';

/** The faults the proxy can inject. */
export type FaultKind =
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'InternalServerError500'
  | 'ServiceUnavailable503'
  | 'resetBeforeServer'
  | 'resetAfterServer'
  | 'latency';

export const FAULT_KINDS: readonly FaultKind[] = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'InternalServerError500',
  'ServiceUnavailable503',
  'resetBeforeServer',
  'resetAfterServer',
  'latency',
];


/**
 * An HTTP proxy in front of a DynamoDB endpoint that injects faults at `rate` (0..1), choosing the
 * kind with a seeded generator: throttling and server errors answered in DynamoDB's JSON error
 * format, connections reset before the request reaches the server or after the server applied it
 * (the answer is lost), and latency.
 */
export interface FaultProxy {
  readonly endpoint: string;
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number>;
  /** Requests seen, by operation. */
  readonly requests: Record<string, number>;
  setRate(rate: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, options: { seed: number; rate: number; latencyMs?: number }): Promise<FaultProxy> {
  const upstream = new URL(target);
  const random = seededRandom(options.seed);
  let rate = options.rate;
  const injected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const requests: Record<string, number> = {};

  const forward = (request: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const outgoing = http.request(
        { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const answerError = (response: http.ServerResponse, status: number, type: string, message: string) => {
    const body = JSON.stringify({ __type: type, message });
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };

  const server = http.createServer((request, response) => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    requests[operation] = (requests[operation] ?? 0) + 1;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const kind = random() < rate ? FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)]! : undefined;
      if (kind) injected[kind] += 1;
      const pass = async (delayMs = 0) => {
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
        try {
          const answer = await forward(request, body);
          if (kind === 'resetAfterServer') {
            // The server applied the request; its answer never arrives.
            response.socket?.destroy();
            return;
          }
          response.writeHead(answer.status, answer.headers);
          response.end(answer.body);
        } catch {
          response.socket?.destroy();
        }
      };
      switch (kind) {
        case 'ProvisionedThroughputExceededException':
          return answerError(response, 400, 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded.');
        case 'ThrottlingException':
          return answerError(response, 400, 'com.amazonaws.dynamodb.v20120810#ThrottlingException', 'Rate of requests exceeds the allowed throughput.');
        case 'InternalServerError500':
          return answerError(response, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error');
        case 'ServiceUnavailable503':
          return answerError(response, 503, 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable', 'Service unavailable');
        case 'resetBeforeServer':
          response.socket?.destroy();
          return;
        case 'latency':
          return void pass(options.latencyMs ?? 50);
        default:
          return void pass();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    requests,
    setRate: (next) => {
      rate = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
