import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { FieldChange } from '../fields/FieldChange';
import { BOOKKEEPING, eventsAttribute, versionsAttribute, type EventChanges, type FieldRef, type Placement, type UpdateParts } from './itemFormat';

/** What {@link updateExpression} needs beside the changes: the row as last seen, and this write. */
export interface UpdateSettings {
  /** The attribute holding the state map (`valueFieldName`). */
  readonly valueFieldName: string;
  readonly expectedRevision: number;
  readonly writeId: string;
  /** The row as last seen names the write that made it. */
  readonly rowHasWriteId: boolean;
  /** Fields moving into items of their own, or out of them. */
  readonly placement: Placement;
  /** The row as last seen has `versions`. */
  readonly rowHasVersions: boolean;
  /** The row as last seen has `events`. */
  readonly rowHasEvents: boolean;
  /** The events this write records and forgets. */
  readonly events?: EventChanges;
  /** A field ref as the row stores it. */
  readonly refAttribute: (ref: FieldRef) => AttributeValue;
}

/**
 * The UpdateItem of a write of changes (ItemFormat.update says what it does): its expression, its
 * condition and their placeholders, from the changes of the fields, their placement, the fields'
 * own versions and the events the write records.
 */
export function updateExpression(
  changes: ReadonlyMap<string, FieldChange>,
  { valueFieldName, expectedRevision, writeId, rowHasWriteId, placement, rowHasVersions, rowHasEvents, events, refAttribute }: UpdateSettings,
): UpdateParts {
  const names: Record<string, string> = {
    '#state': valueFieldName,
    '#revision': BOOKKEEPING.revision,
    '#updatedAt': BOOKKEEPING.updatedAt,
    '#writeId': BOOKKEEPING.writeId,
  };
  const values: Record<string, AttributeValue> = {
    ':one': { N: '1' },
    ':updatedAt': { S: new Date().toISOString() },
    ':writeId': { S: writeId },
  };
  const set = ['#revision = #revision + :one', '#updatedAt = :updatedAt', '#writeId = :writeId'];
  const remove: string[] = [];
  // A resend of this very write (the SDK retrying after a lost answer) must not apply twice: an
  // added delta would count twice. The row names the last write applied to it.
  const conditions = ['attribute_exists(#state)', rowHasWriteId ? '#writeId <> :writeId' : '(attribute_not_exists(#writeId) OR #writeId <> :writeId)'];
  let i = 0;
  let byRevision = false;
  const versioned = new Map<string, number>();
  const fieldName = (name: string): string => {
    const placeholder = `#f${i++}`;
    names[placeholder] = name;
    return placeholder;
  };
  for (const [name, change] of changes) {
    const field = fieldName(name);
    const path = `#state.${field}`;
    const v = field.replace('#f', ':v');
    if (placement.refer.has(name)) {
      const { ref, expected } = placement.refer.get(name)!;
      names['#items'] ??= BOOKKEEPING.items;
      values[v] = refAttribute(ref);
      set.push(`#items.${field} = ${v}`);
      remove.push(path);
      if (expected === undefined) conditions.push(`attribute_not_exists(#items.${field})`);
      else {
        values[v.replace(':v', ':e')] = { S: expected };
        conditions.push(`#items.${field}.#writeId = ${v.replace(':v', ':e')}`);
      }
      continue;
    }
    if (placement.unrefer.has(name)) {
      names['#items'] ??= BOOKKEEPING.items;
      remove.push(`#items.${field}`);
    }
    if (change.kind === 'keys') {
      // Single keys at their own paths, so writers of other keys never meet. The map must be
      // there (another writer may have removed the field): else a conflict, and a re-read.
      let container = path;
      for (const step of change.path) {
        const placeholder = `#p${i++}`;
        names[placeholder] = step;
        container += `.${placeholder}`;
      }
      conditions.push(`attribute_exists(${container})`);
      for (const [key, attribute] of change.set) {
        const k = `#k${i}`;
        names[k] = key;
        values[`:k${i++}`] = attribute;
        set.push(`${container}.${k} = :k${i - 1}`);
      }
      for (const key of change.remove) {
        const k = `#k${i++}`;
        names[k] = key;
        remove.push(`${container}.${k}`);
      }
      continue;
    }
    const condition = change.kind === 'add' ? undefined : change.condition;
    if (condition?.kind === 'absent') conditions.push(`attribute_not_exists(${path})`);
    else if (condition?.kind === 'version') versioned.set(name, condition.expected);
    else if (condition?.kind === 'revision') byRevision = true;
    if (change.kind === 'set') {
      values[v] = change.attribute;
      set.push(`${path} = ${v}`);
    } else if (change.kind === 'add') {
      values[v] = change.delta;
      values[v.replace(':v', ':z')] = change.from;
      set.push(`${path} = if_not_exists(${path}, ${v.replace(':v', ':z')}) + ${v}`);
    } else {
      remove.push(path);
    }
  }
  if (placement.refer.size > 0) {
    // The row has fields in items of its own from now on: a format-1 reader must not take it.
    names['#format'] = BOOKKEEPING.format;
    values[':format'] = { N: '2' };
    set.push('#format = :format');
  }
  if (byRevision) {
    values[':expected'] = { N: String(expectedRevision) };
    conditions.push('#revision = :expected');
  }
  if (versioned.size > 0) {
    // Each field's own version goes up by one, on the condition that it is still the one this
    // write's change was based on: only writers of the same field conflict.
    names['#versions'] = BOOKKEEPING.versions;
    if (rowHasVersions) {
      for (const [name, expected] of versioned) {
        const f = `#f${i}`;
        names[f] = name;
        values[`:n${i}`] = { N: String(expected + 1) };
        set.push(`#versions.${f} = :n${i}`);
        if (expected === 0) conditions.push(`attribute_not_exists(#versions.${f})`);
        else {
          values[`:e${i}`] = { N: String(expected) };
          conditions.push(`#versions.${f} = :e${i}`);
        }
        i++;
      }
    } else {
      // The row has no versions yet: they are created, on the condition that nobody created them meanwhile.
      values[':versions'] = versionsAttribute(Object.fromEntries([...versioned].map(([name, expected]) => [name, expected + 1])));
      set.push('#versions = :versions');
      conditions.push('attribute_not_exists(#versions)');
    }
  }
  if (events !== undefined && events.recorded.size > 0) {
    // Each event once: recorded on the condition that the row has no mark for it, or this very
    // invocation's (a write of its that landed already): a retry of the event applies nothing.
    names['#events'] = BOOKKEEPING.events;
    if (rowHasEvents) {
      for (const [digest, mark] of events.recorded) {
        const k = `#e${i}`;
        names[k] = digest;
        values[`:m${i}`] = { N: mark };
        set.push(`#events.${k} = :m${i}`);
        conditions.push(`(attribute_not_exists(#events.${k}) OR #events.${k} = :m${i})`);
        i++;
      }
      for (const digest of events.forgotten) {
        const k = `#e${i++}`;
        names[k] = digest;
        remove.push(`#events.${k}`);
      }
    } else {
      values[':events'] = eventsAttribute(Object.fromEntries(events.recorded));
      set.push('#events = :events');
      conditions.push('attribute_not_exists(#events)');
    }
  }
  return {
    UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
