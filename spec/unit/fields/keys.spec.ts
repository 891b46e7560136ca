/** `merge: keys` as a field behaviour: a write sets and removes single keys, and merges key by key. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { keys } from '../../../src/persistence/fields/keys';
import type { ChangeContext } from '../../../src/persistence/fields/FieldBehaviour';
import { fieldContext } from './fieldContext';

const context = (encodings: Partial<ChangeContext> = {}): ChangeContext => fieldContext('seen', undefined, encodings);

describe('Behaviour: keys', () => {
  it('stores a Map with string keys as a map of its keys; other Maps as the codec does', () => {
    expect(keys.encode!(new Map([['a', 1]]), context())).toEqual({ M: { '@type': { S: 'Map' }, '@value': { M: { a: { N: '1' } } } } });
    expect(keys.encode!(new Map([[1, 1]]), context())).toBeUndefined();
    expect(keys.encode!({ a: 1 }, context())).toBeUndefined();
  });

  it('sends only the keys set and removed, at their path', () => {
    const change = keys.change!(context({ current: { M: { a: { N: '1' }, b: { N: '3' } } }, baseline: { M: { a: { N: '1' }, b: { N: '2' }, c: { S: 'x' } } } }));
    expect(change).toEqual({ kind: 'keys', path: [], set: new Map([['b', { N: '3' }]]), remove: ['c'], attribute: { M: { a: { N: '1' }, b: { N: '3' } } } });
    const tagged = (entries: Record<string, AttributeValue>): AttributeValue => ({ M: { '@type': { S: 'Map' }, '@value': { M: entries } } });
    expect(keys.change!(context({ current: tagged({ a: { N: '1' } }), baseline: tagged({}) }))).toMatchObject({ kind: 'keys', path: ['@value'], set: new Map([['a', { N: '1' }]]) });
  });

  it('writes the first value on the condition that the row has none, and a change of form over the revision read', () => {
    expect(keys.change!(context({ current: { M: {} } }))).toEqual({ kind: 'set', attribute: { M: {} }, condition: { kind: 'absent' } });
    // A Map stored by 0.1 (a list of entries) becomes a map of its keys: written whole, once.
    const old = { M: { '@type': { S: 'Map' }, '@value': { L: [] } } };
    const now = { M: { '@type': { S: 'Map' }, '@value': { M: {} } } };
    expect(keys.change!(context({ current: now, baseline: old }))).toEqual({ kind: 'set', attribute: now, condition: { kind: 'revision' } });
    expect(keys.change!(context({ baseline: now }))).toEqual({ kind: 'remove' });
  });

  it('merges key by key: theirs, with the keys changed here applied on top', () => {
    const merge = (base: unknown, mine: unknown, theirs: unknown) => keys.merge!(base, mine, theirs, { ...context(), same: (a, b) => a === b });
    expect(merge({ a: 1, b: 1 }, { a: 2 }, { a: 1, b: 1, c: 5 })).toEqual({ a: 2, c: 5 });
    expect(merge(new Map([['a', 1]]), new Map([['a', 1], ['b', 2]]), new Map([['c', 3]]))).toEqual(new Map([['c', 3], ['b', 2]]));
  });

  it('refuses a field that is not a Map or a plain object', () => {
    expect(keys.check!([], 'list')).toMatch(/field "list" starts as an array/);
    expect(keys.check!(new Date(), 'when')).toMatch(/starts as a Date/);
    expect(keys.check!(new Map(), 'seen')).toBeUndefined();
  });
});
