import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { CorruptRowError, rowName, type ErrorLocation } from '../../errors';
import type { FieldChange } from '../fields/FieldChange';
import { attributeSize } from './sizes';
import { updateExpression } from './updateExpression';

/**
 * The stored item, both ways: where the state and each field live in a function's row, the
 * bookkeeping beside them, and the keys of a large state's part items. The one owner of the item's
 * attribute names (docs/storage-format.md).
 */

/**
 * The newest stored format this release writes and reads, recorded in every row as `format`:
 * 2 for a row with fields in items of their own (`items`), 1 for a row without (which every
 * release reads). See docs/storage-format.md.
 *
 * @example
 * ```ts
 * if (Number(item.format?.N ?? 1) > FORMAT_VERSION) console.warn('row written by a newer release');
 * ```
 */
export const FORMAT_VERSION = 2;

/** The attributes the library keeps beside the state map. */
export const BOOKKEEPING = {
  /** Incremented by every write; conditional writes expect the revision they read. */
  revision: 'revision',
  /** {@link FORMAT_VERSION} of the writer. */
  format: 'format',
  /** ISO time of the last write (diagnostics). */
  updatedAt: 'updatedAt',
  /** The id of the write that produced the revision: a writer recognises its own lost answer by it. */
  writeId: 'writeId',
  /** A state too large for a readable map: its packed bytes (gzip of DynamoDB JSON), in the row itself. */
  packed: 'packed',
  /** A state too large for one item: where its packed bytes are, `{ id, count, digest }`. */
  parts: 'parts',
  /** The attribute of a part item holding its slice of the packed bytes. */
  part: 'part',
  /** Fields stored in items of their own: field name to {@link FieldRef}. */
  items: 'items',
  /** The attribute of a field item naming its field. */
  field: 'field',
  /** Per field whose merge function conditions on it: the field's own version, field name to number. */
  versions: 'versions',
  /**
   * The events whose changes the row holds (exactly once across retries): a digest of each event's
   * key to the mark of the invocation that applied it (its start time in ms, with a random fraction).
   */
  events: 'events',
} as const;

/** What a part item's key adds to the row's key, before the write's id and the part's index. */
export const PART_KEY_INFIX = '#part#';
/** What a field item's key adds to the row's key, before the slot and the field's name. */
export const FIELD_KEY_INFIX = '#field#';

/** Attribute names that `keyFieldName` and `valueFieldName` may not take. */
export const RESERVED_ATTRIBUTES: readonly string[] = Object.values(BOOKKEEPING);

/** Where the parts of a large state are. Part items are never changed: each write makes new ones. */
export interface PartsRef {
  readonly id: string;
  readonly count: number;
  readonly digest: string;
}

/**
 * Where a field stored in an item of its own is: the row records it under `items`. Each such field
 * has two slots (items); a write puts the new value into the slot that is not live and then points
 * the row to it, so the live slot is never changed and the next write overwrites the one before.
 */
export interface FieldRef {
  /** The live slot, 0 or 1. */
  readonly slot: number;
  /** The write that filled the live slot (its item records the same id). */
  readonly writeId: string;
  /** The write that filled the other slot, if any: what a write expects to overwrite there. */
  readonly previous?: string;
  /** The value's size as DynamoDB counts it, for `inspect` and the row's layout. */
  readonly size: number;
}

/** Where a row keeps its state. */
export type StateLayout =
  | { readonly kind: 'map'; readonly fields: Readonly<Record<string, AttributeValue>> }
  | { readonly kind: 'packed'; readonly bytes: Uint8Array }
  | { readonly kind: 'parts'; readonly ref: PartsRef };

/** A row item read back: its bookkeeping and where its state is. */
export interface ParsedItem {
  readonly format: number;
  readonly revision: number;
  readonly writeId?: string;
  readonly updatedAt?: string;
  readonly state: StateLayout;
  /** Fields in items of their own; `undefined` when the row has no `items` attribute (format 1). */
  readonly refs: ReadonlyMap<string, FieldRef> | undefined;
  /** The fields' own versions; undefined when the row has no `versions` attribute. */
  readonly versions: Readonly<Record<string, number>> | undefined;
  /** The events the row remembers (digest to mark); undefined when the row has no `events` attribute. */
  readonly events: Readonly<Record<string, string>> | undefined;
}

