import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CorruptRowError, rowName, type ErrorLocation } from '../../errors';
import type { FieldChange } from '../FieldChange';
import { attributeSize } from './sizes';

/**
 * The stored item, both ways: where the state and each field live in a function's row, the
 * bookkeeping beside them, and the keys of a large state's part items. The one owner of the item's
 * attribute names (docs/storage-format.md).
 */

/**
 * Version of the stored format, written with every row as `format`. See docs/storage-format.md.
 *
 * @example
 * ```ts
 * if (Number(item.format?.N ?? 1) > FORMAT_VERSION) console.warn('row written by a newer release');
 * ```
 */
export const FORMAT_VERSION = 1;

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
} as const;

/** Attribute names that `keyFieldName` and `valueFieldName` may not take. */
export const RESERVED_ATTRIBUTES: readonly string[] = Object.values(BOOKKEEPING);

/** Where the parts of a large state are. Part items are never changed: each write makes new ones. */
export interface PartsRef {
  readonly id: string;
  readonly count: number;
  readonly digest: string;
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
}

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
    private readonly names: { readonly keyFieldName: string; readonly valueFieldName: string },
    private readonly location: Required<ErrorLocation>,
  ) {
    this.key = { [names.keyFieldName]: { S: location.tableKey } };
  }

  /** The key of a large state's part `index` (under the row's key, so `dynamodb:LeadingKeys` confines it). */
  partKey(id: string, index: number): Record<string, AttributeValue> {
    return { [this.names.keyFieldName]: { S: `${this.location.tableKey}#part#${id}#${index}` } };
  }

  /** The keys of every part of `ref`. */
  partKeys(ref: { readonly id: string; readonly count: number }): Record<string, AttributeValue>[] {
    return Array.from({ length: ref.count }, (_, i) => this.partKey(ref.id, i));
  }

  /** A part item holding `bytes`. */
  partItem(key: Record<string, AttributeValue>, bytes: Uint8Array): Record<string, AttributeValue> {
    return { ...key, [BOOKKEEPING.part]: { B: bytes } };
  }

  /** The slice a part item holds, or undefined. */
  partBytes(item: Record<string, AttributeValue> | undefined): Uint8Array | undefined {
    return item?.[BOOKKEEPING.part]?.B;
  }

  /** The whole row: key, state and bookkeeping for `revision`, written by write `writeId`. */
  item(state: StateLayout, revision: number, writeId: string): Record<string, AttributeValue> {
    // Built by assignment: an object literal with two spreads and computed keys took ~6 µs here
    // against ~1 µs (docs/performance.md).
    const item: Record<string, AttributeValue> = Object.assign({}, this.key);
    if (state.kind === 'map') item[this.names.valueFieldName] = { M: state.fields as Record<string, AttributeValue> };
    else if (state.kind === 'packed') item[BOOKKEEPING.packed] = { B: state.bytes };
    else {
      const { id, count, digest } = state.ref;
      item[BOOKKEEPING.parts] = { M: { id: { S: id }, count: { N: String(count) }, digest: { S: digest } } };
    }
    item[BOOKKEEPING.revision] = { N: String(revision) };
    item[BOOKKEEPING.format] = { N: String(FORMAT_VERSION) };
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
   * the longer form.
   */
  update(changes: ReadonlyMap<string, FieldChange>, expectedRevision: number, writeId: string, rowHasWriteId = false): UpdateParts {
    const names: Record<string, string> = {
      '#state': this.names.valueFieldName,
      '#revision': BOOKKEEPING.revision,
      '#format': BOOKKEEPING.format,
      '#updatedAt': BOOKKEEPING.updatedAt,
      '#writeId': BOOKKEEPING.writeId,
    };
    const values: Record<string, AttributeValue> = {
      ':one': { N: '1' },
      ':format': { N: String(FORMAT_VERSION) },
      ':updatedAt': { S: new Date().toISOString() },
      ':writeId': { S: writeId },
    };
    const set = ['#revision = #revision + :one', '#format = :format', '#updatedAt = :updatedAt', '#writeId = :writeId'];
    const remove: string[] = [];
    // A resend of this very write (the SDK retrying after a lost answer) must not apply twice: an
    // added delta would count twice. The row names the last write applied to it.
    const conditions = ['attribute_exists(#state)', rowHasWriteId ? '#writeId <> :writeId' : '(attribute_not_exists(#writeId) OR #writeId <> :writeId)'];
    let i = 0;
    for (const [name, change] of changes) {
      const field = `#f${i}`;
      const path = `#state.${field}`;
      names[field] = name;
      if (change.kind === 'set') {
        values[`:v${i}`] = change.attribute;
        set.push(`${path} = :v${i}`);
      } else if (change.kind === 'add') {
        values[`:v${i}`] = change.delta;
        values[`:z${i}`] = change.from;
        set.push(`${path} = if_not_exists(${path}, :z${i}) + :v${i}`);
      } else {
        remove.push(path);
      }
      i++;
    }
    if ([...changes.values()].some((change) => change.kind !== 'add' && change.conditional === true)) {
      values[':expected'] = { N: String(expectedRevision) };
      conditions.push('#revision = :expected');
    }
    return {
      UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
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
    };
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
   * The size DynamoDB counts for the row without the state map's content: key, bookkeeping,
   * attribute names. Worked out on first use: a cold start that writes nothing never sizes anything.
   */
  get rowOverhead(): number {
    if (this.fixedSize === undefined) {
      const sample = this.item({ kind: 'map', fields: {} }, 1_000_000_000, '00000000-0000-0000-0000-000000000000');
      delete sample[this.names.valueFieldName];
      sample[BOOKKEEPING.updatedAt] = { S: new Date(0).toISOString() };
      let size = Buffer.byteLength(this.names.valueFieldName);
      for (const name of Object.keys(sample)) size += Buffer.byteLength(name) + attributeSize(sample[name]!);
      this.fixedSize = size;
    }
    return this.fixedSize;
  }
}
