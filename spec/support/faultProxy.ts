import { startDynamoProxy, type BeforeServer } from './dynamoProxy';
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
 * Faults at `rate` (0..1) on every request through a {@link startDynamoProxy} proxy, the kind chosen
 * with a seeded generator: throttling and server errors answered in DynamoDB's JSON error format,
 * connections reset before the request reaches the server or after the server applied it (the
 * answer is lost), and latency.
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

const ANSWERS: Partial<Record<FaultKind, BeforeServer>> = {
  ProvisionedThroughputExceededException: {
    error: { type: 'ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded.' },
  },
  ThrottlingException: { error: { type: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' } },
  InternalServerError500: { error: { type: 'InternalServerError', status: 500, message: 'Internal server error' } },
  ServiceUnavailable503: { error: { type: 'ServiceUnavailable', status: 503, message: 'Service unavailable' } },
  resetBeforeServer: 'drop',
};

export async function startFaultProxy(target: string, options: { seed: number; rate: number; latencyMs?: number }): Promise<FaultProxy> {
  const proxy = await startDynamoProxy(target);
  const random = seededRandom(options.seed);
  let rate = options.rate;
  const injected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const requests: Record<string, number> = {};
  const resetAfter = new WeakSet<object>();
  proxy.hooks = {
    beforeServer(request) {
      requests[request.operation] = (requests[request.operation] ?? 0) + 1;
      const kind = random() < rate ? FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)]! : undefined;
      if (kind === undefined) return 'forward';
      injected[kind] += 1;
      if (kind === 'latency') return { delayMs: options.latencyMs ?? 50 };
      if (kind === 'resetAfterServer') {
        resetAfter.add(request);
        return 'forward';
      }
      return ANSWERS[kind];
    },
    // The server applied the request; its answer never arrives.
    afterServer: (request) => (resetAfter.has(request) ? 'drop' : undefined),
  };
  return {
    endpoint: proxy.endpoint,
    injected,
    requests,
    setRate: (next) => {
      rate = next;
    },
    close: () => proxy.close(),
  };
}
