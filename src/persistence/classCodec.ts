/**
 * How instances of user classes become plain values and back: class-transformer's
 * `instanceToPlain` and `plainToInstance`, registered by `aws-lambda-persistence/class-transformer`.
 * Without it the library does not load class-transformer at all, so handlers that store no class
 * instances do not bundle it (21 KB minified, docs/performance.md).
 */
export interface ClassCodec {
  instanceToPlain(value: object): unknown;
  plainToInstance(type: new () => unknown, plain: unknown): unknown;
}

// Kept on globalThis under a registered symbol: the subpath is a separate file from the library's
// bundle, and a program may hold two copies of the library.
const KEY = Symbol.for('aws-lambda-persistence.classCodec');
const registry = globalThis as { [KEY]?: ClassCodec };

/** The registered class codec, or undefined. */
export function registeredClassCodec(): ClassCodec | undefined {
  return registry[KEY];
}

/** Registers the class codec (what the subpath does when imported). */
export function registerClassCodec(codec: ClassCodec): void {
  registry[KEY] = codec;
}

/** The fix to name when a field declares a class and no codec is registered. */
export const CLASS_CODEC_FIX =
  "install class-transformer and add import 'aws-lambda-persistence/class-transformer' to the handler's module";
