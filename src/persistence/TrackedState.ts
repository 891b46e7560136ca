import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  CorruptRowError,
  DecoratorUsageError,
  rowName,
  SerializationError,
  StateTooLargeError,
  warnStartingFresh,
  type ErrorLocation,
} from '../errors';
import type { FieldSpec } from '../decorators/fieldSpecs';
import { resolveFieldType } from '../decorators/fieldSpecs';
import {
  decodeValue,
  DecodeProblem,
  EncodeProblem,
  encodeValue as encodeValue_,
  fingerprint,
  needsClassCodec,
  type ClassType,
} from './codec';
import { CLASS_CODEC_FIX, registeredClassCodec } from './classCodec';
import { behavioursOf } from './fields/behaviours';
import type { FieldBehaviour, FieldContext } from './fields/FieldBehaviour';
import { conditionOf, type FieldChange, type FieldChanges } from './fields/FieldChange';
import type { OnInvalid } from './fields/schema';
import { nextEvents } from './eventMarks';
import type { StoredRow } from './RowStore';
import type { EventChanges } from './storage/itemFormat';
import { entrySize, type SizeCache } from './storage/sizes';
import { sameValue } from './sameValue';

/** An encoded field value; `attribute` undefined means the field is absent from the row. */
interface Encoded {
  readonly attribute: AttributeValue | undefined;
  readonly print: string;
  readonly size: number;
}

const ABSENT: Encoded = { attribute: undefined, print: '', size: 0 };
const REMOVE: FieldChange = { kind: 'remove' };
const NO_VERSIONS: Readonly<Record<string, number>> = {};
const NO_EVENTS: Readonly<Record<string, string>> = {};

/**
 * A stored attribute as an {@link Encoded}: its fingerprint and size are worked out when first
 * asked for. A cold start that changes nothing needs neither (they compare the field with a new
 * encoding, and size the state for a write).
 */
class StoredEncoding implements Encoded {
  private knownPrint: string | undefined;
  private knownSize: number | undefined;

  constructor(
    readonly attribute: AttributeValue,
    private readonly sizeOf: (attribute: AttributeValue) => number,
  ) {}

  get print(): string {
    return (this.knownPrint ??= fingerprint(this.attribute));
  }

  get size(): number {
    return (this.knownSize ??= this.sizeOf(this.attribute));
  }
}

/** Whether two encodings store the same value. */
function sameEncoding(a: Encoded, b: Encoded): boolean {
  return a === b || a.print === b.print;
}

/** One write's content, taken by {@link TrackedState.snapshot}. */
export interface Snapshot {
  /** The full state map to store (for a write of the whole row). */
  readonly fields: Readonly<Record<string, AttributeValue>>;
  /** The revision the write expects to replace. */
  readonly expectedRevision: number;
  /** What the write does to each field it carries a change for. */
  readonly changes: FieldChanges;
  /** The encoding each changed field will be stored as: what {@link TrackedState.confirm} records. */
  readonly encodings: ReadonlyMap<string, Encoded>;
  /** The fields' own versions after the write (those of fields whose merge conditions on them). */
  readonly versions: Readonly<Record<string, number>>;
  /** The events the row remembers after the write (digest to mark). */
  readonly events: Readonly<Record<string, string>>;
  /** The events this write records and forgets; undefined when it records none. */
  readonly eventChanges: EventChanges | undefined;
}

/** How a {@link TrackedState} behaves. */
export interface TrackedStateSettings {
  /** The table and row, for errors. */
  readonly location: Required<ErrorLocation>;
  /** The size of the row without its state: key, bookkeeping, attribute names (asked when first needed). */
  readonly rowOverhead: () => number;
  /** The largest encoded state accepted (maxStateBytes). */
  readonly maxBytes: number;
  /** Sizes of attributes, shared with the store. */
  readonly sizes: SizeCache;
  /** A stored field that cannot be decoded: fail, or treat it as absent with a warning (onCorruptRow). */
  readonly onCorruptField: 'fail' | 'start-fresh';
  /** A stored value its field's schema rejects, for fields that do not say: fail, or use the initializer. */
  readonly onInvalid?: OnInvalid;
  /** How many events the row remembers at most (eventMarks.ts). @default 0 */
  readonly eventLimit?: number;
  /** Options for a name an open state tracks (a map's key): its schema, migrate, onInvalid. */
  readonly specOf?: (name: string) => Omit<FieldSpec, 'name'>;
  /**
   * Track every name in the row and accept any name in {@link TrackedState.assign} (a map's keys),
   * rather than only the fields attached.
   */
  readonly open: boolean;
}

