/**
 * The command line: `npx aws-lambda-persistence <command> [options]`. {@link run} takes the
 * arguments and an {@link CliIo} and returns the exit code, so it runs as well in a test as in
 * `main.ts`.
 */
import { parseArgs } from 'node:util';
import { ConfigurationError } from '../index';
import type { CliIo, Command, OptionValues } from './command';
import { inspectCommand } from './inspect';
import { layerCommand } from './layer';
import { localCommand } from './local';
import { packageRoot } from './packageRoot';
import { policyCommand } from './policy';
import { templateCommand } from './template';

export type { CliIo } from './command';

const BIN = 'aws-lambda-persistence';
const COMMANDS: readonly Command[] = [policyCommand, templateCommand, inspectCommand, localCommand, layerCommand];

/** Exit codes: success, a failure while working, a command line to correct. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Runs one command line (without `node` and the script) and returns its exit code: 0 on success,
 * 1 when the work failed, 2 for a command line to correct. Results go to `io.stdout`, errors with
 * what to do to `io.stderr`.
 *
 * @example
 * ```ts
 * let out = '';
 * const code = await run(['policy', '--function', 'my-function'], { stdout: (t) => (out += t), stderr: () => {} });
 * ```
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h') {
      io.stdout(overview());
      return first === undefined ? EXIT.usage : EXIT.ok;
    }
    if (first === '--version' || first === '-v') {
      io.stdout(`${packageRoot(__dirname).manifest.version}\n`);
      return EXIT.ok;
    }
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) io.stdout(overview());
      else io.stdout(commandHelp(commandNamed(topic)));
      return EXIT.ok;
    }
    const command = commandNamed(first);
    const options = parse(command, rest);
    if (options.help === true) {
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    return await command.run(options, io);
  } catch (error) {
    // Both copies of the class count: the CLI bundles the persistence internals it reads rows with.
    if (error instanceof ConfigurationError || (error as Error | undefined)?.name === 'ConfigurationError') {
      io.stderr(`${BIN}: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    io.stderr(`${BIN}: ${(error as Error | undefined)?.message ?? String(error)}\n`);
    return EXIT.failed;
  }
}

function commandNamed(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command !== undefined) return command;
  const what = name.startsWith('-') ? `Unknown option ${name}` : `Unknown command "${name}"`;
  throw new ConfigurationError(
    'command',
    `${what}. Commands: ${COMMANDS.map((candidate) => candidate.name).join(', ')}. Run \`${BIN} --help\` for more.`,
  );
}

/** The command's options, parsed strictly: an unknown or incomplete option is an error naming it. */
function parse(command: Command, args: readonly string[]): OptionValues {
  const seeHelp = `Run \`${BIN} ${command.name} --help\` for its options.`;
  try {
    return parseArgs({
      args: [...args],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values as OptionValues;
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
    const known = Object.keys(command.options).map((name) => `--${name}`).join(', ');
    switch (code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new ConfigurationError(option, `${command.name} has no option ${option}. Its options: ${known}. ${seeHelp}`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
        const spec = command.options[option.replace(/^--/, '')];
        throw new ConfigurationError(
          option,
          spec?.type === 'string'
            ? `${option} needs a value: ${option} <${spec.placeholder ?? 'value'}>. ${seeHelp}`
            : `${option} takes no value. ${seeHelp}`,
        );
      }
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
        const argument = /'([^']*)'/.exec(message)?.[1] ?? '';
        throw new ConfigurationError('argument', `${command.name} takes only options, not "${argument}". ${seeHelp}`);
      }
      default:
        throw error;
    }
  }
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return [
    `Usage: ${BIN} <command> [options]`,
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    `  ${'help'.padEnd(width)}Show a command's options: ${BIN} help <command>`,
    '',
    'Options:',
    '  -h, --help     Show this help',
    '  -v, --version  Print the version',
    '',
    `Exit codes: ${EXIT.ok} success, ${EXIT.failed} failure, ${EXIT.usage} wrong command line. Docs: docs/cli.md`,
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const flags = Object.entries(command.options).map(([name, spec]) => [
    `--${name}${spec.type === 'string' ? ` <${spec.placeholder ?? 'value'}>` : ''}`,
    spec.description,
  ]);
  flags.push(['-h, --help', 'Show this help']);
  const width = Math.max(...flags.map(([flag]) => flag!.length)) + 2;
  return [
    `Usage: ${BIN} ${command.name} [options]`,
    '',
    wrap(command.details, 100),
    '',
    'Options:',
    ...flags.map(([flag, description]) => `  ${flag!.padEnd(width)}${description}`),
    '',
    'Example:',
    `  ${command.example}`,
    '',
  ].join('\n');
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}
