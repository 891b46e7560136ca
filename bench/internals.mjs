// The library's internal functions the benchmark measures or uses directly: codec functions,
// sameValue, TrackedState and Deadline. dist/index.js is one bundle exporting only the public API, so they are
// bundled here from src/ (the same sources scripts/build.mjs bundles into dist/, same esbuild
// settings) into one CommonJS file under .tmp/bench/.
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const INTERNALS = `
export { encodeValue, decodeValue, fingerprint } from './src/persistence/codec';
export { attributeSize, SizeCache } from './src/persistence/storage/sizes';
export { sameValue } from './src/persistence/sameValue';
export { TrackedState } from './src/persistence/TrackedState';
export { DynamoDBRowStore } from './src/persistence/RowStore';
export { Deadline } from './src/persistence/Deadline';
`;

/** Bundles `contents` (TypeScript, resolved from the package root) into `outfile`, as scripts/build.mjs does dist/. */
export async function bundleFromSource(root, contents, outfile, extra = {}) {
  const esbuild = createRequire(join(root, 'package.json'))('esbuild');
  await esbuild.build({
    absWorkingDir: root,
    stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'bench-internals.ts' },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['@aws-sdk/*', 'class-transformer', 'reflect-metadata'],
    logLevel: 'silent',
    ...extra,
  });
  return outfile;
}

/** The internals bundle: encodeValue, decodeValue, fingerprint, attributeSize, SizeCache, sameValue, TrackedState, DynamoDBRowStore. */
export function bundleInternals(root, outfile = join(root, '.tmp/bench/internals.js')) {
  return bundleFromSource(root, INTERNALS, outfile);
}

/** esbuild options for the bench handlers: like a CDK NodejsFunction bundle, with the built package. */
export function handlerBundleOptions(root) {
  return {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    // What a bundler resolves for `import ... from 'aws-lambda-persistence'`: the `module` condition.
    alias: { 'aws-lambda-persistence': join(root, 'dist/bundler/index.mjs') },
    logLevel: 'silent',
  };
}
