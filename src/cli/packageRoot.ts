import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PersistenceError } from '../index';

const PACKAGE_NAME = 'aws-lambda-persistence';

/** The package.json fields the CLI reads. */
export interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly files?: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

/**
 * The directory of this package's package.json, found upward from `from`: `dist/` of an installed
 * package (the bundled CLI) or `src/cli/` of a checkout (tests).
 *
 * @example
 * ```ts
 * const { root, manifest } = packageRoot(__dirname);
 * console.log(manifest.version);
 * ```
 */
export function packageRoot(from: string): { root: string; manifest: PackageJson } {
  for (let directory = from; ; directory = dirname(directory)) {
    const file = join(directory, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      if (manifest.name === PACKAGE_NAME) return { root: directory, manifest };
    }
    if (dirname(directory) === directory) {
      throw new PersistenceError(`The ${PACKAGE_NAME} package.json was not found above ${from}: reinstall the package.`);
    }
  }
}
