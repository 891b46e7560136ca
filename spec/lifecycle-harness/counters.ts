/**
 * Fixture of spec/chaos/freezeKill.spec.ts, "four warm environments on one row": each environment
 * increments its own field (a, b, c or d) and the shared one. Different fields must all survive the
 * concurrent conditional writes; the shared field is last-writer-wins.
 */
import { Persistent, PersistentHandler } from '../../src';

export type CounterName = 'a' | 'b' | 'c' | 'd';
export type CountersEvent = { action: 'increment'; counter: CounterName; delayMs: number } | { action: 'read' };

export interface CountersView {
  a: number;
  b: number;
  c: number;
  d: number;
  shared: number;
  pid: number;
}

class Counters extends PersistentHandler<CountersEvent, CountersView> {
  @Persistent() a = 0;
  @Persistent() b = 0;
  @Persistent() c = 0;
  @Persistent() d = 0;
  @Persistent() shared = 0;

  async handler(event: CountersEvent): Promise<CountersView> {
    if (event.action === 'increment') {
      // Varies where the writes of the four environments fall relative to each other.
      if (event.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, event.delayMs));
      this[event.counter] += 1;
      this.shared += 1;
    }
    return { a: this.a, b: this.b, c: this.c, d: this.d, shared: this.shared, pid: process.pid };
  }
}

export const handler = Counters.bind();