/** What a write of changes does to the events the row remembers. */
export interface EventChanges {
  /** Events this write records, digest to mark: each on the condition that the row has no mark for it, or this very one. */
  readonly recorded: ReadonlyMap<string, string>;
  /** Events the row no longer needs to remember (too old, or past the limit). */
  readonly forgotten: readonly string[];
}

/** A change the store adds to a write of changes: a field moving into its own item, or out of it. */
export interface Placement {
  /** Fields whose new value is in a slot item: the new ref, and the live write the row must still record (undefined: none). */
  readonly refer: ReadonlyMap<string, { readonly ref: FieldRef; readonly expected: string | undefined }>;
  /** Fields in items of their own whose new value is in the row, or absent. */
  readonly unrefer: ReadonlySet<string>;
}

const NO_PLACEMENT: Placement = { refer: new Map(), unrefer: new Set() };

// Field names up to this many bytes, without '#', appear in a field item's key as they are;
// longer ones by a digest, so that a key stays within DynamoDB's 2,048 bytes.
const READABLE_NAME_BYTES = 40;

/** An UpdateItem's expression and its placeholders. */
export interface UpdateParts {
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, AttributeValue>;
}

/** The item format of one function's row in one table. */
export class ItemFormat {
  /** The row's key attribute. */
  readonly key: Record<string, AttributeValue>;
  private fixedSize: number | undefined;

  constructor(
    private readonly names: { readonly keyFieldName: string; readonly valueFieldName: string; readonly eventKeyLimit?: number },
    private readonly location: Required<ErrorLocation>,
  ) {
    this.key = { [names.keyFieldName]: { S: location.tableKey } };
  }

  /** The key of a large state's part `index` (under the row's key, so `dynamodb:LeadingKeys` confines it). */
  partKey(id: string, index: number): Record<string, AttributeValue> {
    return { [this.names.keyFieldName]: { S: `${this.location.tableKey}${PART_KEY_INFIX}${id}#${index}` } };
  }

  /** The keys of every part of `ref`. */
  partKeys(ref: { readonly id: string; readonly count: number }): Record<string, AttributeValue>[] {
    return Array.from({ length: ref.count }, (_, i) => this.partKey(ref.id, i));
  }

  /** An item's partition key, as text. */
  keyText(item: Record<string, AttributeValue>): string {
    return item[this.names.keyFieldName]?.S ?? '';
  }

  /** The key of field `name`'s slot item `slot` (under the row's key, so `dynamodb:LeadingKeys` confines it). */
  fieldKey(name: string, slot: number): Record<string, AttributeValue> {
    const readable = Buffer.byteLength(name) <= READABLE_NAME_BYTES && !name.includes('#');
    const id = readable ? name : `~${createHash('sha256').update(name).digest('base64url').slice(0, 27)}`;
    return { [this.names.keyFieldName]: { S: `${this.location.tableKey}${FIELD_KEY_INFIX}${slot}#${id}` } };
  }

  /** A field's slot item: its value under the value attribute, beside its name and the write that put it. */
  fieldItem(name: string, slot: number, writeId: string, attribute: AttributeValue): Record<string, AttributeValue> {
    return {
      ...this.fieldKey(name, slot),
      [BOOKKEEPING.field]: { S: name },
      [BOOKKEEPING.writeId]: { S: writeId },
      [this.names.valueFieldName]: attribute,
    };
  }

  /** The value a field item holds, or undefined when the item is not a field item of `name`. */
  fieldValue(item: Record<string, AttributeValue> | undefined, name: string): AttributeValue | undefined {
    return item?.[BOOKKEEPING.field]?.S === name ? item[this.names.valueFieldName] : undefined;
  }

