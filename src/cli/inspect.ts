import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigurationError, FORMAT_VERSION, PersistenceError } from '../index';
import { decodeValue, DecodeProblem } from '../persistence/codec';
import { DEFAULTS, ENVIRONMENT, resolveOptions, type DynamoDBSender } from '../persistence/options';
import { DynamoDBRowStore } from '../persistence/RowStore';
import { createDefaultClient } from '../persistence/storage/DynamoDBItems';
import { ItemFormat } from '../persistence/storage/itemFormat';
import { attributeSize, itemSize, SizeCache } from '../persistence/storage/sizes';
import type { Command } from './command';
import { stringOption } from './command';
import { regionOption, required, tableOption } from './optionChecks';
import { readableJson } from './readableJson';

/** What `inspect` prints. */
export interface RowReport {
  readonly table: string;
  readonly key: string;
  /** The storage format version of the row (docs/storage-format.md). */
  readonly format: number;
  readonly revision: number;
  readonly updatedAt?: string;
  /** Where the state is (the fields not in items of their own): a readable map in the row, packed (gzip) in the row, or split into part items. */
  readonly layout: 'map' | 'packed' | 'parts';
  readonly size: {
    /** The encoded state with the row's bookkeeping: what `maxStateBytes` limits. */
    readonly state: number;
    /** What DynamoDB stores for the row, its part items and its field items. */
    readonly stored: number;
    /** How many items hold it: the row, its part items and its field items. */
    readonly items: number;
  };
  /**
   * Where each field is stored and its encoded size as DynamoDB counts it: in the row (`row`, or
   * `row, packed` / `parts` for a large state), or in an item of its own (`own item`, with its key).
   */
  readonly where: Record<string, { readonly stored: 'row' | 'row, packed' | 'parts' | 'own item'; readonly bytes: number; readonly key?: string }>;
  /** Each field decoded, in the notation of {@link readableJson}; `{ "@error": ... }` for one that cannot be. */
  readonly fields: Record<string, unknown>;
}

/**
 * Reads `tableKey`'s row through the library's own row store, so every layout (map, packed, parts)
 * reads exactly as a cold start would, and decodes each field.
 *
 * @example
 * ```ts
 * const report = await inspectRow(new DynamoDBClient({}), { tableName: 'AWSLambdaPersistence', tableKey: 'my-function' });
 * console.log(report?.fields);
 * ```
 */
export async function inspectRow(
  client: DynamoDBSender,
  settings: { tableName: string; tableKey: string; keyFieldName?: string; valueFieldName?: string },
): Promise<RowReport | null | 'table-missing'> {
  const options = resolveOptions({ ...settings, onCorruptRow: 'fail' }, {});
  // Every item the store reads (the row, re-reads of it, its parts), for the format and the sizes.
  const items: Record<string, AttributeValue>[] = [];
  const store = new DynamoDBRowStore(client, options, settings.tableKey, new SizeCache(), undefined, undefined, (item) => items.push(item));
  const row = await store.get();
  if (row === null || row === 'table-missing') return row;
  // The last read of the row and the part reads after it: the store re-reads when parts were replaced.
  let first = items.length - 1;
  while (items[first]![options.keyFieldName]?.S !== settings.tableKey) first -= 1;
  const rowItem = items[first]!;
  const format = new ItemFormat(options, { tableName: options.tableName, tableKey: settings.tableKey });
  if (!format.hasState(rowItem)) {
    throw new ConfigurationError(
      '--value-field',
      `Row "${settings.tableKey}" has no attribute "${options.valueFieldName}" (it has ${Object.keys(rowItem).join(', ')}): ` +
        'pass the attribute that holds the state with --value-field.',
    );
  }
  const parsed = format.parse(rowItem);
  const read = items.slice(first);
  const fields: Record<string, unknown> = {};
  const where: Record<string, RowReport['where'][string]> = {};
  const inRow = parsed.state.kind === 'map' ? 'row' : parsed.state.kind === 'packed' ? 'row, packed' : 'parts';
  for (const [name, attribute] of Object.entries(row.fields)) {
    const ref = parsed.refs?.get(name);
    where[name] =
      ref === undefined
        ? { stored: inRow, bytes: attributeSize(attribute) }
        : { stored: 'own item', bytes: attributeSize(attribute), key: format.fieldKey(name, ref.slot)[options.keyFieldName]!.S! };
    try {
      fields[name] = readableJson(decodeValue(name, attribute));
    } catch (error) {
      if (!(error instanceof DecodeProblem)) throw error;
      fields[name] = { '@error': `at ${error.path}: ${error.problem}` };
    }
  }
  return {
    table: options.tableName,
    key: settings.tableKey,
    format: parsed.format,
    revision: row.revision,
    ...(parsed.updatedAt !== undefined && { updatedAt: parsed.updatedAt }),
    layout: parsed.state.kind,
    size: {
      state: store.rowOverhead + attributeSize({ M: row.fields as Record<string, AttributeValue> }),
      stored: read.reduce((total, item) => total + itemSize(item), 0),
      items: read.length,
    },
    where,
    fields,
  };
}

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/;

/**
 * The client for `--endpoint`/`--region`. A local server (dynalite, DynamoDB Local) checks no
 * signature, so for one the CLI supplies a region and dummy credentials when the environment has
 * none, instead of failing on missing AWS configuration.
 */
