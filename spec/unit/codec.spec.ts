import { decodeValue, EncodeProblem, encodeValue, fingerprint } from '../../src/persistence/codec';
import { attributeSize } from '../../src/persistence/storage/sizes';

const roundTrip = (value: unknown) => decodeValue('field', encodeValue('field', value));

describe('codec: encodeValue / decodeValue', () => {
  it.each([
    ['a string', 'héllo'],
    ['an empty string', ''],
    ['an integer', 42],
    ['a float', 0.1 + 0.2],
    ['a negative number', -17.25],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
    ['true', true],
    ['null', null],
    ['an array', [1, 'two', [3, [4]], null]],
    ['a plain object', { a: 1, nested: { b: [true, false] }, 'odd key': 'x' }],
  ])('stores %s with native DynamoDB types and restores it', (_name, value) => {
    expect(roundTrip(value)).toEqual(value);
  });

  it('uses the native types S, N, BOOL, NULL, L and M for JSON-like values', () => {
    expect(encodeValue('f', { s: 'x', n: 1, b: true, z: null, l: [1] })).toEqual({
      M: { s: { S: 'x' }, n: { N: '1' }, b: { BOOL: true }, z: { NULL: true }, l: { L: [{ N: '1' }] } },
    });
    expect(encodeValue('f', new Uint8Array([1, 2]))).toEqual({ B: new Uint8Array([1, 2]) });
  });

  it('restores numbers DynamoDB cannot hold: NaN, ±Infinity, -0, 1e300, 5e-324', () => {
    for (const n of [NaN, Infinity, -Infinity, -0, 1e300, -1e300, 5e-324]) {
      expect(Object.is(roundTrip(n), n)).toBe(true);
    }
  });

  it('restores Date to the millisecond, and an invalid Date', () => {
    const date = new Date('2026-11-26T20:01:02.345Z');
    const back = roundTrip(date) as Date;
    expect(back).toBeInstanceOf(Date);
    expect(back.getTime()).toBe(date.getTime());
    expect(Number.isNaN((roundTrip(new Date(NaN)) as Date).getTime())).toBe(true);
  });

  it('restores Map with keys of any type, Set, BigInt and RegExp', () => {
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, 'two'],
      [true, null],
      [10n, new Date(5)],
      [JSON.stringify({ k: 1 }), [1]],
    ]);
    const back = roundTrip(map) as Map<unknown, unknown>;
    expect(back).toBeInstanceOf(Map);
    expect([...back.entries()]).toEqual([...map.entries()]);
    expect(roundTrip(new Set([1, 'a', 2n]))).toEqual(new Set([1, 'a', 2n]));
    expect(roundTrip(123456789012345678901234567890n)).toBe(123456789012345678901234567890n);
    expect(roundTrip(/a+b/gi)).toEqual(/a+b/gi);
  });

  it('keeps Buffer, Uint8Array and other typed arrays apart', () => {
    const buffer = roundTrip(Buffer.from('hi'));
    expect(Buffer.isBuffer(buffer)).toBe(true);
    expect((buffer as Buffer).toString()).toBe('hi');
    const bytes = roundTrip(new Uint8Array([7, 8, 9]));
    expect(Buffer.isBuffer(bytes)).toBe(false);
    expect(bytes).toEqual(new Uint8Array([7, 8, 9]));
    expect(roundTrip(new Float64Array([1.5, -2]))).toEqual(new Float64Array([1.5, -2]));
    const view = new Uint16Array(new Uint16Array([1, 2, 3, 4]).buffer, 2, 2);
    expect(roundTrip(view)).toEqual(new Uint16Array([2, 3]));
  });

  it('tells null from undefined inside arrays and objects', () => {
    expect(roundTrip([null, undefined, 1])).toEqual([null, undefined, 1]);
    const back = roundTrip({ a: undefined, b: null }) as Record<string, unknown>;
    expect('a' in back).toBe(true);
    expect(back.a).toBeUndefined();
    expect(back.b).toBeNull();
  });

  it('round-trips a plain object that merely looks like a tag', () => {
    const lookalike = { '@type': 'Date', '@value': 'not a date' };
    expect(roundTrip(lookalike)).toEqual(lookalike);
    expect(roundTrip({ '@type': 'Map' })).toEqual({ '@type': 'Map' });
  });

  it.each([
    ['a function', { cache: { items: [1, 2, 3, { fn: () => 1 }] } }, 'field.cache.items[3].fn', 'functions cannot be stored'],
    ['a symbol', [Symbol('s')], 'field[0]', 'symbols cannot be stored'],
    ['a class instance', { at: new (class Session {})() }, 'field.at', 'instance of Session'],
    ['an Error', new Map([['k', new Error('x')]]), 'field.get("k")', 'instance of Error'],
    ['a Promise', { p: Promise.resolve() }, 'field.p', 'instance of Promise'],
  ])('refuses %s with the path inside the value', (_name, value, path, problem) => {
    let thrown: unknown;
    try {
      encodeValue('field', value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EncodeProblem);
    expect((thrown as EncodeProblem).path).toBe(path);
    expect((thrown as EncodeProblem).problem).toContain(problem);
  });

  it('refuses a circular reference but accepts a shared one', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { inner: loop };
    expect(() => encodeValue('f', loop)).toThrow(expect.objectContaining({ path: 'f.self.inner', problem: expect.stringContaining('circular') }));
    const shared = { x: 1 };
    expect(roundTrip([shared, shared])).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it('refuses values nested deeper than DynamoDB allows', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => encodeValue('f', deep)).toThrow(expect.objectContaining({ problem: expect.stringContaining('nested deeper') }));
  });
});

describe('codec: fingerprint', () => {
  it('is equal exactly for equal encodings', () => {
    const a = encodeValue('f', { x: [1, 'a'], y: new Map([[1, 2]]) });
    const b = encodeValue('f', { x: [1, 'a'], y: new Map([[1, 2]]) });
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(encodeValue('f', ['ab', 'c']))).not.toBe(fingerprint(encodeValue('f', ['a', 'bc'])));
    expect(fingerprint(encodeValue('f', '1'))).not.toBe(fingerprint(encodeValue('f', 1)));
    // DynamoDB does not keep map key order: the same keys in another order are the same value.
    expect(fingerprint(encodeValue('f', { a: 1, b: 2 }))).toBe(fingerprint(encodeValue('f', { b: 2, a: 1 })));
    expect(fingerprint(encodeValue('f', { a: 1 }))).not.toBe(fingerprint(encodeValue('f', { a: '1' })));
  });
});

describe('codec: attributeSize', () => {
  it('follows the DynamoDB item size rules', () => {
    expect(attributeSize({ S: 'héllo' })).toBe(6);
    expect(attributeSize({ N: '12345' })).toBe(4);
    expect(attributeSize({ B: new Uint8Array(10) })).toBe(10);
    expect(attributeSize({ BOOL: true })).toBe(1);
    expect(attributeSize({ L: [{ S: 'ab' }, { NULL: true }] })).toBe(3 + 1 + 2 + 1 + 1);
    expect(attributeSize({ M: { key: { S: 'v' } } })).toBe(3 + 1 + 3 + 1);
  });
});
