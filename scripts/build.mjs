// Builds dist/: the library as one CommonJS file (esbuild), its type declarations (tsc), and an ES
// module entry that re-exports the CommonJS build. One file loads faster than a tree of modules
// (module resolution and compilation were a third of the import time, docs/performance.md), and
// one implementation behind both entries keeps one copy of the library's state (decorator
// registries, error classes for instanceof) even when a program mixes import and require.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--emitDeclarationOnly'],
  { stdio: 'inherit' },
);
await build({
  entryPoints: [join(root, 'src/index.ts')],
  outfile: join(dist, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  // Smaller to parse at every cold start; identifiers stay, so stack traces read without the map.
  minifyWhitespace: true,
  minifySyntax: true,
  // The SDK is in every Lambda runtime (a peer dependency); the others are dependencies.
  external: ['@aws-sdk/*', 'class-transformer', 'reflect-metadata'],
  logLevel: 'warning',
});
const names = Object.keys(createRequire(import.meta.url)(join(dist, 'index.js'))).filter((name) => name !== '__esModule');
writeFileSync(join(dist, 'index.mjs'), `import library from './index.js';\nexport const { ${names.join(', ')} } = library;\n`);
console.log(`dist/ built: ${names.length} exports`);
