/**
 * `npm run docs` builds the API reference with TypeDoc (typedoc.json). Here it runs without
 * writing anything and with warnings as errors, so an export without TSDoc, a broken `{@link}` or a
 * broken link in the docs pages fails the suite instead of the next docs build.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');

describe('API docs (TypeDoc)', () => {
  it('document every public export of both entry points without a warning', async () => {
    const typedoc = join(ROOT, 'node_modules/typedoc/bin/typedoc');
    const result = await run(process.execPath, [typedoc, '--emit', 'none', '--treatWarningsAsErrors'], { cwd: ROOT }).catch(
      (error: { stdout: string; stderr: string; code: number }) => error,
    );
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/warning|error/i);
    expect('code' in result ? result.code : 0).toBe(0);
  });
});
