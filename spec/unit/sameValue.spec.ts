import { decodeValue, encodeValue, fingerprint } from '../../src/persistence/codec';
import { sameValue } from '../../src/persistence/sameValue';

const copyOf = (value: unknown) => decodeValue('f', encodeValue('f', value));

/** Each case: a value, and an in-place change that must be noticed. */
const cases: [string, () => unknown, (value: never) => void][] = [
  ['array push', () => [1, 2], (a: unknown[]) => a.push(3)],
  ['array element', () => [{ a: 1 }], (a: { a: number }[]) => (a[0]!.a = 2)],
  ['object key added (undefined)', () => ({ a: 1 }), (o: Record<string, unknown>) => (o.b = undefined)],
  ['object key deleted', () => ({ a: 1, b: 2 }), (o: Record<string, unknown>) => delete o.b],
  ['number to string', () => ({ a: 1 }), (o: Record<string, unknown>) => (o.a = '1')],
  ['0 to -0', () => [0], (a: number[]) => (a[0] = -0)],
  ['Date setTime', () => new Date(1), (d: Date) => d.setTime(2)],
  ['Map set', () => new Map([[1, 'a']]), (m: Map<number, string>) => m.set(2, 'b')],
  ['Map value', () => new Map([[1, { x: 1 }]]), (m: Map<number, { x: number }>) => (m.get(1)!.x = 2)],
  ['Map order', () => new Map([[1, 'a'], [2, 'b']]), (m: Map<number, string>) => { m.delete(1); m.set(1, 'a'); }],
  ['Set add', () => new Set([1]), (s: Set<number>) => s.add(2)],
  ['bytes', () => new Uint8Array([1, 2]), (b: Uint8Array) => (b[1] = 3)],
  ['nested array in object', () => ({ list: [[1]] }), (o: { list: number[][] }) => o.list[0]!.push(2)],
  ['function added', () => ({ a: 1 }), (o: Record<string, unknown>) => (o.fn = () => 1)],
  ['class instance added', () => ({ a: 1 }), (o: Record<string, unknown>) => (o.at = new (class Thing {})())],
  ['symbol key added', () => ({ a: 1 }), (o: Record<symbol, unknown>) => (o[Symbol('s')] = 1)],
  ['circular reference added', () => ({ a: { b: 1 } }), (o: { a: Record<string, unknown> }) => (o.a.self = o)],
];

describe('sameValue (the fast change check)', () => {
  it.each(cases)('sees a copy as unchanged, and notices %s', (_name, make, mutate) => {
    const value = make();
    const copy = copyOf(value);
    expect(sameValue(value, copy)).toBe(true);
    mutate(value as never);
    expect(sameValue(value, copy)).toBe(false);
  });

  it("does not look for symbol keys below the field's own object; the encoder refuses them there", () => {
    const value: { inner: Record<string | symbol, unknown> } = { inner: { a: 1 } };
    const copy = copyOf(value);
    value.inner[Symbol('s')] = 1;
    // Not noticed by the fast check (docs/limits.md): nothing storable changed.
    expect(sameValue(value, copy)).toBe(true);
    // Refused as soon as the field is encoded again, for an assignment or any other change.
    let refused: unknown;
    try {
      encodeValue('f', value);
    } catch (problem) {
      refused = problem;
    }
    expect(refused).toMatchObject({ path: 'f.inner', problem: expect.stringMatching(/symbol-keyed/) });
  });

  it('says unchanged only when the encoding is unchanged', () => {
    const values: unknown[] = [
      { b: 2, a: 1 },
      [undefined, null, NaN],
      new Map<unknown, unknown>([[{ k: 1 }, new Set([1n])]]),
      Buffer.from('x'),
      new Float32Array([1.5]),
      /x/g,
      { '@type': 'Date' },
    ];
    for (const value of values) {
      const copy = copyOf(value);
      expect(sameValue(value, copy)).toBe(true);
      expect(fingerprint(encodeValue('f', value))).toBe(fingerprint(encodeValue('f', copy)));
    }
    // A Buffer and a Uint8Array of the same bytes encode differently.
    expect(sameValue(Buffer.from('x'), new Uint8Array(Buffer.from('x')))).toBe(false);
  });
});
