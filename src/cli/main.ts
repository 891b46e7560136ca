// The `aws-lambda-persistence` executable (dist/cli.js): the process around run().
import { run } from './run';

run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    // exitCode rather than exit(): stdout piped to a file or another program is flushed first.
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`aws-lambda-persistence: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