interface Field extends FieldContext {
  readonly spec: FieldSpec;
  /** What the field does beyond holding a value (fields/): its merge, its stored-value check. Replaced by {@link TrackedState.mergeAs}. */
  behaviours: readonly FieldBehaviour[];
  readonly type: ClassType | undefined;
  /** The initializer's value, as the constructor made it. */
  readonly initialValue: unknown;
  /**
   * Its encoding, what the field holds while the row has nothing for it: made when first needed
   * ({@link TrackedState.initialOf}), so a cold start whose row holds every field encodes none.
   */
  initial: Encoded | undefined;
  /** The field's current value. */
  value: unknown;
  /** The encoding of `value` when last checked. */
  current: Encoded;
  /** What the row holds for the field (or `initial` while it holds nothing): changed = current differs. */
  baseline: Encoded;
  /**
   * A decoded copy of `current`, for the cheap in-place mutation check; NO_COPY until the check
   * first needs it (the encoding does not change, so the copy can be made from it at any time).
   */
  copy: unknown;
  /**
   * A `current` that differs from the row without this environment having assigned it: a stored
   * value migrated (or transformed by its schema), written back with the next write that has
   * other changes (`writeBack`), or the initializer standing in for a value the schema rejects,
   * never written until the field is assigned.
   */
  held?: { readonly encoded: Encoded; readonly writeBack: boolean } | undefined;
}

/** A stored field as read: what the row holds, the value the field takes, and what it holds back. */
interface ReadField {
  readonly baseline: Encoded;
  readonly value: unknown;
  readonly current?: Encoded;
  readonly held?: Field['held'];
}

const NO_COPY = Symbol('no copy');

/** A field's state as {@link TrackedState.saved} took it. */
export interface SavedField {
  readonly current: Encoded;
  readonly baseline: Encoded;
  readonly held: Field['held'];
}

/**
 * The persistent fields of one handler instance: their values (behind accessors on the instance),
 * their encodings, and what the row holds, so that changed ("dirty") fields can be told apart and
 * written. It does no I/O: {@link WriteQueue} moves snapshots to the {@link RowStore}.
 */
export class TrackedState {
  private readonly fields = new Map<string, Field>();
  /** The state map as stored, including fields this class does not declare (kept on every write). */
  private stored: Record<string, AttributeValue> = {};
  private revision = 0;
  /** The fields' own versions as stored (fields whose merge conditions on them). */
  private versions: Readonly<Record<string, number>> = NO_VERSIONS;
  /** The events the row remembers as last seen (digest to mark: eventMarks.ts). */
  private events: Readonly<Record<string, string>> = NO_EVENTS;
  /** Where the row keeps its state (undefined: no row, or not known): writes of changes need `map`. */
  private layout: StoredRow['layout'];
  /** Called whenever a field becomes dirty through assignment. */
  onChange: () => void = () => undefined;
  /** Called before an assignment changes field `name` (its invocation keeps what it was: {@link saved}). */
  onBeforeChange: (name: string) => void = () => undefined;

  private readonly location: Required<ErrorLocation>;

  constructor(private readonly settings: TrackedStateSettings) {
    this.location = settings.location;
  }

  /**
   * Takes over the persistent fields of a constructed instance: records each own value as the
   * field's default, then replaces the own property with an accessor backed by this state.
   * Instance accessors (rather than prototype ones) work whether or not class fields are defined
   * with [[Define]] semantics, in every compiler and decorator mode.
   */
  attach(instance: object, specs: readonly FieldSpec[]): void {
    for (const spec of specs) {
      const { name } = spec;
      const value = (instance as Record<string, unknown>)[name];
      const type = resolveFieldType(spec);
      if (type !== undefined && needsClassCodec(type) && registeredClassCodec() === undefined) {
        throw new DecoratorUsageError(
          name,
          `Field "${name}" holds instances of ${type.name}, which are stored and restored through ` +
            `class-transformer: ${CLASS_CODEC_FIX}.`,
        );
      }
      const behaviours = behavioursOf(spec);
      for (const behaviour of behaviours) {
        const problem = behaviour.check?.(value, name);
        if (problem !== undefined) throw new DecoratorUsageError(name, problem);
      }
      // current and baseline are set by load(), from the row or the initializer.
      this.fields.set(name, this.newField(spec, behaviours, type, value, undefined));
      delete (instance as Record<string, unknown>)[name];
      Object.defineProperty(instance, name, {
        configurable: true,
        enumerable: true,
        get: () => this.fields.get(name)!.value,
        set: (next: unknown) => this.assign({ [name]: next }),
      });
    }
  }

