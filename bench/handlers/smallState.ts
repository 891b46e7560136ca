// The ten-field handler of the cold-start and warm-write scenarios, in a module of its own: the
// cold-start bundle (and the bundle-size scenario) carries this handler and nothing else, as a
// function's bundle would.
import { Persistent, PersistentHandler } from 'aws-lambda-persistence';

export interface BenchEvent {
  /** Assign `count` (one field): one write (an UpdateItem once the row exists). */
  readonly set?: number;
  /** update() all ten fields with the values of `updateValues(update)`: one write. */
  readonly update?: number;
}

export interface BenchResult {
  readonly count: number;
  readonly cursor: string;
}

/** Ten small fields of the kinds a handler keeps: numbers, strings, a flag, a Date, a list, an object. */
export class SmallState extends PersistentHandler<BenchEvent, BenchResult> {
  @Persistent() count = 0;
  @Persistent() cursor = 'cursor-0000000000';
  @Persistent() enabled = true;
  @Persistent() ratio = 0.25;
  @Persistent() owner = 'team-bench';
  @Persistent() version = 1;
  @Persistent() note: string | null = null;
  @Persistent() lastRun = new Date(0);
  @Persistent() tags: string[] = ['alpha', 'beta', 'gamma'];
  @Persistent() limits = { max: 100, min: 1, window: 60 };

  async handler(event: BenchEvent): Promise<BenchResult> {
    if (event.set !== undefined) this.count = event.set;
    if (event.update !== undefined) await this.update(updateValues(event.update));
    return { count: this.count, cursor: this.cursor };
  }
}

/** {@link SmallState} without the library. */
export class PlainSmallState {
  count = 0;
  cursor = 'cursor-0000000000';
  enabled = true;
  ratio = 0.25;
  owner = 'team-bench';
  version = 1;
  note: string | null = null;
  lastRun = new Date(0);
  tags: string[] = ['alpha', 'beta', 'gamma'];
  limits = { max: 100, min: 1, window: 60 };

  async handler(event: BenchEvent): Promise<BenchResult> {
    if (event.set !== undefined) this.count = event.set;
    if (event.update !== undefined) Object.assign(this, updateValues(event.update));
    return { count: this.count, cursor: this.cursor };
  }
}

/** New values for all ten fields of {@link SmallState}, different for every `n`. */
export function updateValues(n: number) {
  return {
    count: n,
    cursor: `cursor-${String(n).padStart(10, '0')}`,
    enabled: n % 2 === 0,
    ratio: n / 1024,
    owner: `team-${n}`,
    version: n + 1,
    note: `note ${n}`,
    lastRun: new Date(1_700_000_000_000 + n),
    tags: [`t${n}`, 'beta', 'gamma'],
    limits: { max: 100 + n, min: 1, window: 60 },
  };
}
