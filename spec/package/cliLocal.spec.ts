import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../support/cli';

// The CLI as built by `npm pack` in the jest globalSetup, run from the repository so that it finds
// dynalite (an optional peer dependency) in the repository's node_modules, as a user's project would.
const CLI = join(__dirname, '../..', 'dist', 'cli.js');

/** Starts `aws-lambda-persistence local` and resolves with its endpoint once it prints it. */
async function startLocal(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; endpoint: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'local', ...args], { env: process.env });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint printed: ${stdout}${stderr}`)), 15_000);
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`local exited with ${code}: ${stderr}`)));
  });
  return { child, endpoint, output: () => stdout };
}

const clientFor = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

async function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

describe('CLI: local (the built executable in a child process)', () => {
  it('serves DynamoDB on the free port --port 0 picked, prints how to use it, and stops on SIGTERM', async () => {
    const { child, endpoint, output } = await startLocal(['--port', '0']);
    const client = clientFor(endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
    expect(output()).toContain(`export AWS_ENDPOINT_URL_DYNAMODB=${endpoint}`);
    expect(output()).toContain('(in memory)');
    client.destroy();
    expect(await stop(child)).toBe(0);
    expect(output()).toContain('dynalite stopped (SIGTERM)');
  });

  it('keeps the data in --path across restarts', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'alp-local-'));
    try {
      const first = await startLocal(['--port', '0', '--path', directory]);
      const writer = clientFor(first.endpoint);
      await writer.send(
        new CreateTableCommand({
          TableName: 'Kept',
          AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      // dynalite, like DynamoDB, takes a moment to make a new table ACTIVE.
      while ((await writer.send(new DescribeTableCommand({ TableName: 'Kept' }))).Table?.TableStatus !== 'ACTIVE') {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await writer.send(new PutItemCommand({ TableName: 'Kept', Item: { key: { S: 'k' }, n: { N: '7' } } }));
      writer.destroy();
      expect(await stop(first.child)).toBe(0);

      const second = await startLocal(['--port', '0', '--path', directory]);
      const reader = clientFor(second.endpoint);
      const { Item } = await reader.send(new GetItemCommand({ TableName: 'Kept', Key: { key: { S: 'k' } } }));
      expect(Item?.n).toEqual({ N: '7' });
      reader.destroy();
      expect(await stop(second.child)).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('exits 1 saying `npm install --save-dev dynalite` when dynalite is not installed', async () => {
    jest.resetModules();
    jest.doMock('dynalite', () => {
      throw Object.assign(new Error("Cannot find module 'dynalite' from 'src/cli/local.ts'"), { code: 'MODULE_NOT_FOUND' });
    });
    const { runCli: isolatedRunCli } = require('../support/cli') as typeof import('../support/cli');
    const result = await isolatedRunCli(['local', '--port', '0']);
    jest.dontMock('dynalite');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain('npm install --save-dev dynalite');
  });

  it('stops when asked in-process, and says so when the port is taken', async () => {
    let stopLocal: (reason: string) => void = () => undefined;
    let printed = '';
    const running = runCli(['local', '--port', '0'], {
      stdout: (text) => (printed += text),
      stopRequested: () => new Promise((resolve) => (stopLocal = resolve)),
    });
    while (!printed.includes('listening on')) await new Promise((resolve) => setTimeout(resolve, 10));
    const port = /127\.0\.0\.1:(\d+)/.exec(printed)![1]!;
    const taken = await runCli(['local', '--port', port]);
    expect(taken).toMatchObject({ code: 1 });
    expect(taken.stderr).toContain(`Port ${port} is in use`);
    stopLocal('test');
    expect((await running).code).toBe(0);
  });

  it('refuses a --path it cannot keep data in, before starting (dynalite would listen and never answer)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'alp-local-')), 'a-file');
    writeFileSync(file, 'not a directory');
    const result = await runCli(['local', '--port', '0', '--path', file]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^aws-lambda-persistence: --path ".*a-file" cannot hold dynalite's data .*pass a directory you can write to/);
    rmSync(dirname(file), { recursive: true, force: true });
  });
});
