import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DeadlineSignal } from '../Deadline';
import { TABLE_MISSING, type ConditionFailed, type DynamoDBItems, type TableMissing } from './DynamoDBItems';
import { BOOKKEEPING, type FieldRef, type ItemFormat } from './itemFormat';
import { FIELD_ITEM_BYTES, type SizeCache } from './sizes';

// BatchGetItem takes at most 100 keys.
const BATCH_KEYS = 100;
// Field items are written a few at a time: enough to overlap round trips, few enough for 1 WCU.
const PLACE_CONCURRENCY = 4;

/**
 * Fields stored in items of their own (docs/storage-format.md): a field whose encoded value is
 * larger than `largeFieldBytes` is kept out of the row, so that a change to the other fields costs
 * what they weigh, not what it weighs (DynamoDB bills a write by the whole item's size).
 *
 * Each such field has two slot items. A write puts the new value into the slot the row does not
 * point to (conditional on that slot still holding what this environment expects there, so two
 * writers never fill one slot unknowingly), then points the row to it, on condition that the row
 * still points where it did: the live slot is never changed, a reader that follows the row reads
 * one whole version, and the next write overwrites the version before (so superseded values cost
 * nothing to remove: the overwrite is the removal). A slot filled by a writer that died before
 * pointing the row to it is taken over by the next writer once the row shows it is not live.
 */
export class FieldItems {
  /** The refs of the newest row seen, read or written. */
  private live: ReadonlyMap<string, FieldRef> = new Map();
  /** Values this environment wrote or read, by field: reused while the row still points to them. */
  private readonly values = new Map<string, { readonly writeId: string; readonly attribute: AttributeValue }>();
  /** What each slot item holds, as last learned (a write id; null: no item), by item key. */
  private readonly slots = new Map<string, string | null>();

  constructor(
    private readonly items: DynamoDBItems,
    private readonly format: ItemFormat,
    private readonly sizes: SizeCache,
    private readonly threshold: number,
  ) {}

  /** Whether a field with this encoded value is kept in an item of its own. */
  isLarge(attribute: AttributeValue): boolean {
    const size = this.sizes.layout(attribute);
    return size > this.threshold && size <= FIELD_ITEM_BYTES;
  }

  /** The refs of the row as last seen. */
  get refs(): ReadonlyMap<string, FieldRef> {
    return this.live;
  }

  /** Records the refs of the newest row seen; values of fields no longer in items of their own are let go. */
  seen(refs: ReadonlyMap<string, FieldRef> | undefined): void {
    this.live = refs ?? new Map();
    for (const name of this.values.keys()) if (!this.live.has(name)) this.values.delete(name);
  }

  /**
   * Makes `attribute` the value of field `name` in a slot item and returns the ref the row should
   * record: the live ref when the row already points to this very value, else a new one after
   * writing the other slot. A conflict when that slot holds a write this environment did not
   * expect (it has learned what is there now: the retry, after reading the row, takes it over
   * unless the row points to it).
   */
  async place(name: string, attribute: AttributeValue, writeId: string, signal?: DeadlineSignal): Promise<FieldRef | ConditionFailed | TableMissing> {
    const live = this.live.get(name);
    const known = this.values.get(name);
    if (live !== undefined && known !== undefined && known.writeId === live.writeId && known.attribute === attribute) return live;
    const slot = live === undefined ? 0 : 1 - live.slot;
    const key = this.format.fieldKey(name, slot);
    const keyText = this.format.keyText(key);
    const expected = this.slots.has(keyText) ? this.slots.get(keyText)! : (live?.previous ?? null);
    const result = await this.items.put(
      {
        Item: this.format.fieldItem(name, slot, writeId, attribute),
        ...(expected === null
          ? { ConditionExpression: 'attribute_not_exists(#writeId)', ExpressionAttributeNames: { '#writeId': BOOKKEEPING.writeId } }
          : {
              ConditionExpression: '#writeId = :expected',
              ExpressionAttributeNames: { '#writeId': BOOKKEEPING.writeId },
              ExpressionAttributeValues: { ':expected': { S: expected } },
            }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      signal,
    );
    if (result === TABLE_MISSING) return result;
    if (result !== undefined) {
      // Learn what the slot holds (DynamoDB returns it with the failure; dynalite does not).
      let item = result.item;
      if (item === undefined) {
        const read = await this.items.get(key, signal);
        item = read === TABLE_MISSING ? undefined : read;
      }
      const holds = this.format.writeIdOf(item);
      this.slots.set(keyText, holds ?? null);
      // This very write, applied, its answer lost and the SDK's resend refused: it is placed.
      if (holds !== writeId) return result;
    }
    this.slots.set(keyText, writeId);
    this.values.set(name, { writeId, attribute });
    return { slot, writeId, ...(live !== undefined && { previous: live.writeId }), size: this.sizes.dynamo(attribute) };
  }

  /**
   * {@link place} for several fields, a few at a time: their refs, or the first conflict (or missing
   * table) met. Slots already written stay as they are: they are not live, and the retry overwrites them.
   */
  async placeAll(
    fields: ReadonlyMap<string, AttributeValue>,
    writeId: string,
    signal?: DeadlineSignal,
  ): Promise<Map<string, FieldRef> | ConditionFailed | TableMissing> {
    const refs = new Map<string, FieldRef>();
    const pending = [...fields];
    let failed: ConditionFailed | TableMissing | undefined;
    const worker = async (): Promise<void> => {
      while (failed === undefined && pending.length > 0) {
        const [name, attribute] = pending.shift()!;
        const placed = await this.place(name, attribute, writeId, signal);
        if (placed === TABLE_MISSING || 'conflict' in placed) failed ??= placed;
        else refs.set(name, placed);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PLACE_CONCURRENCY, fields.size) }, worker));
    return failed ?? refs;
  }

  /**
   * The values `refs` point to, by field: those this environment holds already without a request,
   * the others with one consistent BatchGetItem. 'replaced' when a slot no longer holds the write
   * the row records (a newer write is under way or done: read the row again).
   */
  async read(refs: ReadonlyMap<string, FieldRef>, signal?: DeadlineSignal): Promise<Record<string, AttributeValue> | 'replaced'> {
    const fields: Record<string, AttributeValue> = {};
    const wanted = new Map<string, { readonly name: string; readonly ref: FieldRef }>();
    for (const [name, ref] of refs) {
      const known = this.values.get(name);
      if (known !== undefined && known.writeId === ref.writeId) fields[name] = known.attribute;
      else wanted.set(this.format.keyText(this.format.fieldKey(name, ref.slot)), { name, ref });
    }
    const keys = [...wanted.keys()];
    for (let start = 0; start < keys.length; start += BATCH_KEYS) {
      const batch = keys.slice(start, start + BATCH_KEYS).map((keyText) => this.format.fieldKey(wanted.get(keyText)!.name, wanted.get(keyText)!.ref.slot));
      const found = await this.items.batchGet(batch, signal);
      if (found === TABLE_MISSING) return 'replaced';
      for (const item of found) {
        const entry = wanted.get(this.format.keyText(item));
        if (entry === undefined) continue;
        const value = this.format.fieldValue(item, entry.name);
        const writeId = this.format.writeIdOf(item);
        this.slots.set(this.format.keyText(item), writeId ?? null);
        if (value === undefined || writeId !== entry.ref.writeId) continue;
        this.values.set(entry.name, { writeId, attribute: value });
        fields[entry.name] = value;
      }
    }
    for (const name of refs.keys()) if (fields[name] === undefined) return 'replaced';
    return fields;
  }

}