  /**
   * Makes `name` (tracked from now on, in an open state) merge with `merge`: a map's
   * `increment()` sums its key.
   */
  mergeAs(name: string, merge: FieldBehaviour<never>): void {
    const field = this.fields.get(name) ?? this.track(name);
    if (field.behaviours[0] === merge) return;
    field.behaviours = [merge as FieldBehaviour, ...field.behaviours.filter((behaviour) => behaviour.change === undefined && behaviour.merge === undefined)];
  }

  private newField(spec: FieldSpec, behaviours: readonly FieldBehaviour[], type: ClassType | undefined, initialValue: unknown, initial: Encoded | undefined): Field {
    const { name } = spec;
    const encodeValue = (value: unknown, path: string): AttributeValue => encodeValue_(path, value, type);
    return { name, spec, behaviours, type, initialValue, initial, value: initialValue, current: ABSENT, baseline: ABSENT, copy: NO_COPY, encodeValue };
  }

  /** Whether `name` is a persistent field. */
  has(name: string): boolean {
    return this.fields.has(name);
  }

  /** The current value of `name` (undefined when absent). */
  get(name: string): unknown {
    return this.fields.get(name)?.value;
  }

  /** The names whose values are not undefined, in the order they were first tracked. */
  *names(): IterableIterator<string> {
    for (const [name, field] of this.fields) if (field.value !== undefined) yield name;
  }

  /** Tracks a name of an open state, absent until assigned. */
  private track(name: string): Field {
    const spec: FieldSpec = { ...this.settings.specOf?.(name), name };
    const field = this.newField(spec, behavioursOf(spec), undefined, undefined, ABSENT);
    this.fields.set(name, field);
    return field;
  }

  /**
   * Assigns several fields at once. Every value is encoded and the resulting size checked before
   * any is assigned, so a refused value changes nothing.
   */
  assign(values: Readonly<Record<string, unknown>>): boolean {
    const staged: [Field, unknown, Encoded][] = [];
    for (const name of Object.keys(values)) {
      const field = this.fields.get(name) ?? this.track(name);
      staged.push([field, values[name], this.encode(field, values[name])]);
    }
    this.checkSize(staged.map(([field, , encoded]) => [field, encoded]));
    let changed = false;
    for (const [field, value, encoded] of staged) {
      if (!sameEncoding(encoded, field.current)) this.onBeforeChange(field.name);
      field.held = undefined;
      field.value = value;
      if (!sameEncoding(encoded, field.current)) changed = true;
      field.current = encoded;
      field.copy = NO_COPY;
    }
    // Also when the value went back to what the row holds: a write of the intermediate value may be
    // in flight, and the queued write then finds the field dirty again.
    if (changed) this.onChange();
    return changed;
  }

  /**
   * Re-encodes fields holding objects, to catch in-place mutations (`arr.push`, `map.set`,
   * `date.setTime`) that never reach a setter. A field whose value can no longer be stored is put
   * back to what the row holds and reported; the other fields are unaffected. `changed`: whether
   * any field was found changed in place.
   */
  detectMutations(): { refused: (SerializationError | StateTooLargeError)[]; changed: boolean } {
    const refused: (SerializationError | StateTooLargeError)[] = [];
    let changed = false;
    for (const field of this.fields.values()) {
      const { value } = field;
      // Primitives cannot change in place, and were encoded when assigned.
      if (value === null || typeof value !== 'object') continue;
      if (this.matchesCopy(field)) continue;
      let encoded: Encoded;
      try {
        encoded = this.encode(field, value);
        if (!sameEncoding(encoded, field.current)) this.checkSize([[field, encoded]]);
      } catch (error) {
        if (!(error instanceof SerializationError || error instanceof StateTooLargeError)) throw error;
        refused.push(error);
        field.current = field.baseline;
        field.value = this.decode(field, field.baseline.attribute);
        field.copy = NO_COPY;
        continue;
      }
      if (!sameEncoding(encoded, field.current)) {
        field.current = encoded;
        field.copy = NO_COPY;
        changed = true;
      }
    }
    return { refused, changed };
  }

