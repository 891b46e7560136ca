/** The UpdateItem a write of changes sends, as ItemFormat renders it (request shapes only). */
import { ItemFormat } from '../../src/persistence/storage/itemFormat';
import type { FieldChange } from '../../src/persistence/fields/FieldChange';

const format = new ItemFormat({ keyFieldName: 'key', valueFieldName: 'value' }, { tableName: 'T', tableKey: 'fn' });
const update = (changes: [string, FieldChange][], rowHasVersions = false) => format.update(new Map(changes), 4, 'w1', true, undefined, rowHasVersions);

describe('Class: ItemFormat, update()', () => {
  it('sets and removes single keys under the map they live in, on the condition that it is there, and never on the revision', () => {
    const parts = update([['seen', { kind: 'keys', path: ['@value'], set: new Map([['a b', { N: '1' }]]), remove: ['gone'], attribute: { M: {} } }]]);
    expect(parts.UpdateExpression).toContain('#state.#f0.#p1.#k2 = :k2');
    expect(parts.UpdateExpression).toMatch(/REMOVE #state\.#f0\.#p1\.#k3$/);
    expect(parts.ExpressionAttributeNames).toMatchObject({ '#f0': 'seen', '#p1': '@value', '#k2': 'a b', '#k3': 'gone' });
    expect(parts.ConditionExpression).toContain('attribute_exists(#state.#f0.#p1)');
    expect(parts.ConditionExpression).not.toContain('#revision');
  });

  it("conditions a merge function's change on the field's own version, creating the versions when the row has none", () => {
    const set: FieldChange = { kind: 'set', attribute: { L: [] }, condition: { kind: 'version', expected: 2 } };
    const withVersions = update([['tags', set]], true);
    expect(withVersions.UpdateExpression).toContain('#versions.#f1 = :n1');
    expect(withVersions.ConditionExpression).toContain('#versions.#f1 = :e1');
    expect(withVersions.ExpressionAttributeValues).toMatchObject({ ':n1': { N: '3' }, ':e1': { N: '2' } });
    expect(withVersions.ConditionExpression).not.toContain('#revision');
    const first = update([['tags', { ...set, condition: { kind: 'version', expected: 0 } }]]);
    expect(first.UpdateExpression).toContain('#versions = :versions');
    expect(first.ConditionExpression).toContain('attribute_not_exists(#versions)');
    expect(first.ExpressionAttributeValues[':versions']).toEqual({ M: { tags: { N: '1' } } });
  });

  it('conditions a first value on its absence, and a whole-value change on the revision read', () => {
    expect(update([['seen', { kind: 'set', attribute: { M: {} }, condition: { kind: 'absent' } }]]).ConditionExpression).toContain('attribute_not_exists(#state.#f0)');
    const byRevision = update([['seen', { kind: 'set', attribute: { M: {} }, condition: { kind: 'revision' } }]]);
    expect(byRevision.ConditionExpression).toContain('#revision = :expected');
    expect(byRevision.ExpressionAttributeValues[':expected']).toEqual({ N: '4' });
  });

  it('reads the versions back from a row', () => {
    const item = format.item({ kind: 'map', fields: {} }, 1, 'w1', new Map(), { tags: 3 });
    expect(item.versions).toEqual({ M: { tags: { N: '3' } } });
    expect(format.parse(item).versions).toEqual({ tags: 3 });
    expect(format.parse(format.item({ kind: 'map', fields: {} }, 1, 'w1')).versions).toBeUndefined();
  });
});

describe('Class: ItemFormat, rowOverhead', () => {
  it('counts the events the row may remember at their limit, so that a full list never pushes the row past its size unnoticed', () => {
    const location = { tableName: 'T', tableKey: 'fn' };
    const none = new ItemFormat({ keyFieldName: 'key', valueFieldName: 'value', eventKeyLimit: 0 }, location).rowOverhead;
    const full = new ItemFormat({ keyFieldName: 'key', valueFieldName: 'value', eventKeyLimit: 32 }, location);
    // A row with 32 real events (16-character digests, marks of this form) is no larger than counted.
    const events = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`digest-${String(i).padStart(9, '0')}`, `${1_800_000_000_000 + i}.123`]));
    const item = full.item({ kind: 'map', fields: {} }, 999_999, '00000000-0000-0000-0000-000000000000', new Map(), undefined, events);
    const eventsSize = 'events'.length + 3 + Object.entries(events).reduce((size, [digest, mark]) => size + 1 + digest.length + Math.ceil(mark.replace('.', '').length / 2) + 1, 0);
    expect(full.rowOverhead - none).toBeGreaterThanOrEqual(eventsSize);
    expect(full.rowOverhead - none).toBeLessThan(1024);
    expect(item.events?.M && Object.keys(item.events.M)).toHaveLength(32);
  });
});
