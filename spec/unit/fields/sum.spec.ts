/** `merge: sum` as a field behaviour: what a write of a changed counter sends, and how it merges. */
import { sum } from '../../../src/persistence/fields/sum';
import type { ChangeContext } from '../../../src/persistence/fields/FieldBehaviour';
import { fieldContext } from './fieldContext';

const field = (initialValue: unknown, encodings: Partial<ChangeContext>): ChangeContext => fieldContext('count', initialValue, encodings);

describe('Behaviour: sum', () => {
  it('adds the difference to the row value, from the initializer while the row has none', () => {
    expect(sum.change!(field(10, { current: { N: '12' }, baseline: { N: '10' }, initial: { N: '10' } }))).toEqual({ kind: 'add', delta: { N: '2' }, from: { N: '10' } });
    expect(sum.change!(field(undefined, { current: { N: '3' } }))).toEqual({ kind: 'add', delta: { N: '3' }, from: { N: '0' } });
  });

  it('works out the delta of integers exactly, beyond 2^53', () => {
    const change = sum.change!(field(0n, { current: { N: '100000000000000000000000000001' }, baseline: { N: '1' }, initial: { N: '0' } }));
    expect(change).toEqual({ kind: 'add', delta: { N: '100000000000000000000000000000' }, from: { N: '0' } });
    // A server may answer a large integer in exponent form.
    expect(sum.change!(field(0n, { current: { N: '2000' }, baseline: { N: '1E+3' }, initial: { N: '0' } }))).toMatchObject({ delta: { N: '1000' } });
  });

  it('writes a value that is not a number whole (last writer wins)', () => {
    expect(sum.change!(field(0, { current: { S: 'x' }, baseline: { N: '1' } }))).toEqual({ kind: 'set', attribute: { S: 'x' } });
  });

  it('stores a bigint within 38 digits as a native number, and reads it back as a bigint when the initializer is one', () => {
    const context = field(0n, {});
    expect(sum.encode!(12n, context)).toEqual({ N: '12' });
    expect(sum.encode!(10n ** 38n, context)).toBeUndefined(); // 39 digits: the codec's tagged form
    expect(sum.decode!({ N: '12' }, context)).toEqual({ value: 12n });
    expect(sum.decode!({ N: '12' }, field(0, {}))).toBeUndefined();
    expect(() => sum.encode!(1n, field(0, {}))).toThrow(expect.objectContaining({ problem: expect.stringMatching(/needs a bigint initializer \(count = 0n\)/) }));
  });

  it("merges this environment's increments onto the row's total", () => {
    const context = { ...field(0, {}), same: () => false };
    expect(sum.merge!(5, 7, 20, context)).toBe(22);
    expect(sum.merge!(5n, 7n, 20n, context)).toBe(22n);
    expect(sum.merge!(undefined, 3, undefined, context)).toBe(3);
  });

  it('refuses a field whose initializer is not a number or bigint', () => {
    expect(sum.check!('x', 'label')).toMatch(/field "label" starts as string/);
    expect(sum.check!(0, 'count')).toBeUndefined();
    expect(sum.check!(undefined, 'count')).toBeUndefined();
  });
});
