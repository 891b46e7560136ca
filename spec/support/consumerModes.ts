/**
 * Compiling fixture handlers inside the consumer project (the packed package, as a user installs
 * it) in the four ways users build handlers, and running them in fresh processes. Used by
 * spec/package/declaredTypes.spec.ts and spec/package/schemas.spec.ts.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as ts from 'typescript';
import { NODEJS_FUNCTION_BUNDLE } from './bundling';
import { consumerDir } from './consumer';

const RUNNER = path.join(__dirname, '../fixtures/compile-modes/run.js');

export interface Mode {
  readonly id: string;
  /** tsc options, or undefined for the esbuild bundle. */
  readonly tsc?: ts.CompilerOptions;
  /** Whether the compiler emits `design:type` metadata. */
  readonly designTypes: boolean;
}

/** tsc with legacy decorators and metadata, standard decorators with define false / true, an esbuild bundle. */
export const MODES: readonly Mode[] = [
  { id: 'tsc-legacy-metadata', tsc: { experimentalDecorators: true, emitDecoratorMetadata: true }, designTypes: true },
  { id: 'tsc-standard-assign', tsc: { useDefineForClassFields: false }, designTypes: false },
  { id: 'tsc-standard-define', tsc: { useDefineForClassFields: true }, designTypes: false },
  { id: 'esbuild-bundle', designTypes: false },
];

/** What one invocation printed. */
export interface RunOutput {
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { name?: string; message?: string; field?: string };
}

/** A fixture folder copied into the consumer project and compiled in every mode. */
export class ConsumerFixture {
  readonly project: string;

  constructor(
    fixture: string,
    private readonly entries: readonly string[],
  ) {
    this.project = path.join(consumerDir(), fixture);
    rmSync(this.project, { recursive: true, force: true });
    mkdirSync(this.project, { recursive: true });
    cpSync(path.join(__dirname, '../fixtures', fixture), path.join(this.project, 'src'), { recursive: true });
  }

  /** The compiled module of `entry` in `mode`. */
  compiled(mode: Mode, entry: string): string {
    return path.join(this.project, 'out', mode.id, `${entry}.js`);
  }

  async compileAll(): Promise<void> {
    for (const mode of MODES) await this.compile(mode);
  }

  private compile(mode: Mode): Promise<unknown> | void {
    const sources = this.entries.map((entry) => path.join(this.project, 'src', `${entry}.ts`));
    if (mode.tsc === undefined) {
      return esbuild.build({
        absWorkingDir: this.project,
        entryPoints: sources,
        outdir: path.join(this.project, 'out', mode.id),
        ...NODEJS_FUNCTION_BUNDLE,
        tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
      });
    }
    const program = ts.createProgram({
      rootNames: sources,
      options: {
        module: ts.ModuleKind.Node16,
        moduleResolution: ts.ModuleResolutionKind.Node16,
        target: ts.ScriptTarget.ES2022,
        strict: true,
        skipLibCheck: true,
        // The consumer has no @types/node of its own.
        typeRoots: [path.join(__dirname, '../../node_modules/@types')],
        types: ['node'],
        rootDir: path.join(this.project, 'src'),
        outDir: path.join(this.project, 'out', mode.id),
        ...mode.tsc,
      },
    });
    const emitted = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
    if (diagnostics.length > 0 || emitted.emitSkipped) {
      const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => this.project, getNewLine: () => '\n' };
      throw new Error(`tsc (${mode.id}) reported:\n${ts.formatDiagnostics(diagnostics, host)}`);
    }
  }

  /** One invocation of `exportName` in a fresh Node process of the consumer project. */
  invoke(file: string, exportName: string, event: unknown, settings: { endpoint: string; tableName: string; tableKey: string }): Promise<RunOutput> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL_DYNAMODB: settings.endpoint,
      PERSISTENCE_TABLE_NAME: settings.tableName,
      PERSISTENCE_TABLE_KEY: settings.tableKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    delete env.NODE_OPTIONS;
    delete env.NODE_PATH;
    return new Promise((resolve, reject) => {
      const args = [RUNNER, 'invoke', file, JSON.stringify(event), exportName];
      execFile(process.execPath, args, { cwd: this.project, env, timeout: 30_000 }, (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as RunOutput);
        } catch {
          reject(new Error(`${file} ${exportName} printed no result (${error?.message ?? 'exit 0'}):\n${stdout}\n${stderr}`));
        }
      });
    });
  }
}
