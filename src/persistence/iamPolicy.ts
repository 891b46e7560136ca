import { actionsOf } from './storage/commands';
import { FIELD_KEY_INFIX, PART_KEY_INFIX } from './storage/itemFormat';

/**
 * The least-privilege IAM policy a function needs for its row. Shown by {@link AccessDeniedError}
 * and documented in the README.
 */

/** What the policy is for. */
export interface PolicyTarget {
  /** The table holding the rows. */
  readonly tableName: string;
  /** The function's row key; confines the item actions to that row when given. */
  readonly tableKey?: string;
  /** Whether the library may create the table (adds CreateTable, DescribeTable, TagResource). */
  readonly createTable: boolean;
  /** AWS region, `*` when unknown. */
  readonly region?: string;
  /** AWS account id, `*` when unknown. */
  readonly account?: string;
  /** AWS partition: `aws-cn` in China, `aws-us-gov` in GovCloud. @default 'aws' */
  readonly partition?: string;
}

/** The item-level actions the library's store sends (storage/commands.ts lists them). */
export const ITEM_ACTIONS: readonly string[] = actionsOf('item');

/** The keys of a function's items, as `dynamodb:LeadingKeys` patterns: its row, its part items, its field items. */
export function leadingKeys(tableKey: string): string[] {
  return [tableKey, `${tableKey}${PART_KEY_INFIX}*`, `${tableKey}${FIELD_KEY_INFIX}*`];
}

/** The table-level actions used to create a missing table. */
export const TABLE_ACTIONS: readonly string[] = actionsOf('table');

/**
 * Builds the policy document. With `tableKey`, the `dynamodb:LeadingKeys` condition keeps the
 * function to its own row (and its part and field items, keyed `<tableKey>#part#...` and `<tableKey>#field#...`), so one
 * function cannot read or overwrite another's state.
 *
 * @example
 * ```ts
 * policyFor({ tableName: 'AWSLambdaPersistence', tableKey: 'my-fn', createTable: true });
 * ```
 */
export function policyFor(target: PolicyTarget): object {
  const arn = `arn:${target.partition ?? 'aws'}:dynamodb:${target.region ?? '*'}:${target.account ?? '*'}:table/${target.tableName}`;
  const statements: object[] = [
    {
      Sid: 'ReadWriteOwnRow',
      Effect: 'Allow',
      Action: [...ITEM_ACTIONS],
      Resource: arn,
      ...(target.tableKey !== undefined && {
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leadingKeys(target.tableKey) } },
      }),
    },
  ];
  if (target.createTable) {
    statements.push({ Sid: 'CreateTableOnFirstUse', Effect: 'Allow', Action: [...TABLE_ACTIONS], Resource: arn });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** Partition, region and account from an invoked function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`). */
export function arnParts(invokedFunctionArn: string | undefined): { partition?: string; region?: string; account?: string } {
  const parts = invokedFunctionArn?.split(':') ?? [];
  return parts.length >= 5 && parts[0] === 'arn' ? { partition: parts[1], region: parts[3], account: parts[4] } : {};
}
