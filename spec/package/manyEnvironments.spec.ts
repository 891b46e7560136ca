/**
 * Sixteen execution environments at once, as Lambda scales out: separate Node processes, each
 * loading the packed package from the consumer project, started together against one new
 * function's row (so they also race to create it). Each runs 25 invocations; an invocation adds 1
 * to its environment's own field and to a `sum` counter. No invocation may fail, no update may be
 * lost, and a write is one request per invocation (plus the race that creates the row).
 * On moto, which does not isolate concurrent writes (docs/dynamodb-implementations.md), the
 * environments run one after the other.
 */
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { consumerDir } from '../support/consumer';
import { isolatesConcurrentWrites, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'ManyEnvironments';
const ENVIRONMENTS = 16;
const INVOCATIONS = 25;

/** One environment: waits for 'go', runs its invocations one after the other, reports. */
const ENVIRONMENT = `'use strict';
const { Persistent, PersistentHandler, sum } = require('aws-lambda-persistence');
const field = 'e' + process.env.ENV_INDEX;
class Contended extends PersistentHandler {
  constructor() {
    super();
    this[field] = 0;
    this.total = 0;
  }
  async handler() {
    this[field] += 1;
    this.total += 1;
    return this.total;
  }
}
Persistent()(Contended.prototype, field);
Persistent({ merge: sum })(Contended.prototype, 'total');
const handler = Contended.bind();
const context = () => {
  const deadline = Date.now() + 30000;
  return { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => deadline - Date.now() };
};
process.on('message', async () => {
  const failures = [];
  for (let i = 0; i < ${INVOCATIONS}; i++) {
    try {
      await handler({}, context());
    } catch (error) {
      failures.push(error.name + ': ' + error.message);
    }
  }
  process.send({ failures, stats: JSON.parse(JSON.stringify(handler.stats)) });
  process.disconnect();
});
process.send('ready');
`;

interface Report {
  failures: string[];
  stats: { requests: Record<string, number>; conflicts: number };
}

function environment(script: string, index: number, functionName: string): { child: ChildProcess; ready: Promise<void>; report: Promise<Report> } {
  const child = fork(script, [], {
    cwd: consumerDir(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      ENV_INDEX: String(index),
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      PERSISTENCE_TABLE_NAME: TABLE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  const messages = new Promise<unknown[]>((resolve) => {
    const seen: unknown[] = [];
    child.on('message', (message) => {
      seen.push(message);
      if (seen.length === 2) resolve(seen);
    });
  });
  const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`environment ${index} exited (${code}):\n${stderr}`))));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    exited.catch(reject);
  });
  const report = Promise.race([messages.then((seen) => seen[1] as Report), exited]);
  return { child, ready, report };
}

describe('sixteen environments (processes) writing one new row at once', () => {
  it('fail no invocation, lose no update, and write once per invocation', async () => {
    const script = path.join(consumerDir(), 'many-environments.cjs');
    writeFileSync(script, ENVIRONMENT);
    const functionName = uniqueKey('many');
    // The table exists: this is about the row.
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint });
    await client
      .send(
        new CreateTableCommand({
          TableName: TABLE,
          AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
      .catch((error: Error) => {
        if (error.name !== 'ResourceInUseException') throw error;
      });
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: TABLE });
    client.destroy();
    const reports: Report[] = [];
    const envs = Array.from({ length: ENVIRONMENTS }, (_, i) => environment(script, i, functionName));
    try {
      await Promise.all(envs.map((env) => env.ready));
      if (isolatesConcurrentWrites) {
        for (const env of envs) env.child.send('go');
        reports.push(...(await Promise.all(envs.map((env) => env.report))));
      } else {
        for (const env of envs) {
          env.child.send('go');
          reports.push(await env.report);
        }
      }
    } finally {
      for (const env of envs) env.child.kill();
    }
    expect(reports.flatMap((report) => report.failures)).toEqual([]);
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, functionName))?.value?.M;
    expect(row?.total).toEqual({ N: String(ENVIRONMENTS * INVOCATIONS) });
    for (let i = 0; i < ENVIRONMENTS; i++) expect(row?.[`e${i}`]).toEqual({ N: String(INVOCATIONS) });
    const writes = reports.reduce((sum, report) => sum + report.stats.requests.PutItem! + report.stats.requests.UpdateItem!, 0);
    // One write per invocation; creating the row costs each environment that lost the race one more.
    expect(writes).toBeLessThanOrEqual(ENVIRONMENTS * INVOCATIONS + ENVIRONMENTS - 1);
    expect(writes / (ENVIRONMENTS * INVOCATIONS)).toBeLessThanOrEqual(1.05);
  }, 180_000);
});
