import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What to do with one request, decided from its DynamoDB operation (e.g. `PutItem`). */
export interface ProxyAction {
  /** Hold the request this long before forwarding it. */
  delayMs?: number;
}

/**
 * An HTTP proxy in front of a DynamoDB endpoint, for faults a client middleware cannot fake
 * (latency that the SDK's abort signal has to cut short).
 */
export interface DynamoProxy {
  readonly endpoint: string;
  /** Operations seen, in order. */
  readonly operations: string[];
  plan(decide: (operation: string) => ProxyAction | undefined): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<DynamoProxy> {
  const upstream = new URL(target);
  let decide: (operation: string) => ProxyAction | undefined = () => undefined;
  const operations: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((request, response) => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    operations.push(operation);
    const action = decide(operation) ?? {};
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const forward = () => {
        if (request.destroyed) return;
        const outgoing = http.request(
          { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
          (answer) => {
            response.writeHead(answer.statusCode ?? 500, answer.headers);
            answer.pipe(response);
          },
        );
        outgoing.on('error', () => response.destroy());
        outgoing.end(Buffer.concat(chunks));
      };
      if (action.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          forward();
        }, action.delayMs);
        timers.add(timer);
      } else {
        forward();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    operations,
    plan: (next) => {
      decide = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