  /** A ref as the row stores it. */
  refAttribute(ref: FieldRef): AttributeValue {
    const map: Record<string, AttributeValue> = { slot: { N: String(ref.slot) }, writeId: { S: ref.writeId }, size: { N: String(ref.size) } };
    if (ref.previous !== undefined) map.previous = { S: ref.previous };
    return { M: map };
  }

  /** The size of the `items` attribute holding `refs` (0 for none): what the refs add to the row. */
  refsSize(refs: ReadonlyMap<string, FieldRef>): number {
    if (refs.size === 0) return 0;
    let size = Buffer.byteLength(BOOKKEEPING.items) + 3;
    for (const [name, ref] of refs) size += 1 + Buffer.byteLength(name) + attributeSize(this.refAttribute(ref));
    return size;
  }

  /** A part item holding `bytes`. */
  partItem(key: Record<string, AttributeValue>, bytes: Uint8Array): Record<string, AttributeValue> {
    return { ...key, [BOOKKEEPING.part]: { B: bytes } };
  }

  /** The slice a part item holds, or undefined. */
  partBytes(item: Record<string, AttributeValue> | undefined): Uint8Array | undefined {
    return item?.[BOOKKEEPING.part]?.B;
  }

  /**
   * The whole row: key, state and bookkeeping for `revision`, written by write `writeId`; `refs`,
   * the fields in items of their own (format 2 when there are any, else 1, which every release reads).
   */
  item(
    state: StateLayout,
    revision: number,
    writeId: string,
    refs: ReadonlyMap<string, FieldRef> = new Map(),
    versions?: Readonly<Record<string, number>>,
    events?: Readonly<Record<string, string>>,
  ): Record<string, AttributeValue> {
    // Built by assignment: an object literal with two spreads and computed keys took ~6 µs here
    // against ~1 µs (docs/performance.md).
    const item: Record<string, AttributeValue> = Object.assign({}, this.key);
    if (state.kind === 'map') item[this.names.valueFieldName] = { M: state.fields as Record<string, AttributeValue> };
    else if (state.kind === 'packed') item[BOOKKEEPING.packed] = { B: state.bytes };
    else {
      const { id, count, digest } = state.ref;
      item[BOOKKEEPING.parts] = { M: { id: { S: id }, count: { N: String(count) }, digest: { S: digest } } };
    }
    if (refs.size > 0) {
      const map: Record<string, AttributeValue> = {};
      for (const [name, ref] of refs) map[name] = this.refAttribute(ref);
      item[BOOKKEEPING.items] = { M: map };
    }
    if (versions !== undefined && Object.keys(versions).length > 0) item[BOOKKEEPING.versions] = versionsAttribute(versions);
    if (events !== undefined && Object.keys(events).length > 0) item[BOOKKEEPING.events] = eventsAttribute(events);
    item[BOOKKEEPING.revision] = { N: String(revision) };
    item[BOOKKEEPING.format] = { N: refs.size > 0 ? '2' : '1' };
    item[BOOKKEEPING.updatedAt] = { S: new Date().toISOString() };
    item[BOOKKEEPING.writeId] = { S: writeId };
    return item;
  }

  /** The condition of a whole-row write that replaces `expectedRevision` (0: no row yet). */
  revisionCondition(expectedRevision: number): {
    ConditionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    return expectedRevision === 0
      ? { ConditionExpression: 'attribute_not_exists(#revision)', ExpressionAttributeNames: { '#revision': BOOKKEEPING.revision } }
      : {
          ConditionExpression: '#revision = :expected',
          ExpressionAttributeNames: { '#revision': BOOKKEEPING.revision },
          ExpressionAttributeValues: { ':expected': { N: String(expectedRevision) } },
        };
  }

