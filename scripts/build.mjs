// Builds dist/: the library three times from the same sources (esbuild), and its type
// declarations (tsc). CommonJS (dist/*.js, `require`), ES modules for Node (dist/*.mjs, `import`)
// and ES modules for bundlers (dist/bundler/*.mjs, the `module` condition, which Node ignores and
// esbuild, webpack and rollup read). Each entry point is one file: a cold start resolves, reads and
// compiles one file for the library (module resolution and compilation were a third of the import
// time, docs/performance.md; an ES module import costs ~0.4 ms more per extra file). The ES module
// builds are real ES modules, so a bundler can leave out what a handler does not use, and an ES
// module handler loads no CommonJS. A program that loads two builds (import here, require in a
// dependency) has two copies of the code, but one library: the state they must share (decorator
// registries, the class codec, opened maps) is kept on globalThis under registered symbols, and
// `instanceof` of the library's errors and of Expiring answers for instances of either copy
// (src/persistence/shared.ts).
//
// The middy middleware imports the library's public entry of its own build (./index.js or
// ./index.mjs) at run time instead of carrying a second copy of it; the CLI does the same. The
// class-transformer subpath carries only the codec registry, which lives on globalThis.
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

/** Resolves imports of the library's barrel to the built entry `./index<extension>`, kept external. */
const libraryExternal = (extension) => ({
  name: 'library-external',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\/.*index$|^\.\.$/ }, (args) => {
      const resolved = join(args.resolveDir, args.path);
      return resolved === library.replace(/\.ts$/, '') || resolved === dirname(library)
        ? { path: `./index${extension}`, external: true }
        : undefined;
    });
  },
});

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
/**
 * The three builds. Node's ES modules bind the SDK with require (see sdkByRequire); the bundlers'
 * import it, so that a bundler resolves and bundles (or leaves external) the SDK as it decides.
 */
const BUILDS = [
  { outdir: dist, format: 'cjs', extension: '.js', plugins: [], entries: ENTRIES },
  { outdir: dist, format: 'esm', extension: '.mjs', plugins: [sdkByRequire], entries: ENTRIES.filter((entry) => entry.esm) },
  { outdir: join(dist, 'bundler'), format: 'esm', extension: '.mjs', plugins: [], entries: ENTRIES.filter((entry) => entry.esm) },
];
for (const variant of BUILDS) {
  for (const entry of variant.entries) {
    const outfile = join(variant.outdir, `${entry.name}${variant.extension}`);
    await build({
      entryPoints: [join(root, entry.source)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: variant.format,
      sourcemap: true,
      // Smaller to parse at every cold start; identifiers stay, so stack traces read without the map.
      minifyWhitespace: true,
      minifySyntax: true,
      // The SDK is in every Lambda runtime (a peer dependency); the others are dependencies or
      // optional peers (dynalite for the CLI's `local`). Dev-only helpers (the CLI's zip writer)
      // are bundled in.
      external: ['@aws-sdk/*', 'class-transformer', 'reflect-metadata', 'dynalite', '@middy/core'],
      plugins: [...variant.plugins, ...(entry.source === 'src/index.ts' ? [] : [libraryExternal(variant.extension)])],
      banner: entry.executable ? { js: '#!/usr/bin/env node' } : undefined,
      logLevel: 'warning',
    });
    if (entry.executable) chmodSync(outfile, 0o755);
  }
}
console.log(`dist/ built: ${ENTRIES.map((entry) => entry.name).join(', ')}`);
