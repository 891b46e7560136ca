/** A reader and a writer of a large (split) state at the same time. */
import type { PersistenceOptions } from '../../src';
import { bigEnvironment } from '../support/bigState';
import { useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'LargeStateReaders';
const bindEnv = (tableKey: string, options: PersistenceOptions = {}) => bigEnvironment(dynamo.endpoint, TABLE, tableKey, options);

describe('States larger than one DynamoDB item, read while rewritten', () => {
  it('never shows a reader a mix of two versions while another environment rewrites the state', async () => {
    const key = uniqueKey('mix');
    await bindEnv(key).handler({ op: 'random', bytes: 800_000, marker: 0 });
    const writer = bindEnv(key);
    const reader = bindEnv(key, { refresh: 'every-invocation' });
    const writes = (async () => {
      for (let marker = 1; marker <= 6; marker++) await writer.handler({ op: 'random', bytes: 800_000, marker });
    })();
    const seen: number[][] = [];
    const reads = (async () => {
      for (let i = 0; i < 12; i++) seen.push(((await reader.handler({ op: 'read' })) as { markers: number[] }).markers);
    })();
    await Promise.all([writes, reads]);
    for (const markers of seen) expect(markers).toHaveLength(1);
    expect(await bindEnv(key).handler({ op: 'read' })).toMatchObject({ markers: [6], blobLength: 800_000 });
  });

});
