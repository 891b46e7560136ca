/** What a field behaviour's hooks see, for the behaviours' unit specs: field `name`, nothing stored. */
import { encodeValue } from '../../../src/persistence/codec';
import type { ChangeContext } from '../../../src/persistence/fields/FieldBehaviour';

export function fieldContext(name: string, initialValue: unknown, encodings: Partial<ChangeContext> = {}): ChangeContext {
  return {
    name,
    initialValue,
    encodeValue: (value, path) => encodeValue(path, value),
    current: undefined,
    baseline: undefined,
    inRow: encodings.baseline !== undefined,
    initial: undefined,
    version: 0,
    ...encodings,
  };
}
