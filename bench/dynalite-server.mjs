// The benchmark's DynamoDB: dynalite (in memory) in its own process, on 127.0.0.1 and a free port.
// Forked by bench/run.mjs with an IPC channel: it sends { type: 'ready', port } once listening, and
// answers { type: 'take' } with { type: 'counts', counts } — the requests it received since the last
// 'take', by operation (the X-Amz-Target header), counted here in the server, so no proxy sits
// between the clients and the server and adds latency to either side of a comparison.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
let counts = {};
server.prependListener('request', (request) => {
  const op = String(request.headers['x-amz-target'] ?? `${request.method} ${request.url}`).replace(/^DynamoDB_\d+\./, '');
  counts[op] = (counts[op] ?? 0) + 1;
});

server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));

process.on('message', (message) => {
  if (message?.type === 'take') {
    const taken = counts;
    counts = {};
    process.send({ type: 'counts', counts: taken });
  }
});
// The parent went away (finished, or crashed): do not outlive it.
process.on('disconnect', () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
