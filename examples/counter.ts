import { Persistent, PersistentHandler, sum } from 'aws-lambda-persistence';

interface CounterEvent { name?: string }
interface CounterResult { count: number; previousRun?: string; names: string[] }

/** Counts its invocations and remembers who called, across cold starts. */
class Counter extends PersistentHandler<CounterEvent, CounterResult> {
  @Persistent({ merge: sum }) count = 0; // every environment's += counts
  @Persistent() lastRun?: Date;
  @Persistent() names: string[] = [];

  async handler(event: CounterEvent): Promise<CounterResult> {
    const previousRun = this.lastRun?.toISOString();
    this.count += 1; // an assignment: written before the invocation settles
    if (event.name) this.names.push(event.name); // in-place mutation: detected at the end
    this.lastRun = new Date();
    return { count: this.count, previousRun, names: this.names };
  }
}

export const handler = Counter.bind();
