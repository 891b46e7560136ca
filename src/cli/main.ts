// Placeholder: the CLI is being written (issue #5).
process.stderr.write('aws-lambda-persistence: the CLI is not built yet.\n');
process.exitCode = 1;
