/**
 * What the two builds of the library (CommonJS and ES module) share when one program loads both,
 * e.g. a handler that imports the package and a dependency that requires it: state kept on
 * globalThis under registered symbols, and `instanceof` that answers for instances of either copy.
 */

/** The object named `name` on globalThis, made by `create` by whichever copy asks first. */
export function shared<T>(name: string, create: () => T): T {
  const holder = globalThis as unknown as Record<symbol, T | undefined>;
  const key = Symbol.for(`aws-lambda-persistence.${name}`);
  return (holder[key] ??= create());
}

/** Marks a class of the library: `instanceof` tells its instances by it across copies. */
export const LIBRARY_CLASS = Symbol.for('aws-lambda-persistence.class');

/**
 * `instanceof` for a library class `type`: an instance of this copy's class, or of the class of
 * the same name in the other copy (classes carry their documented names, errors.ts `keepNames`).
 */
export function isLibraryInstance(type: Function, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(type, value)) return true;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  for (let prototype = Object.getPrototypeOf(value); prototype !== null; prototype = Object.getPrototypeOf(prototype)) {
    const constructor = (prototype as { constructor?: { name?: string; [LIBRARY_CLASS]?: true } }).constructor;
    if (constructor?.[LIBRARY_CLASS] === true && constructor.name === type.name) return true;
  }
  return false;
}
