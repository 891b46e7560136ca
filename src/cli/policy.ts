import { policyFor } from '../index';
import type { Command } from './command';
import { stringOption } from './command';
import { accountOption, regionOption, rowKeyOption, tableOption } from './optionChecks';

/**
 * `policy`: the least-privilege IAM policy document for a function's row, from `policyFor()`.
 *
 * @example
 * ```sh
 * npx aws-lambda-persistence policy --function my-function --no-create
 * ```
 */
export const policyCommand: Command = {
  name: 'policy',
  summary: "Print the least-privilege IAM policy for a function's row",
  details:
    "Prints the IAM policy document a function's execution role needs. With --function, the " +
    'dynamodb:LeadingKeys condition confines the role to that function\'s row and its "<name>#part#*" ' +
    'and "<name>#field#*" items, so it cannot read or overwrite another function\'s state. --no-create leaves out the ' +
    'table-creation actions: use it when infrastructure code creates the table (createTable: false).',
  options: {
    table: { type: 'string', placeholder: 'name', description: 'The table (default: AWSLambdaPersistence)' },
    function: { type: 'string', placeholder: 'name', description: "The function's name (its row key); confines the policy to its row" },
    'no-create': { type: 'boolean', description: 'Leave out CreateTable/DescribeTable/TagResource (createTable: false)' },
    region: { type: 'string', placeholder: 'region', description: 'The region in the table ARN (default: *)' },
    account: { type: 'string', placeholder: 'id', description: 'The account id in the table ARN (default: *)' },
  },
  example: 'aws-lambda-persistence policy --function my-function --no-create',
  async run(options, io) {
    const tableKey = rowKeyOption(stringOption(options, 'function'), 'policy');
    const region = regionOption(stringOption(options, 'region'));
    const account = accountOption(stringOption(options, 'account'));
    const policy = policyFor({
      tableName: tableOption(stringOption(options, 'table')),
      createTable: options['no-create'] !== true,
      ...(tableKey !== undefined && { tableKey }),
      ...(region !== undefined && { region }),
      ...(account !== undefined && { account }),
    });
    io.stdout(`${JSON.stringify(policy, null, 2)}\n`);
    if (tableKey === undefined) {
      io.stderr(
        'Note: without --function this policy lets the role read and write every row of the table. ' +
          "Pass --function <name> to confine it to that function's row.\n",
      );
    }
    return 0;
  },
};