  /** What field `name` holds now, to put back with {@link restore} (an invocation's changes undone). */
  saved(name: string): SavedField {
    const field = this.fields.get(name)!;
    return { current: field.current, baseline: field.baseline, held: field.held };
  }

  /**
   * Puts field `name` back to what {@link saved} took, as a fresh value decoded from that encoding
   * (the object the field held then may have changed in place since).
   */
  restore(name: string, saved: SavedField): void {
    const field = this.fields.get(name)!;
    // Unchanged before the invocation, and the row's value taken in since (a refresh, a conflict):
    // back to the row's value, not to the older one (a sum would write a negative delta).
    const back = sameEncoding(saved.current, saved.baseline) ? field.baseline : saved.current;
    field.current = back;
    field.held = saved.held;
    field.value = back.attribute === undefined ? undefined : this.decode(field, back.attribute);
    field.copy = NO_COPY;
  }

  /**
   * Undoes in-place changes not yet found (`arr.push` since the field was last encoded): each such
   * field takes a fresh value decoded from its last encoding.
   */
  revertMutations(): void {
    for (const field of this.fields.values()) {
      const { value } = field;
      if (value === null || typeof value !== 'object' || this.matchesCopy(field)) continue;
      field.value = field.current.attribute === undefined ? undefined : this.decode(field, field.current.attribute);
      field.copy = NO_COPY;
    }
  }

  /**
   * Whether an object field still equals the decoded copy of its last encoding: far cheaper than
   * encoding it again. Only a value that differs is re-encoded, and the encoding decides.
   */
  private matchesCopy(field: Field): boolean {
    if (field.copy === NO_COPY && field.current.attribute !== undefined) {
      try {
        field.copy = this.decode(field, field.current.attribute);
      } catch {
        return false;
      }
    }
    return field.copy !== NO_COPY && sameValue(field.value, field.copy);
  }

  /** Loads the row read on a cold start: stored fields replace the initializers' values. */
  load(row: StoredRow | null): void {
    // Nothing stored for a field: the initializer's value stands, as the very object the constructor made.
    this.takeRow(row, (field, stored) => (stored[field.spec.name] !== undefined ? 'read' : 'initial'));
  }

  /**
   * Takes in a row another environment wrote (after a conflict, or a refresh): fields changed here
   * keep their new values, every other field takes the row's.
   */
  adopt(row: StoredRow | null): void {
    this.takeRow(row, (field, stored) => {
      if (sameEncoding(field.current, field.baseline) && !this.changedInPlace(field)) return 'read';
      // Changed here and there: last writer wins (this environment writes next), or the field's merge.
      if (mergerOf(field) === undefined || sameEncoding(this.storedEncoding(field, stored), field.baseline)) return 'keep';
      return 'merge';
    });
  }

  /**
   * Makes `row` the stored row, each field as `choose` says: `read` takes the row's value,
   * `initial` keeps the initializer's (the row has none), `keep` keeps the value changed here and
   * only moves its baseline. All or nothing: every field is decoded or encoded before anything
   * changes, so a field that cannot be (a corrupt value, an initializer that cannot be stored)
   * leaves the state as it was, revision included, rather than half of it taken in.
   */
  private takeRow(
    row: StoredRow | null,
    choose: (field: Field, stored: Record<string, AttributeValue>) => 'read' | 'initial' | 'keep' | 'merge',
  ): void {
    const stored = { ...(row?.fields ?? {}) };
    if (this.settings.open) for (const name of Object.keys(stored)) if (!this.fields.has(name)) this.track(name);
    const taken: [Field, ReadField][] = [];
    const kept: [Field, Encoded][] = [];
    const merged: [Field, Encoded, unknown, Encoded][] = [];
    for (const field of this.fields.values()) {
      const choice = choose(field, stored);
      if (choice === 'read') {
        // The row holds the very attribute object this field was read or written as (a field item the
        // store holds): nothing to decode or check again, which for a large field with a schema
        // would be on every write.
        const attribute = stored[field.spec.name];
        if (attribute !== undefined && attribute === field.baseline.attribute && field.held === undefined) continue;
        taken.push([field, this.readStored(field, stored)]);
      } else if (choice === 'initial') taken.push([field, { baseline: this.initialOf(field), value: field.value }]);
      else if (choice === 'keep') kept.push([field, this.storedEncoding(field, stored)]);
      else {
        const { baseline: theirs, value: theirValue } = this.readStored(field, stored);
        const value = this.mergedValue(field, theirValue);
        merged.push([field, theirs, value, this.encode(field, value, '(the value its merge returned)')]);
      }
    }
    this.stored = stored;
    this.revision = row?.revision ?? 0;
    this.versions = row?.versions ?? NO_VERSIONS;
    this.events = row?.events ?? NO_EVENTS;
    this.layout = row === null ? undefined : (row.layout ?? 'map');
    for (const [field, read] of taken) {
      field.baseline = read.baseline;
      field.current = read.current ?? read.baseline;
      field.held = read.held;
      field.copy = NO_COPY;
      field.value = read.value;
    }
    for (const [field, baseline] of kept) field.baseline = baseline;
    for (const [field, baseline, value, encoded] of merged) {
      field.held = undefined;
      field.baseline = baseline;
      field.current = encoded;
      field.value = value;
      field.copy = NO_COPY;
    }
  }

