// The cold-start handler: a module as a user deploys it (bundled by esbuild, AWS SDK external),
// bound at module load. Also the entry of the bundle-size scenario.
import { SmallState } from './smallState';

export const handler = SmallState.bind({
  tableName: process.env.BENCH_TABLE_NAME ?? 'AWSLambdaPersistence',
  tableKey: process.env.BENCH_TABLE_KEY ?? 'bench-cold',
});
