/**
 * Running the CLI in-process, through run(). Tests of the built executable run the one `npm pack`
 * built in the jest globalSetup: dist/cli.js, or the copy installed in the consumer project.
 */
import { run, type CliIo } from '../../src/cli/run';

/** What one in-process run printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command line in-process, collecting its output. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), ...io });
  return { code, stdout, stderr };
}
