/**
 * Every DynamoDB operation the store sends, with what it needs: the one list from which the IAM
 * policy (iamPolicy.ts), the request counters (Stats.ts) and the build (the SDK names the ES module
 * build binds, scripts/build.mjs) take theirs. A new request is one line here; spec/integration/iamPolicy.spec.ts
 * fails when the store sends an operation the policy does not allow. No imports: the build loads it
 * on its own.
 */
export const OPERATIONS: { readonly [Name in DynamoDBOperation]: { readonly scope: 'item' | 'table'; readonly reads: boolean } } = {
  /** The row (strongly consistent), a part item, a slot item. */
  GetItem: { scope: 'item', reads: true },
  /** Fields in items of their own, on a cold start. */
  BatchGetItem: { scope: 'item', reads: true },
  /** A whole-row write, a part item, a slot item. */
  PutItem: { scope: 'item', reads: false },
  /** A write of changed fields. */
  UpdateItem: { scope: 'item', reads: false },
  /** Part items of a large state that was replaced. */
  DeleteItem: { scope: 'item', reads: false },
  /** A missing table (createTable). */
  CreateTable: { scope: 'table', reads: false },
  /** Waiting for a created table to be ACTIVE. */
  DescribeTable: { scope: 'table', reads: false },
};

/**
 * The DynamoDB operations the library sends (a name here without an entry in the list above, or the
 * other way round, does not compile).
 *
 * @example
 * ```ts
 * const sent: DynamoDBOperation = 'UpdateItem';
 * console.log(handler.stats.requests[sent]);
 * ```
 */
export type DynamoDBOperation = 'GetItem' | 'BatchGetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'CreateTable' | 'DescribeTable';

/** Every operation's name. */
export const OPERATION_NAMES = Object.keys(OPERATIONS) as DynamoDBOperation[];

/**
 * The IAM actions of `scope`. Creating a table with tags (the library tags what it creates) also
 * needs `dynamodb:TagResource`, an action no request of its own names.
 */
export function actionsOf(scope: 'item' | 'table'): string[] {
  const actions = OPERATION_NAMES.filter((name) => OPERATIONS[name].scope === scope).map((name) => `dynamodb:${name}`);
  return scope === 'table' ? [...actions, 'dynamodb:TagResource'] : actions;
}
