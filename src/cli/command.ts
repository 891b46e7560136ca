/** What every CLI command is made of, and what it may use of the outside world. */

/**
 * The outside world of one CLI run. `run()` takes it as a parameter so that tests run commands
 * in-process and read what they print.
 */
export interface CliIo {
  /** Receives the command's result (JSON, a template, a report). */
  stdout(text: string): void;
  /** Receives errors, warnings and notes, so that stdout stays machine-readable. */
  stderr(text: string): void;
  /** Environment variables (`PERSISTENCE_*`) the commands honour. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The directory relative paths (`--out`, `--path`) are resolved against. @default process.cwd() */
  readonly cwd?: string;
  /**
   * Resolves when a foreground command (`local`) should stop, with the reason.
   * @default the first SIGINT or SIGTERM of the process
   */
  readonly stopRequested?: () => Promise<string>;
}

/** An option of a command, as `node:util` parseArgs takes it, plus what its help says. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Shown after a string option in the help: `--table <name>`. */
  readonly placeholder?: string;
  readonly description: string;
}

/** The parsed options of a command: strings, booleans, or undefined when not given. */
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** A CLI command: its help and what it does. */
export interface Command {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** A paragraph for the command's own help. */
  readonly details: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** A command line that shows typical use. */
  readonly example: string;
  /** Does the work and returns the exit code. Bad input throws a `ConfigurationError` naming the option. */
  run(options: OptionValues, io: CliIo): Promise<number>;
}

/** The value of a string option, undefined when it was not given. */
export function stringOption(options: OptionValues, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}