  /**
   * An UpdateItem of `changes` inside the state map of a row in the readable map layout: SET for a
   * new value, REMOVE for an absent one, `if_not_exists(field, from) + delta` for an added delta;
   * the revision goes up by one and the bookkeeping is rewritten. Not conditional on the revision:
   * fields not in `changes` are left as they are, whoever wrote them, so writers of different
   * fields never conflict. The condition is that the row is in the map layout (only that layout
   * has the value attribute) and not already written by this write, and, when a change is
   * `conditional`, that the row is still at `expectedRevision`. `rowHasWriteId`: the row as last
   * seen names the write that made it (every row this version writes does), so the check need not
   * allow for a row without one — a condition dynalite evaluates in a third of the time
   * (docs/performance.md); should the id have gone since, the write conflicts and is retried with
   * the longer form. `placement`: fields whose new value went into a slot item (the row points to
   * it, on condition that it still points where this write expects) or left one. `rowHasVersions`:
   * the row as last seen has the `versions` attribute, so that a field's version can be set on its own.
   */
  update(
    changes: ReadonlyMap<string, FieldChange>,
    expectedRevision: number,
    writeId: string,
    rowHasWriteId = false,
    placement: Placement = NO_PLACEMENT,
    rowHasVersions = false,
    events?: EventChanges,
    rowHasEvents = false,
  ): UpdateParts {
    return updateExpression(changes, {
      valueFieldName: this.names.valueFieldName,
      expectedRevision,
      writeId,
      rowHasWriteId,
      placement,
      rowHasVersions,
      rowHasEvents,
      ...(events !== undefined && { events }),
      refAttribute: (ref) => this.refAttribute(ref),
    });
  }

  /** Whether `item` holds a state in any layout under the configured names. */
  hasState(item: Record<string, AttributeValue>): boolean {
    return item[this.names.valueFieldName] !== undefined || item[BOOKKEEPING.packed] !== undefined || item[BOOKKEEPING.parts] !== undefined;
  }

  /**
   * Reads a row item. Throws a {@link CorruptRowError} for a format this version does not read, or
   * a value attribute that is not the map of fields the library writes.
   */
  parse(item: Record<string, AttributeValue>): ParsedItem {
    const formatAttribute = item[BOOKKEEPING.format];
    const format = formatAttribute?.N !== undefined ? Number(formatAttribute.N) : FORMAT_VERSION;
    if (!(format >= 1 && format <= FORMAT_VERSION)) {
      throw new CorruptRowError(
        `Row ${rowName(this.location)} has storage format ${formatAttribute?.N ?? JSON.stringify(formatAttribute)}; this version of ` +
          `aws-lambda-persistence reads formats 1 to ${FORMAT_VERSION}. Upgrade the package.`,
        this.location,
      );
    }
    const revisionAttribute = item[BOOKKEEPING.revision];
    const revision = revisionAttribute?.N !== undefined ? Number(revisionAttribute.N) : 0;
    const writeId = item[BOOKKEEPING.writeId]?.S;
    const updatedAt = item[BOOKKEEPING.updatedAt]?.S;
    return {
      format,
      revision,
      ...(writeId !== undefined && { writeId }),
      ...(updatedAt !== undefined && { updatedAt }),
      state: this.stateOf(item),
      refs: this.refsOf(item),
      versions: versionsOf(item[BOOKKEEPING.versions]),
      events: eventsOf(item[BOOKKEEPING.events]),
    };
  }

  private refsOf(item: Record<string, AttributeValue>): ReadonlyMap<string, FieldRef> | undefined {
    const items = item[BOOKKEEPING.items]?.M;
    if (items === undefined) return undefined;
    const refs = new Map<string, FieldRef>();
    for (const [name, attribute] of Object.entries(items)) {
      const ref = attribute.M;
      const slot = Number(ref?.slot?.N);
      const writeId = ref?.writeId?.S;
      if ((slot !== 0 && slot !== 1) || writeId === undefined) {
        throw new CorruptRowError(`Row ${rowName(this.location)}: its entry for field "${name}" in "${BOOKKEEPING.items}" is not a reference this release writes.`, this.location);
      }
      const previous = ref?.previous?.S;
      refs.set(name, { slot, writeId, ...(previous !== undefined && { previous }), size: Number(ref?.size?.N) || 0 });
    }
    return refs;
  }

