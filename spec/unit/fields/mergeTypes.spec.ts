/**
 * TypeScript refuses a merge behaviour on a field whose type it does not merge (`sum` on a string,
 * `keys` on an array), under both decorator conventions, and accepts it where it fits. Compiled with
 * the TypeScript compiler API against the library's source, as a user's code would be.
 */
import * as path from 'node:path';
import * as ts from 'typescript';

const LIBRARY = path.join(__dirname, '../../../src/index.ts').replace(/\\/g, '/');

const SOURCE = `
import { keys, Persistent, PersistentHandler, sum } from '${LIBRARY.replace(/\.ts$/, '')}';
export class Fits extends PersistentHandler<unknown, void> {
  @Persistent({ merge: sum }) count = 0;
  @Persistent({ merge: sum }) bytes = 0n;
  @Persistent({ merge: keys }) seen = new Map<string, Date>();
  @Persistent({ merge: keys }) byName: Record<string, number> = {};
  async handler() {}
}
export class Wrong extends PersistentHandler<unknown, void> {
  @Persistent({ merge: sum }) label = 'x';
  @Persistent({ merge: keys }) list: string[] = [];
  async handler() {}
}
`;

function errorLines(experimentalDecorators: boolean): number[] {
  const file = path.join(__dirname, '__merge-types__.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    experimentalDecorators,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (name) => (path.resolve(name) === file ? SOURCE : readFile(name));
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program, program.getSourceFile(file))
    .filter((diagnostic) => diagnostic.file?.fileName !== undefined && path.resolve(diagnostic.file.fileName) === file)
    .map((diagnostic) => diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start!).line + 1);
}

describe('merge behaviours in TypeScript', () => {
  // Lines of SOURCE (1-based): the two fields of Wrong.
  const WRONG = [11, 12];
  it.each([
    ['legacy decorators (experimentalDecorators)', true],
    ['standard decorators', false],
  ])('%s: sum on a string and keys on an array do not compile; numbers, bigints, Maps and records do', (_mode, experimental) => {
    expect([...new Set(errorLines(experimental))].sort()).toEqual(WRONG);
  }, 60_000);
});
