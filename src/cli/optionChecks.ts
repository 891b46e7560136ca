/**
 * Checks of option values shared by several commands. Each failure is a `ConfigurationError` whose
 * `option` is the command-line flag and whose message says what to pass instead.
 */
import { ConfigurationError } from '../index';
import { DEFAULTS, TABLE_NAME } from '../persistence/options';

/** `--table`, or the default table name; validated by the same rule `bind()` applies. */
export function tableOption(value: string | undefined): string {
  if (value === undefined) return DEFAULTS.tableName;
  if (!TABLE_NAME.test(value)) {
    throw new ConfigurationError(
      '--table',
      `--table ${JSON.stringify(value)} is not a DynamoDB table name: use 3-255 letters, digits, '_', '-' or '.'.`,
    );
  }
  return value;
}

/**
 * `--function` when it becomes a `dynamodb:LeadingKeys` value. Refused: `*` and `?`, which IAM
 * reads as wildcards, `${`, which starts an IAM policy variable, and `#`, which would reach
 * another row's part items (`<key>#part#...`) — each would open other rows to this role.
 */
export function rowKeyOption(value: string | undefined, command: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === '' || /[*?#]|\$\{/.test(value)) {
    throw new ConfigurationError(
      '--function',
      `--function ${JSON.stringify(value)} cannot confine the policy to one row: pass the function's name ` +
        `(its row key), without the IAM wildcards * and ?, a policy variable \${...} or #, e.g. ` +
        `\`aws-lambda-persistence ${command} --function my-function\`.`,
    );
  }
  return value;
}

/** Lambda function names: 1-64 letters, digits, '-' and '_'. */
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `--function` when it names a function to create: Lambda's naming rule. */
export function functionNameOption(value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (!FUNCTION_NAME.test(value)) {
    throw new ConfigurationError(
      '--function',
      `--function ${JSON.stringify(value)} is not a Lambda function name: use 1-64 letters, digits, '-' or '_'.`,
    );
  }
  return value;
}

/** `--region`: an AWS region name such as `eu-west-1`. */
export function regionOption(value: string | undefined): string | undefined {
  if (value !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value)) {
    throw new ConfigurationError('--region', `--region ${JSON.stringify(value)} is not an AWS region: pass one such as eu-west-1.`);
  }
  return value;
}

/** `--account`: a 12-digit AWS account id. */
export function accountOption(value: string | undefined): string | undefined {
  if (value !== undefined && !/^\d{12}$/.test(value)) {
    throw new ConfigurationError('--account', `--account ${JSON.stringify(value)} is not an AWS account id: pass its 12 digits.`);
  }
  return value;
}

/** A command's required option. */
export function required<T>(value: T | undefined, option: string, command: string, example: string): T {
  if (value === undefined) {
    throw new ConfigurationError(
      option,
      `${command} needs ${option}: \`aws-lambda-persistence ${command} ${option} ${example}\`.`,
    );
  }
  return value;
}
