import { encodeValue } from '../../src/persistence/codec';
import { attributeSize, SizeCache } from '../../src/persistence/storage/sizes';

describe('SizeCache: sizing the state for its layout', () => {
  it('sizes the state map exactly as attributeSize does (binary counted as base64), re-sizing only new attributes', () => {
    const sizes = new SizeCache();
    const fields = {
      text: encodeValue('text', 'x'.repeat(100)),
      bytes: encodeValue('bytes', new Uint8Array(10)),
      nested: encodeValue('nested', { list: [1, 2.5, 'three'], when: new Date(0), big: 10n ** 30n }),
      'clé': encodeValue('clé', -0),
    };
    expect(sizes.layoutMap(fields)).toBe(attributeSize({ M: fields }, true));
    // A later write with one field changed: the new attribute is sized, the others are remembered.
    const changed = { ...fields, text: encodeValue('text', 'y') };
    expect(sizes.layoutMap(changed)).toBe(attributeSize({ M: changed }, true));
    expect(sizes.layoutMap(changed)).toBeLessThan(sizes.layoutMap(fields));
  });
});
