// Builds dist/: the library three times from the same sources (esbuild), and its type
// declarations (tsc).
//
// - CommonJS (dist/*.js, `require`) and ES modules for Node (dist/*.mjs, `import`): each entry
//   point is one file, so a cold start resolves, reads and compiles one file for the library
//   (module resolution and compilation were a third of the import time, docs/performance.md; an ES
//   module import costs ~0.4 ms more per extra file). The ES module build is real ES modules, so an
//   ES module handler loads no CommonJS.
// - ES modules for bundlers (dist/bundler/, the `module` condition, which Node ignores and esbuild,
//   webpack and rollup read): one module per source file, as in src/, so that a bundler leaves out
//   the modules a handler does not use (package.json `sideEffects` names the one module that must
//   run for its effect: the class-transformer subpath). Bundlers merge the modules, so their
//   number costs nothing at run time.
//
// A program that loads two builds (import here, require in a dependency) has two copies of the
// code, but one library: the state they must share (decorator registries, the class codec, opened
// maps) is kept on globalThis under registered symbols, and `instanceof` of the library's errors
// and of Expiring answers for instances of either copy (src/persistence/shared.ts). The middy
// middleware imports the library's public entry of its own build (./index.js or ./index.mjs) at
// run time instead of carrying a second copy of it; the CLI does the same. The class-transformer
// subpath carries only the codec registry, which lives on globalThis.
import { build, transformSync } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
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
// The names: the client and a command per operation the store sends, from the one list of them
// (src/persistence/storage/commands.ts, which imports nothing, so it loads on its own here).
const commands = transformSync(readFileSync(join(root, 'src/persistence/storage/commands.ts'), 'utf8'), { loader: 'ts', format: 'esm' }).code;
const { OPERATION_NAMES } = await import(`data:text/javascript,${encodeURIComponent(commands)}`);
const sdkNames = ['DynamoDBClient', ...OPERATION_NAMES.map((name) => `${name}Command`)];
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
/** Options every build shares. */
const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Smaller to parse at every cold start; identifiers stay, so stack traces read without the map.
  minifyWhitespace: true,
  minifySyntax: true,
  // The SDK is in every Lambda runtime (a peer dependency); the others are dependencies or
  // optional peers (dynalite for the CLI's `local`). Dev-only helpers (the CLI's zip writer) are
  // bundled in.
  external: ['@aws-sdk/*', 'class-transformer', 'reflect-metadata', 'dynalite', '@middy/core'],
  logLevel: 'warning',
};

/**
 * The one-file builds for Node. Node's ES modules bind the SDK with require (see sdkByRequire).
 */
const NODE_BUILDS = [
  { format: 'cjs', extension: '.js', plugins: [], entries: ENTRIES },
  { format: 'esm', extension: '.mjs', plugins: [sdkByRequire], entries: ENTRIES.filter((entry) => entry.esm) },
];
for (const variant of NODE_BUILDS) {
  for (const entry of variant.entries) {
    const outfile = join(dist, `${entry.name}${variant.extension}`);
    await build({
      ...COMMON,
      entryPoints: [join(root, entry.source)],
      outfile,
      format: variant.format,
      plugins: [...variant.plugins, ...(entry.source === 'src/index.ts' ? [] : [libraryExternal(variant.extension)])],
      banner: entry.executable ? { js: '#!/usr/bin/env node' } : undefined,
    });
    if (entry.executable) chmodSync(outfile, 0o755);
  }
}

/**
 * Keeps every import of another source file external, as the path of its own output module
 * (`./errors` -> `./errors.mjs`, `..` -> `../index.mjs`): each source file becomes one module.
 */
const ownModules = {
  name: 'own-modules',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?(\/|$)/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = join(args.resolveDir, args.path);
      const file = existsSync(`${target}.ts`) ? `${target}.ts` : join(target, 'index.ts');
      if (!existsSync(file)) throw new Error(`build: ${args.path} from ${args.importer} is not a source file`);
      const path = relative(args.resolveDir, file).replace(/\.ts$/, '.mjs');
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};
/** The library's source files, without the CLI (not a module users import). */
function sources(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((item) => {
    const path = `${dir}/${item.name}`;
    if (item.isDirectory()) return path === 'src/cli' ? [] : sources(path);
    return item.name.endsWith('.ts') && !item.name.endsWith('.d.ts') ? [join(root, path)] : [];
  });
}
// The bundlers' build imports the SDK, so that a bundler resolves and bundles (or leaves external)
// the SDK as it decides.
await build({
  ...COMMON,
  entryPoints: sources('src'),
  outdir: join(dist, 'bundler'),
  outbase: join(root, 'src'),
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  plugins: [ownModules],
});
console.log(`dist/ built: ${ENTRIES.map((entry) => entry.name).join(', ')}`);