  /** The revision an item records, 0 when none (for a row kept as it is after a corrupt read). */
  revisionOf(item: Record<string, AttributeValue>): number {
    return Number(item[BOOKKEEPING.revision]?.N) || 0;
  }

  /** The write id an item records. */
  writeIdOf(item: Record<string, AttributeValue> | undefined): string | undefined {
    return item?.[BOOKKEEPING.writeId]?.S;
  }

  private stateOf(item: Record<string, AttributeValue>): StateLayout {
    const parts = item[BOOKKEEPING.parts]?.M;
    if (parts !== undefined) {
      return { kind: 'parts', ref: { id: parts.id?.S ?? '', count: Number(parts.count?.N), digest: parts.digest?.S ?? '' } };
    }
    const packed = item[BOOKKEEPING.packed]?.B;
    if (packed !== undefined) return { kind: 'packed', bytes: packed };
    const value = item[this.names.valueFieldName];
    if (value !== undefined && value.M === undefined) {
      const kind = Object.keys(value)[0] ?? 'empty';
      throw new CorruptRowError(
        `Row ${rowName(this.location)} holds a ${kind} in attribute "${this.names.valueFieldName}", not the map of fields ` +
          'aws-lambda-persistence writes (a row of another program, such as the Python package?). ' +
          'Point tableName or tableKey elsewhere (another valueFieldName on this row would replace the data ' +
          "on the first write), or set onCorruptRow: 'start-fresh' to replace it.",
        this.location,
      );
    }
    return { kind: 'map', fields: value?.M ?? {} };
  }

  /**
   * The size DynamoDB counts for the row without the state map's content: key, bookkeeping (the
   * events it may remember included, at their limit), attribute names. Worked out on first use: a cold start that writes nothing never sizes anything.
   */
  get rowOverhead(): number {
    if (this.fixedSize === undefined) {
      // The events the row may remember count as if all were there: they are never sized one by one.
      const events: Record<string, string> = {};
      for (let i = 0; i < (this.names.eventKeyLimit ?? 0); i++) events[String(i).padStart(16, '0')] = '1764158400107.623';
      const sample = this.item({ kind: 'map', fields: {} }, 1_000_000_000, '00000000-0000-0000-0000-000000000000', undefined, undefined, events);
      delete sample[this.names.valueFieldName];
      sample[BOOKKEEPING.updatedAt] = { S: new Date(0).toISOString() };
      let size = Buffer.byteLength(this.names.valueFieldName);
      for (const name of Object.keys(sample)) size += Buffer.byteLength(name) + attributeSize(sample[name]!);
      this.fixedSize = size;
    }
    return this.fixedSize;
  }
}

/** The `versions` attribute holding `versions`. */
export function versionsAttribute(versions: Readonly<Record<string, number>>): AttributeValue {
  const map: Record<string, AttributeValue> = {};
  for (const name of Object.keys(versions)) map[name] = { N: String(versions[name]) };
  return { M: map };
}

/** The versions a `versions` attribute records (undefined: no such attribute). */
function versionsOf(attribute: AttributeValue | undefined): Readonly<Record<string, number>> | undefined {
  if (attribute?.M === undefined) return undefined;
  const versions: Record<string, number> = {};
  for (const name of Object.keys(attribute.M)) versions[name] = Number(attribute.M[name]!.N) || 0;
  return versions;
}

/** The `events` attribute holding `events` (digest to mark). */
export function eventsAttribute(events: Readonly<Record<string, string>>): AttributeValue {
  const map: Record<string, AttributeValue> = {};
  for (const digest of Object.keys(events)) map[digest] = { N: events[digest]! };
  return { M: map };
}

/** The events an `events` attribute remembers (undefined: no such attribute). */
function eventsOf(attribute: AttributeValue | undefined): Readonly<Record<string, string>> | undefined {
  if (attribute?.M === undefined) return undefined;
  const events: Record<string, string> = {};
  for (const digest of Object.keys(attribute.M)) {
    const mark = attribute.M[digest]!.N;
    if (mark !== undefined) events[digest] = mark;
  }
  return events;
}
