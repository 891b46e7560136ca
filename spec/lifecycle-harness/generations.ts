/**
 * Fixture of spec/chaos/freezeKill.spec.ts, "a kill while a write is in flight": a `write` invocation
 * moves every field to the next generation in one synchronous stretch (one PutItem), marks
 * `assigned` and then waits for a signal that never comes: the test kills the process somewhere in
 * the write. A `read` invocation describes what the environment loaded.
 */
import { Persistent, PersistentHandler } from '../../src';
import { harnessHooks } from './protocol';

/** `random` text barely compresses (a large one goes to part items); `repetitive` packs small. */
export type BlobKind = 'random' | 'repetitive';

export type GenerationsEvent = { action: 'write'; blobBytes: number; blobKind: BlobKind } | { action: 'read' };

export interface GenerationsView {
  generation: number;
  stamp: string;
  history: number[];
  blobLength: number;
  /** The blob's first characters, which name its generation and kind. */
  blobHead: string;
  /** Whether the blob is exactly what a write of generation `generation` makes (given its length and kind). */
  blobIntact: boolean;
}

/**
 * The blob of a generation: `g<n>/<kind>:` and then either pseudo-random base64 text seeded by the
 * generation (6 bits of entropy per character: gzip cannot shrink it much) or a repeated pattern.
 */
export function blobOf(generation: number, bytes: number, kind: BlobKind): string {
  if (bytes === 0) return '';
  const head = `g${generation}/${kind}:`;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const chars = new Array<string>(Math.max(0, bytes - head.length));
  let seed = Math.imul(generation, 2654435761) >>> 0;
  for (let i = 0; i < chars.length; i++) {
    if (kind === 'repetitive') {
      chars[i] = alphabet[(i + generation) % 64]!;
    } else {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      chars[i] = alphabet[seed >>> 26]!;
    }
  }
  return head + chars.join('');
}

function kindOf(blob: string): BlobKind {
  return blob.slice(0, 24).includes('/repetitive:') ? 'repetitive' : 'random';
}

class Generations extends PersistentHandler<GenerationsEvent, GenerationsView> {
  @Persistent() generation = 0;
  @Persistent() stamp = 'g0';
  @Persistent() history: number[] = [];
  @Persistent() blob = '';

  async handler(event: GenerationsEvent): Promise<GenerationsView> {
    if (event.action === 'write') {
      const next = this.generation + 1;
      // Assignments only, in one synchronous stretch: the library writes them in one PutItem.
      this.generation = next;
      this.stamp = `g${next}`;
      this.history = [...this.history, next];
      this.blob = blobOf(next, event.blobBytes, event.blobKind);
      harnessHooks().mark('assigned', { generation: next });
      await harnessHooks().waitFor('release');
    }
    return {
      generation: this.generation,
      stamp: this.stamp,
      history: [...this.history],
      blobLength: this.blob.length,
      blobHead: this.blob.slice(0, 16),
      blobIntact: this.blob === blobOf(this.generation, this.blob.length, kindOf(this.blob)),
    };
  }
}

// 'save': the write goes out while the handler still waits (started by the assignments), which is
// what a kill must meet in flight.
export const handler = Generations.bind({ onFailure: 'save' });