  /** A field changed here and in the row: this environment's change merged into the row's value. */
  private mergedValue(field: Field, theirs: unknown): unknown {
    const base = this.decode(field, field.baseline.attribute);
    const same = (a: unknown, b: unknown): boolean => sameEncoding(this.encode(field, a), this.encode(field, b));
    return mergerOf(field)!.merge!(base, field.value, theirs, { ...field, same });
  }

  /**
   * Whether an object field was changed in place since it was last encoded (then its encoding is
   * brought up to date). A value that can no longer be encoded counts as changed: it is kept for
   * the final flush, which refuses it.
   */
  private changedInPlace(field: Field): boolean {
    const { value } = field;
    if (value === null || typeof value !== 'object') return false;
    if (this.matchesCopy(field)) return false;
    let encoded: Encoded;
    try {
      encoded = this.encode(field, value);
    } catch (error) {
      if (error instanceof SerializationError) return true;
      throw error;
    }
    if (sameEncoding(encoded, field.current)) return false;
    field.current = encoded;
    field.copy = NO_COPY;
    return true;
  }

  /** Whether the next write would have anything to write (a snapshot would not be undefined). */
  hasChanges(): boolean {
    return this.dirty().size > 0;
  }

  /** The content of the next write, or undefined when nothing is dirty. */
  /** The mark the row holds for event `digest` as last seen, if any. */
  eventMark(digest: string): string | undefined {
    return this.events[digest];
  }

  /**
   * The content of the next write, or undefined when nothing is dirty. `recorded`: the events whose
   * changes it carries (digest to mark), recorded in the same request (eventMarks.ts).
   */
  snapshot(recorded?: ReadonlyMap<string, string>, held?: (name: string) => boolean): Snapshot | undefined {
    const encodings = this.dirty();
    // Fields held back (changes of invocations still running, onFailure: 'discard') stay dirty for a later write.
    if (held !== undefined) for (const name of [...encodings.keys()]) if (held(name)) encodings.delete(name);
    if (encodings.size === 0) return undefined;
    const changes = new Map<string, FieldChange>();
    let versions = this.versions;
    for (const [name, encoded] of encodings) {
      const change = this.changeOf(this.fields.get(name)!, encoded);
      changes.set(name, change);
      const condition = conditionOf(change);
      if (condition?.kind === 'version') versions = { ...versions, [name]: condition.expected + 1 };
    }
    const next = recorded !== undefined && recorded.size > 0 ? nextEvents(this.events, recorded, this.settings.eventLimit ?? 0) : undefined;
    return {
      fields: this.merged(encodings),
      expectedRevision: this.revision,
      changes,
      encodings,
      versions,
      events: next?.events ?? this.events,
      eventChanges: next?.changes,
    };
  }

  /**
   * The change a write makes for a dirty field: what its behaviour says (a `sum` adds the
   * difference, `keys` sets single keys, a merge function conditions on the field's version), else
   * the value is stored (or removed), last writer wins.
   */
  private changeOf(field: Field, encoded: Encoded): FieldChange {
    const behaviour = field.behaviours.find((candidate) => candidate.change !== undefined);
    if (behaviour !== undefined) {
      return behaviour.change!({
        ...field,
        current: encoded.attribute,
        baseline: field.baseline.attribute,
        inRow: this.stored[field.name] !== undefined,
        initial: this.initialOf(field).attribute,
        version: this.versions[field.name] ?? 0,
      });
    }
    return encoded.attribute === undefined ? REMOVE : { kind: 'set', attribute: encoded.attribute };
  }

