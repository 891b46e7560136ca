import { TableNotFoundError, type ErrorLocation } from '../../errors';
import type { DeadlineSignal } from '../Deadline';
import type { ResolvedOptions } from '../options';
import type { DynamoDBItems } from './DynamoDBItems';

const CREATED_BY_TAG = { Key: 'created-by', Value: 'aws-lambda-persistence' };
// Polling for ACTIVE: start short (dynalite and DynamoDB often need well under a second), back off.
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;

/**
 * Creates the table as the options describe it (one string partition key, the billing mode, a
 * `created-by` tag), tolerating a concurrent creation by another environment, and waits until it
 * is ACTIVE.
 */
export async function createTable(
  items: DynamoDBItems,
  options: Pick<ResolvedOptions, 'billing' | 'keyFieldName' | 'tableCreationTimeoutMs'>,
  location: Required<ErrorLocation>,
  signal?: DeadlineSignal,
): Promise<void> {
  const { billing, keyFieldName } = options;
  await items.createTable(
    {
      AttributeDefinitions: [{ AttributeName: keyFieldName, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: keyFieldName, KeyType: 'HASH' }],
      ...(billing.mode === 'PAY_PER_REQUEST'
        ? { BillingMode: 'PAY_PER_REQUEST' }
        : {
            BillingMode: 'PROVISIONED',
            ProvisionedThroughput: { ReadCapacityUnits: billing.readCapacityUnits, WriteCapacityUnits: billing.writeCapacityUnits },
          }),
      Tags: [CREATED_BY_TAG],
    },
    signal,
  );
  const deadline = Date.now() + options.tableCreationTimeoutMs;
  for (let wait = FIRST_POLL_MS; ; wait = Math.min(wait * 2, MAX_POLL_MS)) {
    const status = await items.tableStatus(signal);
    if (status === 'ACTIVE') return;
    if (Date.now() + wait > deadline) {
      throw new TableNotFoundError(
        `Table "${location.tableName}" did not become ACTIVE within ${options.tableCreationTimeoutMs} ms ` +
          `(last status: ${status ?? 'not visible'}). Raise tableCreationTimeoutMs or create the table beforehand.`,
        location,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** The error for a missing table that the library may not create. */
export function missingTableError(location: Required<ErrorLocation>, keyFieldName: string): TableNotFoundError {
  return new TableNotFoundError(
    `Table "${location.tableName}" does not exist and createTable is off. Create it with the string ` +
      `partition key "${keyFieldName}" (see the README's "Table" section), set tableName ` +
      '(PERSISTENCE_TABLE_NAME) to an existing table, or enable createTable.',
    location,
  );
}
