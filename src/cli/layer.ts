import { zipSync, type Zippable } from 'fflate';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ConfigurationError, PersistenceError } from '../index';
import type { Command } from './command';
import { stringOption } from './command';
import { packageRoot, type PackageJson } from './packageRoot';

/** Where Lambda looks for a layer's Node.js packages (/opt/nodejs/node_modules once unpacked). */
const LAYER_MODULES = 'nodejs/node_modules';
// Optional peers the library's users load at run time, when installed: class-transformer (for
// fields holding class instances) and reflect-metadata (for emitDecoratorMetadata). The others stay
// out: the AWS SDK is in the runtime, dynalite is for development only.
const RUNTIME_PEERS = ['class-transformer', 'reflect-metadata'];
// The runtime has the AWS SDK v3; a second copy would only make the layer larger.
const IN_RUNTIME = /^@aws-sdk\//;
// Files npm publishes whatever `files` says.
const ALWAYS_PUBLISHED = /^(package\.json|(readme|license|licence)(\..*)?)$/i;
// What a function never loads from a layer: source maps, type declarations, documentation, and
// this package's own command line. Left out, the layer is about half the size.
const NOT_RUN = /(\.map|\.d\.ts|\.d\.mts|\.d\.cts|\.md|\.markdown)$/i;
const OWN_CLI = /^dist\/cli\./;
// A fixed time for every entry: the same package gives the same zip, so a deployment tool that
// compares hashes publishes a new layer version only when something changed.
const ENTRY_TIME = new Date(1980, 0, 2);

/** A package placed in the layer. */
export interface LayerPackage {
  readonly name: string;
  readonly version: string;
  /** Its directory inside the zip, e.g. `nodejs/node_modules/class-transformer`. */
  readonly at: string;
}

/** The layer: zip path → file on disk, and the packages it holds. */
export interface LayerContents {
  readonly files: ReadonlyMap<string, string>;
  readonly packages: readonly LayerPackage[];
}

/**
 * What goes into the Lambda layer: the package installed at `root` (the files it publishes) and its
 * runtime dependencies, found as Node.js would find them from the package, without the AWS SDK.
 *
 * @example
 * ```ts
 * const { packages } = layerContents(packageRoot(__dirname).root);
 * console.log(packages.map((p) => `${p.name}@${p.version}`));
 * ```
 */
export function layerContents(root: string): LayerContents {
  const manifest = readManifest(root);
  const files = new Map<string, string>();
  const packages: LayerPackage[] = [];
  /** Real directory of each package at the top of the layer, to hoist like npm and nest on a clash. */
  const hoisted = new Map<string, string>();

  const place = (name: string, directory: string, parentAt: string | undefined, own: boolean): void => {
    const real = realpathSync(directory);
    let at = `${LAYER_MODULES}/${name}`;
    if (hoisted.get(name) === real) return;
    if (hoisted.has(name)) at = `${parentAt}/node_modules/${name}`;
    else hoisted.set(name, real);
    const found = readManifest(directory);
    packages.push({ name, version: found.version, at });
    for (const file of own ? publishedFiles(directory, found) : packageFiles(directory)) {
      const path = relative(directory, file).split('\\').join('/');
      if (NOT_RUN.test(path) || (own && OWN_CLI.test(path))) continue;
      files.set(`${at}/${path}`, file);
    }
    const optional = new Set(Object.keys(found.optionalDependencies ?? {}));
    const wanted = [...Object.keys(found.dependencies ?? {}), ...optional, ...(own ? RUNTIME_PEERS : [])];
    for (const dependency of wanted) {
      if (IN_RUNTIME.test(dependency)) continue;
      const location = findPackage(dependency, directory);
      if (location !== undefined) place(dependency, location, at, false);
      else if (!optional.has(dependency) && !RUNTIME_PEERS.includes(dependency)) {
        throw new PersistenceError(
          `${dependency}, a dependency of ${name}, is not installed where Node.js would look from ${directory}. ` +
            'Run npm install, then build the layer again.',
        );
      }
    }
  };
  place(manifest.name, root, undefined, true);
  return { files, packages };
}

/**
 * The layer zip: {@link layerContents} packed with fflate, entries sorted and dated alike so that
 * the same package always gives the same bytes.
 *
 * @example
 * ```ts
 * writeFileSync('layer.zip', layerZip(layerContents(packageRoot(__dirname).root)));
 * ```
 */