  /**
   * The fields whose current encoding differs from the row's, with that encoding. A field whose
   * difference is only held back (see `Field.held`) is not dirty: a migrated value joins a write
   * that other changes make, an initializer standing in for a rejected value never does.
   */
  private dirty(): Map<string, Encoded> {
    const dirty = new Map<string, Encoded>();
    let migrated: Field[] | undefined;
    for (const field of this.fields.values()) {
      if (sameEncoding(field.current, field.baseline)) continue;
      if (field.held !== undefined && sameEncoding(field.current, field.held.encoded)) {
        if (field.held.writeBack) (migrated ??= []).push(field);
        continue;
      }
      dirty.set(field.spec.name, field.current);
    }
    if (dirty.size > 0 && migrated !== undefined) for (const field of migrated) dirty.set(field.spec.name, field.current);
    return dirty;
  }

  /** The revision of the row this state was last read from or written to. */
  get storedRevision(): number {
    return this.revision;
  }

  /**
   * Records that `snapshot` is durable at `revision` in `layout`. With `row`, the whole row after
   * the write (a write of changes returns it), other writers' fields are taken in too and summed
   * fields take the row's total.
   */
  confirm(snapshot: Snapshot, written: { readonly revision: number; readonly layout?: StoredRow['layout']; readonly row?: StoredRow }): void {
    this.stored = { ...snapshot.fields };
    this.revision = written.revision;
    this.versions = snapshot.versions;
    this.events = snapshot.events;
    if (written.layout !== undefined) this.layout = written.layout;
    for (const [name, encoded] of snapshot.encodings) this.fields.get(name)!.baseline = encoded;
    // Nothing to take in when no other write came between the row this environment knew and this
    // one (each write adds one to the revision): the row is what this state holds now. Spares
    // decoding (and checking) every field again on every write.
    if (written.row === undefined || written.revision === snapshot.expectedRevision + 1) return;
    try {
      this.adopt(written.row);
    } catch (error) {
      // This write is durable, but the other writers' changes that came back with it could not be
      // taken in (adopt takes all or nothing). Never write from this stale copy as if it were
      // current: back to the revision before the write, so the next write is a whole-row write
      // that conflicts and reads the row again. The problem is reported by the next flush.
      this.revision = snapshot.expectedRevision;
      this.layout = undefined;
      this.problem ??= error;
    }
  }

  /** A problem met after a write was durable (see {@link confirm}), reported once. */
  takeProblem(): unknown {
    const problem = this.problem;
    this.problem = undefined;
    return problem;
  }

  private problem: unknown;

  /** Whether the row exists in the readable layout, so that a write may carry only the changes. */
  get writesChanges(): boolean {
    return this.revision > 0 && this.layout === 'map';
  }

  /** The last known row, to write again into a table that was recreated. */
  forgetRevision(): void {
    this.revision = 0;
    this.layout = undefined;
  }

  /**
   * A stored field's encoding and value: decoded (with start-fresh, a corrupt one is dropped from
   * `stored`), then checked by its schema and migrated, if it has them.
   */
  private readStored(field: Field, stored: Record<string, AttributeValue>): ReadField {
    const encoded = this.storedEncoding(field, stored);
    let value: unknown;
    try {
      value = this.decode(field, encoded.attribute);
    } catch (error) {
      if (!(error instanceof CorruptRowError) || this.settings.onCorruptField === 'fail') throw error;
      warnStartingFresh(error);
      // As if the row had nothing for the field: the initializer stands, the next write drops it.
      delete stored[field.spec.name];
      return { baseline: this.initialOf(field), value: this.decode(field, undefined) };
    }
    if (encoded.attribute === undefined || !field.behaviours.some((behaviour) => behaviour.read !== undefined)) return { baseline: encoded, value };
    for (const behaviour of field.behaviours) {
      if (behaviour.read === undefined) continue;
      const outcome = behaviour.read(value, {
        ...field,
        row: `Row ${rowName(this.location)}`,
        location: this.location,
        onInvalid: this.settings.onInvalid,
        // Already standing in for this very stored value (a re-read found it unchanged).
        standingIn: field.held !== undefined && !field.held.writeBack && sameEncoding(field.baseline, encoded),
      });
      if ('useInitializer' in outcome) {
        // The row keeps the value until the field is assigned: held back, never written by itself.
        const initial = this.initialOf(field);
        return { baseline: encoded, value: this.decode(field, undefined), current: initial, held: { encoded: initial, writeBack: false } };
      }
      value = outcome.value;
    }
    // A value migrated (or transformed by its schema): written back with the next write that has other changes.
    const current = this.encode(field, value, '(the value migrate or the schema returned for the stored one)');
    if (sameEncoding(current, encoded)) return { baseline: encoded, value };
    return { baseline: encoded, value, current, held: { encoded: current, writeBack: true } };
  }

