// Builds dist/: CommonJS + type declarations with tsc, then an ES module entry that re-exports the
// CommonJS build. One implementation behind both entries means one copy of the library's state
// (decorator registries, error classes for instanceof) even when a program mixes import and require.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
const names = Object.keys(createRequire(import.meta.url)(join(root, 'dist/index.js'))).filter((name) => name !== '__esModule');
writeFileSync(
  join(root, 'dist/index.mjs'),
  `import library from './index.js';\nexport const { ${names.join(', ')} } = library;\n`,
);
console.log(`dist/ built: ${names.length} exports`);