export function layerZip(contents: LayerContents): Uint8Array {
  const entries: Zippable = {};
  for (const path of [...contents.files.keys()].sort()) {
    entries[path] = [readFileSync(contents.files.get(path)!), { mtime: ENTRY_TIME }];
  }
  return zipSync(entries, { level: 9 });
}

/** Where a package is, by Node.js's lookup: `node_modules` of `from` and each directory above it. */
function findPackage(name: string, from: string): string | undefined {
  // Walked by hand rather than require.resolve: a package's `exports` may hide its package.json.
  for (let directory = from; ; directory = dirname(directory)) {
    const candidate = join(directory, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(directory) === directory) return undefined;
  }
}

function readManifest(directory: string): PackageJson {
  return JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as PackageJson;
}

/** The files npm would publish from a package: `files`, package.json, README, LICENSE. */
function publishedFiles(directory: string, manifest: PackageJson): string[] {
  if (manifest.files === undefined) return packageFiles(directory);
  const selected = readdirSync(directory).filter((name) => ALWAYS_PUBLISHED.test(name));
  for (const entry of manifest.files) {
    if (existsSync(join(directory, entry))) selected.push(entry);
    else selected.push(...matching(directory, entry));
  }
  return [...new Set(selected)].flatMap((entry) => filesBelow(join(directory, entry)));
}

/** The paths a `files` pattern with `*` in its last segment (`docs/*.md`) names. */
function matching(directory: string, pattern: string): string[] {
  const slash = pattern.lastIndexOf('/');
  const folder = pattern.slice(0, slash + 1);
  const name = pattern.slice(slash + 1);
  if (!name.includes('*') || !existsSync(join(directory, folder))) return [];
  const escaped = name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  const test = new RegExp(`^${escaped}$`);
  return readdirSync(join(directory, folder))
    .filter((file) => test.test(file))
    .map((file) => `${folder}${file}`);
}

/** Every file of an installed package, without its nested node_modules (placed on their own). */
function packageFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name !== 'node_modules')
    .flatMap((name) => filesBelow(join(directory, name)));
}

function filesBelow(path: string): string[] {
  // statSync follows symbolic links: a linked file or package goes in as its content.
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesBelow(join(path, name)));
}

/** `--out`, checked before the zip is built: an existing directory or a path in a missing folder. */
function writableFile(out: string): string {
  const problem =
    existsSync(out) && statSync(out).isDirectory()
      ? 'is a directory'
      : !existsSync(dirname(out))
        ? `is in ${dirname(out)}, which does not exist`
        : undefined;
  if (problem !== undefined) {
    throw new ConfigurationError('--out', `--out ${JSON.stringify(out)} ${problem}: pass the path of the zip to write, e.g. --out layer.zip.`);
  }
  return out;
}

/**
 * `layer`: writes the Lambda layer zip.
 *
 * @example
 * ```sh
 * npx aws-lambda-persistence layer --out layer.zip
 * ```
 */
export const layerCommand: Command = {
  name: 'layer',
  summary: 'Build a Lambda layer zip of this package and its runtime dependencies',
  details:
    'Writes a zip with nodejs/node_modules/aws-lambda-persistence (the installed package) and its runtime ' +
    'dependencies (class-transformer and reflect-metadata when installed), without the AWS SDK that the ' +
    'Lambda runtime provides, and without what a function never loads (source maps, type declarations, ' +
    'documentation, this command line). Publish it with `aws lambda publish-layer-version`; functions that use it ' +
    "leave aws-lambda-persistence out of their bundle (esbuild's --external).",
  options: {
    out: { type: 'string', placeholder: 'file', description: 'The zip to write (default: aws-lambda-persistence-layer.zip)' },
  },
  example: 'aws-lambda-persistence layer --out layer.zip',
  async run(options, io) {
    const out = writableFile(resolve(io.cwd ?? process.cwd(), stringOption(options, 'out') ?? 'aws-lambda-persistence-layer.zip'));
    const contents = layerContents(packageRoot(__dirname).root);
    const zip = layerZip(contents);
    writeFileSync(out, zip);
    io.stdout(
      [
        `Wrote ${out} (${Math.ceil(zip.length / 1024)} KiB, ${contents.files.size} files):`,
        ...contents.packages.map((item) => `  ${item.at}  ${item.name}@${item.version}`),
        '',
        'Publish it:',
        `  aws lambda publish-layer-version --layer-name aws-lambda-persistence --zip-file fileb://${out} \\`,
        '    --compatible-runtimes nodejs20.x nodejs22.x',
        '',
      ].join('\n'),
    );
    return 0;
  },
};