  private storedEncoding(field: Field, stored: Record<string, AttributeValue>): Encoded {
    const attribute = stored[field.spec.name];
    if (attribute === undefined) return this.initialOf(field);
    return new StoredEncoding(attribute, this.sizeOfAttribute);
  }

  private readonly sizeOfAttribute = (attribute: AttributeValue): number => this.settings.sizes.dynamo(attribute);

  private merged(changes: ReadonlyMap<string, Encoded>): Record<string, AttributeValue> {
    const fields = { ...this.stored };
    for (const [name, encoded] of changes) {
      if (encoded.attribute === undefined) delete fields[name];
      else fields[name] = encoded.attribute;
    }
    return fields;
  }

  private checkSize(candidates: [Field, Encoded][]): void {
    const changes = this.dirty();
    for (const [field, encoded] of candidates) changes.set(field.spec.name, encoded);
    // The row's size per the DynamoDB rules: the state map (3 bytes, plus per entry 1 byte, the
    // name and the value) and the rest of the row. Sizes of encodings are known already.
    let size = this.settings.rowOverhead() + 3;
    for (const [name, attribute] of Object.entries(this.stored)) {
      if (!changes.has(name)) size += entrySize(name, this.settings.sizes.dynamo(attribute));
    }
    for (const [name, encoded] of changes) {
      if (encoded.attribute !== undefined) size += entrySize(name, encoded.size);
    }
    if (size > this.settings.maxBytes) {
      const largest = candidates.reduce((a, b) => (b[1].size > a[1].size ? b : a));
      throw new StateTooLargeError(largest[0].spec.name, size, this.settings.maxBytes, this.location);
    }
  }

  /** `what`: said after the problem in the error, e.g. that the value is an initializer. */
  private encode(field: Field, value: unknown, what?: string): Encoded {
    if (value === undefined) return ABSENT;
    const { name } = field;
    try {
      let attribute: AttributeValue | undefined;
      for (const behaviour of field.behaviours) if ((attribute = behaviour.encode?.(value, field)) !== undefined) break;
      attribute ??= encodeValue_(name, value, field.type);
      return { attribute, print: fingerprint(attribute), size: this.settings.sizes.dynamo(attribute) };
    } catch (error) {
      if (error instanceof EncodeProblem) {
        const problem = what === undefined ? error.problem : `${error.problem} ${what}`;
        throw new SerializationError(name, error.path, problem, { cause: error.cause });
      }
      throw error;
    }
  }

  /** The encoding of the field's initializer, made on first use (when the row has no value for it). */
  private initialOf(field: Field): Encoded {
    return (field.initial ??= this.encode(field, field.initialValue, "(the field's initializer, its value while the row has none)"));
  }

  /** Decodes `attribute`, or a copy of the initializer when it is undefined. */
  private decode(field: Field, attribute: AttributeValue | undefined): unknown {
    const name = field.spec.name;
    const source = attribute ?? this.initialOf(field).attribute;
    if (source === undefined) return undefined;
    try {
      for (const behaviour of field.behaviours) {
        const decoded = behaviour.decode?.(source, field);
        if (decoded !== undefined) return decoded.value;
      }
      return decodeValue(name, source, field.type);
    } catch (error) {
      if (error instanceof DecodeProblem) {
        throw new CorruptRowError(
          `Row ${rowName(this.location)}: field "${name}" at ` +
            `${error.path}: ${error.problem}.`,
          { ...this.location, cause: error.cause },
        );
      }
      throw error;
    }
  }
}

/** The behaviour that merges a field changed here and in the row, if any. */
function mergerOf(field: Field): FieldBehaviour | undefined {
  return field.behaviours.find((behaviour) => behaviour.merge !== undefined);
}
