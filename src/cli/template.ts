import { policyFor } from '../index';
import { DEFAULTS, ENVIRONMENT, TABLE_NAME } from '../persistence/options';
import type { Command } from './command';
import { stringOption } from './command';
import { FUNCTION_NAME, functionNameOption, tableOption } from './optionChecks';

/** What the template is for. */
export interface TemplateOptions {
  /** Default of the FunctionName parameter: the function's name and row key. */
  readonly functionName: string;
  /** Default of the TableName parameter. */
  readonly tableName: string;
  /** An AWS SAM template (`AWS::Serverless::Function`, built by `sam build` with esbuild). */
  readonly sam: boolean;
  /** Declare the table in the template; the function then runs with `createTable: false`. */
  readonly tableInTemplate: boolean;
}

const DEFAULT_FUNCTION_NAME = 'my-function';
// Node.js 20 reached its end of life in April 2026.
const RUNTIME = 'nodejs22.x';
// Inline code CloudFormation can deploy as is; it says what to do instead of failing obscurely.
const PLACEHOLDER_CODE = [
  '// Placeholder: replace the Code of this function with your bundled handler (docs/cli.md, "template").',
  "exports.handler = async () => { throw new Error('Deploy your bundled handler in place of this placeholder.'); };",
  '',
].join('\n');

/**
 * A CloudFormation (or SAM) template: the function, its execution role with the least-privilege
 * policy of `policyFor()`, and optionally the table. The function's name is a parameter that both
 * the function and the policy's `dynamodb:LeadingKeys` condition use, so the row key (the function
 * name) and the policy always agree; the policy cannot reference the function itself, which
 * depends on the role (a circular dependency).
 *
 * @example
 * ```ts
 * const template = buildTemplate({ functionName: 'counter', tableName: 'AWSLambdaPersistence', sam: false, tableInTemplate: true });
 * writeFileSync('template.json', JSON.stringify(template, null, 2));
 * ```
 */
export function buildTemplate(options: TemplateOptions): object {
  // policyFor() with CloudFormation placeholders in place of the names, each string then wrapped
  // in Fn::Sub: the template carries exactly the document policyFor() gives once they are filled.
  const policy = substitute(
    policyFor({
      tableName: '${TableName}',
      tableKey: '${FunctionName}',
      createTable: !options.tableInTemplate,
      region: '${AWS::Region}',
      account: '${AWS::AccountId}',
      partition: '${AWS::Partition}',
    }),
  );
  const environment = {
    Variables: {
      // With the table in the template, a Ref to it: CloudFormation then creates the table first.
      [ENVIRONMENT.tableName]: { Ref: options.tableInTemplate ? 'StateTable' : 'TableName' },
      ...(options.tableInTemplate && { [ENVIRONMENT.createTable]: 'false' }),
    },
  };
  const resources: Record<string, object> = {};
  if (options.tableInTemplate) {
    resources.StateTable = {
      Type: 'AWS::DynamoDB::Table',
      // The state outlives the stack: deleting or replacing the stack must not delete it.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        TableName: { Ref: 'TableName' },
        AttributeDefinitions: [{ AttributeName: DEFAULTS.keyFieldName, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: DEFAULTS.keyFieldName, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      },
    };
  }
  if (options.sam) {
    resources.Function = {
      Type: 'AWS::Serverless::Function',
      Metadata: {
        BuildMethod: 'esbuild',
        BuildProperties: { EntryPoints: ['handler.ts'], Target: 'es2022', External: ['@aws-sdk/*'] },
      },
      Properties: {
        FunctionName: { Ref: 'FunctionName' },
        CodeUri: 'src/',
        Handler: 'handler.handler',
        Runtime: RUNTIME,
        Timeout: 10,
        Environment: environment,
        // SAM adds the CloudWatch Logs permissions itself.
        Policies: [policy],
      },
    };
  } else {
    resources.FunctionRole = {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        ManagedPolicyArns: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' }],
        Policies: [{ PolicyName: 'aws-lambda-persistence', PolicyDocument: policy }],
      },
    };
    resources.Function = {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: { Ref: 'FunctionName' },
        Runtime: RUNTIME,
        Handler: 'index.handler',
        Role: { 'Fn::GetAtt': ['FunctionRole', 'Arn'] },
        Timeout: 10,
        Code: { ZipFile: PLACEHOLDER_CODE },
        Environment: environment,
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    ...(options.sam && { Transform: 'AWS::Serverless-2016-10-31' }),
    Description:
      'A Lambda function whose state aws-lambda-persistence keeps in DynamoDB, with a least-privilege role ' +
      '(generated by `aws-lambda-persistence template`).',
    Parameters: {
      FunctionName: {
        Type: 'String',
        Default: options.functionName,
        AllowedPattern: FUNCTION_NAME.source.slice(1, -1),
        Description: "The function's name, which is also its row key: the role may only use that row.",
      },
      TableName: {
        Type: 'String',
        Default: options.tableName,
        AllowedPattern: TABLE_NAME.source.slice(1, -1),
        Description: options.tableInTemplate
          ? 'The table this stack creates for the state.'
          : 'The table holding the state; the function creates it on first use if it is missing.',
      },
    },
    Resources: resources,
    Outputs: {
      FunctionArn: { Value: { 'Fn::GetAtt': ['Function', 'Arn'] } },
      TableName: { Value: { Ref: 'TableName' } },
    },
  };
}

/** `value` with every string that holds a `${...}` placeholder wrapped in Fn::Sub. */
function substitute(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('${') ? { 'Fn::Sub': value } : value;
  if (Array.isArray(value)) return value.map(substitute);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item)]));
  }
  return value;
}

/**
 * `template`: prints a CloudFormation or SAM template (JSON, which CloudFormation and SAM accept
 * like YAML).
 *
 * @example
 * ```sh
 * npx aws-lambda-persistence template --sam --table-in-template --function counter > template.json
 * ```
 */
export const templateCommand: Command = {
  name: 'template',
  summary: 'Print a CloudFormation or SAM template: function, least-privilege role, optionally the table',
  details:
    'Prints a CloudFormation template (JSON) with the function, an execution role holding the policy of ' +
    "`policy --function`, confined to the function's row, and parameters FunctionName and TableName. " +
    'With --table-in-template the template also creates the table and the function runs with ' +
    `${ENVIRONMENT.createTable}=false, so the role has no table-creation permissions. The function's code ` +
    'is a placeholder (inline code, or src/handler.ts for SAM) to replace with your handler.',
  options: {
    function: { type: 'string', placeholder: 'name', description: `Default of the FunctionName parameter (default: ${DEFAULT_FUNCTION_NAME})` },
    table: { type: 'string', placeholder: 'name', description: `Default of the TableName parameter (default: ${DEFAULTS.tableName})` },
    sam: { type: 'boolean', description: 'An AWS SAM template (AWS::Serverless::Function built with esbuild)' },
    'table-in-template': { type: 'boolean', description: 'Create the table in the template; the function does not create it' },
  },
  example: 'aws-lambda-persistence template --sam --table-in-template --function counter > template.json',
  async run(options, io) {
    const template = buildTemplate({
      functionName: functionNameOption(stringOption(options, 'function'), DEFAULT_FUNCTION_NAME),
      tableName: tableOption(stringOption(options, 'table')),
      sam: options.sam === true,
      tableInTemplate: options['table-in-template'] === true,
    });
    io.stdout(`${JSON.stringify(template, null, 2)}\n`);
    return 0;
  },
};
