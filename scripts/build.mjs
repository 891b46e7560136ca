// Builds dist/: the library as one CommonJS file (esbuild), its type declarations (tsc), and an ES
// module entry that re-exports the CommonJS build. One file loads faster than a tree of modules
// (module resolution and compilation were a third of the import time, docs/performance.md), and
// one implementation behind both entries keeps one copy of the library's state (decorator
// registries, error classes for instanceof) even when a program mixes import and require.
//
// The other entry points (the middy middleware, the CLI) are bundled the same way but import the
// library itself from dist/index.js at run time instead of carrying a second copy of it.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
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

rmSync(dist, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--emitDeclarationOnly'],
  { stdio: 'inherit' },
);
const load = createRequire(import.meta.url);
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
  if (entry.esm) {
    const names = Object.keys(load(outfile)).filter((name) => name !== '__esModule');
    writeFileSync(
      join(dist, `${entry.name}.mjs`),
      names.length === 0
        ? `import './${entry.name}.js';\n` // imported for its effect only
        : `import entry from './${entry.name}.js';\nexport const { ${names.join(', ')} } = entry;\n`,
    );
  }
}
console.log(`dist/ built: ${ENTRIES.map((entry) => entry.name).join(', ')}`);
