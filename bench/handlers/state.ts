// The handler classes the benchmark runs, written as a user would (standard decorators when bundled
// by esbuild, legacy ones under the type check's tsconfig.spec.json), and the same classes without
// the library: plain classes with the same fields and the same handler logic, the baseline of the
// warm scenarios.
import { Persistent, PersistentHandler } from 'aws-lambda-persistence';

export { SmallState, PlainSmallState, updateValues, type BenchEvent, type BenchResult } from './smallState';

/** One record of a large state: about 130 bytes as JSON. */
export interface BenchRecord {
  id: string;
  at: number;
  kind: string;
  ok: boolean;
  score: number;
  tags: string[];
  source: { region: string; shard: number };
}

export function makeRecord(i: number): BenchRecord {
  return {
    id: `rec-${String(i).padStart(8, '0')}`,
    at: 1_700_000_000_000 + i * 1000,
    kind: i % 3 === 0 ? 'create' : 'update',
    ok: i % 2 === 0,
    score: (i % 1000) / 8,
    tags: ['alpha', `g${i % 16}`],
    source: { region: 'eu-west-1', shard: i % 64 },
  };
}

/** A large state: `records` records, half in a list (`log`), half in an object keyed by id (`byId`). */
export function largeState(records: number): { log: BenchRecord[]; byId: Record<string, BenchRecord> } {
  const half = Math.ceil(records / 2);
  const log = Array.from({ length: half }, (_, i) => makeRecord(i));
  const byId: Record<string, BenchRecord> = {};
  for (let i = half; i < records; i++) {
    const record = makeRecord(i);
    byId[record.id] = record;
  }
  return { log, byId };
}

/**
 * A handler holding a large state in two object fields, empty until an invocation with `seed` fills
 * them with `seed` records (that invocation writes the state to the row, as a state built up over
 * time is stored), and the same class without the library.
 */
export class LargeState extends PersistentHandler<LargeEvent, number> {
  @Persistent() log: BenchRecord[] = [];
  @Persistent() byId: Record<string, BenchRecord> = {};
  @Persistent() count = 0;

  async handler(event: LargeEvent): Promise<number> {
    if (event.seed !== undefined) {
      const state = largeState(event.seed);
      this.log = state.log;
      this.byId = state.byId;
    }
    if (event.count !== undefined) this.count = event.count;
    return this.log.length + this.count;
  }
}

/** {@link LargeState} without the library. */
export class PlainLargeState {
  log: BenchRecord[] = [];
  byId: Record<string, BenchRecord> = {};
  count = 0;

  async handler(event: LargeEvent): Promise<number> {
    if (event.seed !== undefined) {
      const state = largeState(event.seed);
      this.log = state.log;
      this.byId = state.byId;
    }
    if (event.count !== undefined) this.count = event.count;
    return this.log.length + this.count;
  }
}

export interface LargeEvent {
  /** Fill the state with this many records. */
  readonly seed?: number;
  /** Set the small field `count` (a write of the whole state). */
  readonly count?: number;
}