function clientFor(endpoint: string | undefined, region: string | undefined, env: NodeJS.ProcessEnv): DynamoDBClient {
  const local = endpoint !== undefined && LOOPBACK.test(endpoint);
  const localRegion = local && !env.AWS_REGION && !env.AWS_DEFAULT_REGION ? 'us-east-1' : undefined;
  const localCredentials = local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE;
  return createDefaultClient({ maxAttempts: 3 }, {
    ...(endpoint !== undefined && { endpoint }),
    ...((region ?? localRegion) !== undefined && { region: region ?? localRegion }),
    ...(localCredentials && { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
}

/** What to do about the SDK failures a first use of the CLI meets; undefined for others. */
function awsSetupHint(error: unknown): string | undefined {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'CredentialsProviderError') {
    return 'No AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';
  }
  if (message === 'Region is missing') return 'No AWS region: pass --region or set AWS_REGION.';
  if (name === 'ValidationException' && /key element does not match the schema/i.test(message ?? '')) {
    return "The table's partition key is not the --key-field given (default: key): pass the table's key attribute with --key-field.";
  }
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || /ECONNREFUSED|ENOTFOUND/.test(message ?? '')) {
    return `Cannot reach DynamoDB (${message}): check --endpoint (is \`aws-lambda-persistence local\` running?) or --region.`;
  }
  return undefined;
}

/**
 * `inspect`: prints a function's stored state, decoded, as JSON.
 *
 * @example
 * ```sh
 * npx aws-lambda-persistence inspect --function my-function --region eu-west-1
 * ```
 */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: "Print a function's stored state, decoded, as JSON",
  details:
    "Reads the function's row as the library does on a cold start (map, packed or split into parts) and " +
    'prints its format version, revision, sizes and every field decoded. Values JSON cannot carry (Date, ' +
    'Map, Set, BigInt, bytes, NaN) print tagged as in the row: {"@type": "Date", "@value": "2024-..."}, bytes ' +
    `in base64. Options not given come from ${ENVIRONMENT.tableName}, ${ENVIRONMENT.keyFieldName} and ` +
    `${ENVIRONMENT.valueFieldName}; the connection from the standard AWS environment (AWS_REGION, ` +
    'AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB).',
  options: {
    function: { type: 'string', placeholder: 'name', description: "The function's name (its row key); required" },
    table: { type: 'string', placeholder: 'name', description: `The table (default: ${ENVIRONMENT.tableName}, else ${DEFAULTS.tableName})` },
    endpoint: { type: 'string', placeholder: 'url', description: 'A DynamoDB endpoint, e.g. http://127.0.0.1:4567 from `local`' },
    region: { type: 'string', placeholder: 'region', description: 'The AWS region (default: from the AWS environment)' },
    'key-field': { type: 'string', placeholder: 'name', description: 'The partition key attribute (default: key)' },
    'value-field': { type: 'string', placeholder: 'name', description: 'The attribute holding the state (default: value)' },
  },
  example: 'aws-lambda-persistence inspect --function my-function --endpoint http://127.0.0.1:4567',
  async run(options, io) {
    const tableKey = required(stringOption(options, 'function'), '--function', 'inspect', 'my-function');
    const env = io.env ?? process.env;
    const tableName = tableOption(stringOption(options, 'table') ?? (env[ENVIRONMENT.tableName] || undefined));
    const endpoint = stringOption(options, 'endpoint');
    if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
      throw new ConfigurationError('--endpoint', `--endpoint ${JSON.stringify(endpoint)} is not a URL: pass one such as http://127.0.0.1:4567.`);
    }
    const region = regionOption(stringOption(options, 'region'));
    const keyFieldName = stringOption(options, 'key-field') ?? (env[ENVIRONMENT.keyFieldName] || undefined);
    const valueFieldName = stringOption(options, 'value-field') ?? (env[ENVIRONMENT.valueFieldName] || undefined);
    const regionName = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    const where = `table "${tableName}" ${endpoint !== undefined ? `at ${endpoint}` : `in ${regionName ?? 'the default region'}`}`;
    const client = clientFor(endpoint, region, env);
    let report: Awaited<ReturnType<typeof inspectRow>>;
    try {
      report = await inspectRow(client, { tableName, tableKey, ...(keyFieldName && { keyFieldName }), ...(valueFieldName && { valueFieldName }) });
    } catch (error) {
      const hint = awsSetupHint(error);
      throw hint === undefined ? error : new PersistenceError(hint, { cause: error });
    } finally {
      client.destroy();
    }
    if (report === 'table-missing') throw new PersistenceError(`There is no ${where}. Check --table, and --region or --endpoint.`);
    if (report === null) {
      throw new PersistenceError(
        `No state stored for "${tableKey}" in ${where}: the function has not written yet, or its row key is ` +
          'not its name (PERSISTENCE_TABLE_KEY).',
      );
    }
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    const broken = Object.keys(report.fields).filter((name) => (report.fields[name] as { '@error'?: string } | null)?.['@error']);
    if (broken.length > 0) {
      io.stderr(`Fields ${broken.join(', ')} cannot be decoded by this version (format ${FORMAT_VERSION}); see "@error".\n`);
      return 1;
    }
    return 0;
  },
};
