// Runs the test suite against moto_server (Python moto), a second DynamoDB implementation, instead
// of dynalite: starts it on 127.0.0.1 and a free port, points the tests at it through
// TEST_DYNAMODB_ENDPOINT, and stops it by PID. moto_server must be on PATH (CI machines have it;
// `pip install "moto[server]"` elsewhere).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const port = await new Promise((resolve, reject) => {
  const probe = createServer();
  probe.once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});

// moto_server logs every request to stderr. It goes to a file, not a pipe: while jest runs (spawnSync
// below) nobody would read a pipe, and once its 64 KiB buffer filled, moto_server's request threads
// blocked on the logging lock and stopped answering.
mkdirSync('.tmp', { recursive: true });
const logFile = '.tmp/moto_server.log';
const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', openSync(logFile, 'w')] });
const motoLog = () => readFileSync(logFile, 'utf8').slice(-4000);
const failedToStart = new Promise((_, reject) => {
  moto.once('error', (error) => reject(new Error(`cannot start moto_server (${error.message}); install it with: pip install "moto[server]"`)));
  moto.once('exit', (code) => reject(new Error(`moto_server exited with code ${code} before it answered:\n${motoLog()}`)));
});

const endpoint = `http://127.0.0.1:${port}`;
const stop = () => {
  if (moto.exitCode === null) moto.kill('SIGTERM');
};
process.on('exit', stop);

try {
  await Promise.race([failedToStart, waitUntilUp(endpoint, 30_000)]);
  console.log(`moto_server (pid ${moto.pid}) on ${endpoint}`);
  const jest = spawnSync(process.execPath, ['node_modules/jest/bin/jest.js', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_DYNAMODB_ENDPOINT: endpoint, TEST_DYNAMODB_IMPLEMENTATION: 'moto' },
  });
  process.exitCode = jest.status ?? 1;
} catch (error) {
  console.error(error.message);
  process.exitCode = 1;
} finally {
  stop();
}

async function waitUntilUp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { method: 'POST', headers: { 'X-Amz-Target': 'DynamoDB_20120810.ListTables', 'Content-Type': 'application/x-amz-json-1.0' }, body: '{}' });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
