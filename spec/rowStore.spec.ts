import { attributeSize, encodeValue } from '../src/persistence/codec';
import { resolveOptions } from '../src/persistence/options';
import { DynamoDBRowStore } from '../src/persistence/RowStore';

describe('DynamoDBRowStore: sizing the state for its layout', () => {
  it('sizes the state map exactly as attributeSize does (binary counted as base64), re-sizing only new attributes', () => {
    const client = { send: () => Promise.reject(new Error('no requests in this test')) };
    const store = new DynamoDBRowStore(client, resolveOptions({ tableName: 'Sizes' }, {}), 'sizes');
    const stateMapSize = (fields: Record<string, ReturnType<typeof encodeValue>>) =>
      (store as unknown as { stateMapSize(fields: object): number }).stateMapSize(fields);
    const fields = {
      text: encodeValue('text', 'x'.repeat(100)),
      bytes: encodeValue('bytes', new Uint8Array(10)),
      nested: encodeValue('nested', { list: [1, 2.5, 'three'], when: new Date(0), big: 10n ** 30n }),
      'clé': encodeValue('clé', -0),
    };
    expect(stateMapSize(fields)).toBe(attributeSize({ M: fields }, true));
    // A later write with one field changed: the new attribute is sized, the others are remembered.
    const changed = { ...fields, text: encodeValue('text', 'y') };
    expect(stateMapSize(changed)).toBe(attributeSize({ M: changed }, true));
    expect(stateMapSize(changed)).toBeLessThan(stateMapSize(fields));
  });
});
