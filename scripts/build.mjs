// Builds dist/: the library as one CommonJS file (esbuild), its type declarations (tsc), and ES
// module builds of its own (dist/*.mjs for Node, dist/bundler/*.mjs for bundlers, each with the
// chunks its entries share). One file loads
// faster than a tree of modules (module resolution and compilation were a third of the import time,
// docs/performance.md). The ES module build is real ES modules, so a bundler can leave out what a
// handler does not use, and an ES module handler loads no CommonJS. A program that loads both
// builds (import here, require in a dependency) has two copies of the code, but one library: the
// state they must share (decorator registries, the class codec, opened maps) is kept on globalThis
// under registered symbols, and `instanceof` of the library's errors and of Expiring answers for
// instances of either copy (src/persistence/shared.ts).
//
// The CommonJS middy middleware and CLI import the library itself from dist/index.js at run time
// instead of carrying a second copy of it; the ES module entries share chunks the same way.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const library = join(root, 'src/index.ts');

/** Entry points: source, output name, whether an ES module wrapper is published, a shebang. */
const ENTRIES = [
  { source: 'src/index.ts', name: 'index', esm: true },
  { source: 'src/middy/index.ts', name: 'middy', esm: true },
  { source: 'src/class-transformer/index.ts', name: 'class-transformer', esm: true },
  { source: 'src/cli/main.ts', name: 'cli', esm: false, executable: true },
];

/** Resolves imports of the library's barrel to the built dist/index.js, kept external. */
const libraryExternal = {
  name: 'library-external',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\/.*index$|^\.\.$/ }, (args) => {
      const resolved = join(args.resolveDir, args.path);
      return resolved === library.replace(/\.ts$/, '') || resolved === dirname(library)
        ? { path: './index.js', external: true }
        : undefined;
    });
  },
};

/**
 * In the ES module build, the AWS SDK is loaded with require (createRequire), as the CommonJS build
 * loads it: an ES module `import` of the SDK's CommonJS entry makes Node scan that large file for
 * its export names on every cold start (it measured 55.7 ms against 34.3 ms for the CommonJS shape,
 * docs/performance.md), and require also finds the runtime's SDK through NODE_PATH, which ES module
 * resolution ignores (a package in a Lambda layer). Only the names the sources import are bound.
 */
const SDK = '@aws-sdk/client-dynamodb';
const sdkNames = [...readFileSync(join(root, 'src/persistence/storage/DynamoDBItems.ts'), 'utf8').matchAll(/import \{([^}]*)\} from '@aws-sdk\/client-dynamodb'/g)]
  .flatMap((match) => match[1].split(','))
  .map((name) => name.trim())
  .filter((name) => name !== '' && !name.startsWith('type '));
const sdkByRequire = {
  name: 'sdk-by-require',
  setup(builder) {
    builder.onResolve({ filter: /^@aws-sdk\/client-dynamodb$/ }, (args) =>
      args.namespace === 'sdk-by-require' ? { path: SDK, external: true } : { path: SDK, namespace: 'sdk-by-require' },
    );
    builder.onLoad({ filter: /.*/, namespace: 'sdk-by-require' }, () => ({
      contents: `import { createRequire } from 'node:module';\nexport const { ${sdkNames.join(', ')} } = createRequire(import.meta.url)('${SDK}');\n`,
      loader: 'js',
    }));
  },
};
const missing = sdkNames.filter((name) => !(name in createRequire(import.meta.url)(SDK)));
if (sdkNames.length === 0 || missing.length > 0) throw new Error(`build: SDK names not found: ${missing.join(', ') || '(none parsed)'}`);

rmSync(dist, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--emitDeclarationOnly'],
  { stdio: 'inherit' },
);
for (const entry of ENTRIES) {
  const outfile = join(dist, `${entry.name}.js`);
  await build({
    entryPoints: [join(root, entry.source)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    // Smaller to parse at every cold start; identifiers stay, so stack traces read without the map.
    minifyWhitespace: true,
    minifySyntax: true,
    // The SDK is in every Lambda runtime (a peer dependency); the others are dependencies or
    // optional peers (dynalite for the CLI's `local`). Dev-only helpers (the CLI's zip writer)
    // are bundled in.
    external: ['@aws-sdk/*', 'class-transformer', 'reflect-metadata', 'dynalite', '@middy/core'],
    plugins: entry.source === 'src/index.ts' ? [] : [libraryExternal],
    banner: entry.executable ? { js: '#!/usr/bin/env node' } : undefined,
    logLevel: 'warning',
  });
  if (entry.executable) chmodSync(outfile, 0o755);
}
// The ES module builds: every entry at once, so that the code they share is one chunk. Node's
// (dist/*.mjs, the `import` condition) binds the SDK with require, see sdkByRequire; bundlers'
// (dist/bundler/, the `module` condition, which Node ignores and esbuild, webpack and rollup read)
// imports it, so that a bundler resolves and bundles (or leaves external) the SDK as it decides.
for (const variant of [
  { outdir: dist, plugins: [sdkByRequire] },
  { outdir: join(dist, 'bundler'), plugins: [] },
]) {
  await build({
    entryPoints: Object.fromEntries(ENTRIES.filter((entry) => entry.esm).map((entry) => [entry.name, join(root, entry.source)])),
    outdir: variant.outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    minifyWhitespace: true,
    minifySyntax: true,
    external: ['@aws-sdk/*', 'class-transformer', 'reflect-metadata', 'dynalite', '@middy/core'],
    plugins: variant.plugins,
    logLevel: 'warning',
  });
}
console.log(`dist/ built: ${ENTRIES.map((entry) => entry.name).join(', ')}`);
