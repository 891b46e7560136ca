import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CorruptRowError, rowName, type ErrorLocation } from '../../errors';
import type { DeadlineSignal } from '../Deadline';
import { digestOf, packState, splitBytes, unpackState } from '../packedState';
import { TABLE_MISSING, type DynamoDBItems, type TableMissing } from './DynamoDBItems';
import { BOOKKEEPING, type ItemFormat, type PartsRef, type StateLayout } from './itemFormat';
import { attributeSize, ITEM_LIMIT, PART_BYTES, type SizeCache } from './sizes';

// Parts are read and written a few at a time: enough to overlap round trips, few enough for 1 WCU.
const PART_CONCURRENCY = 4;

/** A part item to write. */
export interface PartWrite {
  readonly key: Record<string, AttributeValue>;
  readonly bytes: Uint8Array;
}

/** Where a write puts the state: the row's layout, and the part items to write before the row. */
export interface LaidOut {
  readonly state: StateLayout;
  readonly parts: readonly PartWrite[];
}

/**
 * Large states: the choice of layout for a whole state (a readable map when the row fits, packed
 * bytes in the row, or packed bytes split into part items), and the part items' lifecycle. Part
 * items are never changed: every write that needs parts makes new ones, the row points to them
 * only once they are all stored, and the parts of the row it replaced are deleted after.
 */
export class LargeStateStorage {
  /** The parts of the newest row seen (read or written): the ones the next write replaces. */
  private current: { readonly id: string; readonly count: number } | undefined;

  constructor(
    private readonly items: DynamoDBItems,
    private readonly format: ItemFormat,
    private readonly sizes: SizeCache,
    private readonly location: Required<ErrorLocation>,
  ) {}

  /** Whether `fields` fit the row as a readable map, beside `extra` bytes of other attributes (refs to field items). */
  fitsInRow(fields: Readonly<Record<string, AttributeValue>>, extra = 0): boolean {
    return this.format.rowOverhead + extra + this.sizes.layoutMap(fields) <= ITEM_LIMIT;
  }

  /**
   * The layout for `fields` beside `extra` bytes of other attributes: a readable map if the item
   * fits, else packed, else in parts named after `writeId`.
   */
  layout(fields: Readonly<Record<string, AttributeValue>>, writeId: string, extra = 0): LaidOut {
    const overhead = this.format.rowOverhead + extra;
    if (this.fitsInRow(fields, extra)) return { state: { kind: 'map', fields }, parts: [] };
    const packed = packState(fields);
    if (overhead + Buffer.byteLength(BOOKKEEPING.packed) + attributeSize({ B: packed }, true) <= ITEM_LIMIT) {
      return { state: { kind: 'packed', bytes: packed }, parts: [] };
    }
    const slices = splitBytes(packed, PART_BYTES);
    const ref: PartsRef = { id: writeId, count: slices.length, digest: digestOf(packed) };
    return { state: { kind: 'parts', ref }, parts: slices.map((bytes, i) => ({ key: this.format.partKey(ref.id, i), bytes })) };
  }

  /** Stores `parts` (before the row that points to them). */
  async write(parts: readonly PartWrite[], signal?: DeadlineSignal): Promise<undefined | TableMissing> {
    const outcomes = await this.each(parts, (part) => this.items.put({ Item: this.format.partItem(part.key, part.bytes) }, signal));
    return outcomes.includes(TABLE_MISSING) ? TABLE_MISSING : undefined;
  }

  /** The state map a row's layout holds; 'parts-replaced' when a part is gone (a newer write replaced them). */
  async read(state: StateLayout, signal?: DeadlineSignal): Promise<Record<string, AttributeValue> | 'parts-replaced'> {
    if (state.kind === 'map') return state.fields as Record<string, AttributeValue>;
    if (state.kind === 'packed') return this.unpack(state.bytes);
    const { ref } = state;
    const slices = await this.each(this.format.partKeys(ref), async (key) => {
      const item = await this.items.get(key, signal);
      return item === TABLE_MISSING ? undefined : this.format.partBytes(item);
    });
    if (slices.some((slice) => slice === undefined)) return 'parts-replaced';
    const packed = Buffer.concat(slices as Uint8Array[]);
    if (digestOf(packed) !== ref.digest) {
      throw new CorruptRowError(`Row ${rowName(this.location)}: its ${ref.count} parts do not match the digest the row records.`, this.location);
    }
    return this.unpack(packed);
  }

  /** Records the row now stored or read: its parts (if any) are the ones a later write replaces. */
  seen(state: StateLayout | undefined): void {
    this.current = state?.kind === 'parts' ? state.ref : undefined;
  }

  /** A write of `written` replaced the row: the replaced row's parts are unreachable now. */
  async replaced(written: StateLayout): Promise<void> {
    const previous = this.current;
    this.seen(written);
    // A reader that read the old row just before finds them gone and re-reads the row.
    if (previous !== undefined) await this.delete(this.format.partKeys(previous));
  }

  /** A write that did not land: its parts are nobody's. */
  async discard(parts: readonly PartWrite[]): Promise<void> {
    await this.delete(parts.map((part) => part.key));
  }

  private async delete(keys: readonly Record<string, AttributeValue>[]): Promise<void> {
    await this.each(keys, (key) => this.items.delete(key));
  }

  private unpack(packed: Uint8Array): Record<string, AttributeValue> {
    try {
      return unpackState(packed);
    } catch (error) {
      throw new CorruptRowError(`Row ${rowName(this.location)}: its packed state cannot be unpacked (${(error as Error).message}).`, {
        ...this.location,
        cause: error,
      });
    }
  }

  private async each<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, items.length) }, worker));
    return results;
  }
}
