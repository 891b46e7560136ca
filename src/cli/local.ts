import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { ConfigurationError, PersistenceError } from '../index';
import type { CliIo, Command } from './command';
import { stringOption } from './command';

type Dynalite = (options: { path?: string }) => Server;

// dynalite's own default port.
const DEFAULT_PORT = 4567;
// Loopback only: the server checks no credentials, so it must not be reachable from the network.
const HOST = '127.0.0.1';

/** dynalite, an optional peer dependency: undefined when it is not installed. */
function loadDynalite(): Dynalite | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('dynalite') as Dynalite;
  } catch (error) {
    // Only dynalite itself missing means "not installed"; a dependency of it missing is a broken
    // install whose own message is the better guide.
    const { code, message } = error as { code?: string; message?: string };
    if (code === 'MODULE_NOT_FOUND' && message?.includes("'dynalite'")) return undefined;
    throw error;
  }
}

function portOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new ConfigurationError('--port', `--port ${JSON.stringify(value)} is not a port: pass 1-65535, or 0 for any free port.`);
  }
  return port;
}

/** The first SIGINT or SIGTERM; the handlers are removed after it, so a second Ctrl-C ends the process at once. */
function processStopSignal(): Promise<string> {
  return new Promise((resolveStop) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * `--path`, created if missing and checked writable before dynalite opens it: given a path it
 * cannot use, dynalite still listens but never answers (and ignores SIGTERM).
 */
function writableDirectory(directory: string): string {
  try {
    mkdirSync(directory, { recursive: true });
    if (!statSync(directory).isDirectory()) throw new Error('not a directory');
    accessSync(directory, constants.W_OK);
  } catch (error) {
    throw new ConfigurationError(
      '--path',
      `--path ${JSON.stringify(directory)} cannot hold dynalite's data (${(error as Error).message}): ` +
        'pass a directory you can write to, e.g. --path .dynalite, or leave --path out to keep the data in memory.',
    );
  }
  return directory;
}

/**
 * `local`: runs dynalite, a DynamoDB implementation in Node.js, in the foreground until SIGINT or
 * SIGTERM, in memory or persisted to `--path`.
 *
 * @example
 * ```sh
 * npx aws-lambda-persistence local --port 4567 --path .dynalite
 * ```
 */
export const localCommand: Command = {
  name: 'local',
  summary: 'Run dynalite, a local DynamoDB, for development',
  details:
    'Runs dynalite (npm install --save-dev dynalite) on 127.0.0.1 until Ctrl-C (SIGINT) or SIGTERM, and ' +
    'prints the environment that points the library and the AWS SDK at it. The data stays in memory, or ' +
    'with --path in that directory (LevelDB) across restarts.',
  options: {
    port: { type: 'string', placeholder: 'port', description: `The port; 0 picks a free one (default: ${DEFAULT_PORT})` },
    path: { type: 'string', placeholder: 'dir', description: 'Keep the data in this directory (default: in memory)' },
  },
  example: 'aws-lambda-persistence local --port 4567 --path .dynalite',
  async run(options, io: CliIo) {
    const port = portOption(stringOption(options, 'port'));
    const path = stringOption(options, 'path');
    const dynalite = loadDynalite();
    if (dynalite === undefined) {
      throw new PersistenceError('`local` runs dynalite, which is not installed. Install it with: npm install --save-dev dynalite');
    }
    const directory = path === undefined ? undefined : writableDirectory(resolve(io.cwd ?? process.cwd(), path));
    const server = dynalite(directory === undefined ? {} : { path: directory });
    try {
      await new Promise<void>((listening, failed) => {
        server.once('error', failed);
        server.listen(port, HOST, listening);
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'EADDRINUSE') {
        throw new PersistenceError(`Port ${port} is in use. Pick another with --port, or --port 0 for any free one.`);
      }
      throw error;
    }
    const endpoint = `http://${HOST}:${(server.address() as AddressInfo).port}`;
    io.stdout(
      [
        `dynalite listening on ${endpoint} (${directory === undefined ? 'in memory' : `data in ${directory}`})`,
        '',
        'Point the library (and the AWS SDK) at it:',
        `  export AWS_ENDPOINT_URL_DYNAMODB=${endpoint}`,
        '  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local  # any values',
        `  export PERSISTENCE_TABLE_KEY=my-function  # outside Lambda there is no function name`,
        '',
        'Stop with Ctrl-C.',
        '',
      ].join('\n'),
    );
    const reason = await (io.stopRequested ?? processStopSignal)();
    await new Promise<void>((closed) => {
      server.close(() => closed());
      server.closeAllConnections();
    });
    io.stdout(`dynalite stopped (${reason}).\n`);
    return 0;
  },
};
