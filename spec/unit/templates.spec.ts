import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyFor } from '../../src';
import { runCli } from '../support/cli';

const EXAMPLES = join(__dirname, '../../examples');
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';

type Template = {
  Parameters: Record<string, { Default: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

/** The committed example, the command line that prints it, and what its policy must be. */
const EXAMPLES_AND_COMMANDS = [
  { file: 'cloudformation/template.json', argv: ['template', '--function', 'counter'], tableInTemplate: false },
  { file: 'sam/template.json', argv: ['template', '--sam', '--table-in-template', '--function', 'counter'], tableInTemplate: true },
];

/** A template value with Ref and Fn::Sub of parameters and pseudo parameters filled in. */
function resolve(value: unknown, parameters: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, parameters));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  if (typeof object['Fn::Sub'] === 'string') {
    return (object['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (!(name in parameters)) throw new Error(`Fn::Sub of unknown name ${name}`);
      return parameters[name]!;
    });
  }
  if (typeof object.Ref === 'string') return parameters[object.Ref] ?? `<ref ${object.Ref}>`;
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolve(item, parameters)]));
}

/** Every Ref, GetAtt and Fn::Sub name in the template. */
function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => references(item, found));
  else if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') found.push(object.Ref);
    if (Array.isArray(object['Fn::GetAtt'])) found.push(object['Fn::GetAtt'][0] as string);
    if (typeof object['Fn::Sub'] === 'string') found.push(...[...(object['Fn::Sub'] as string).matchAll(/\$\{([^}.]+)/g)].map((match) => match[1]!));
    Object.values(object).forEach((item) => references(item, found));
  }
  return found;
}

/** The policy documents that grant DynamoDB access, wherever the template declares them. */
function dynamoPolicies(template: Template): unknown[] {
  const documents = Object.values(template.Resources).flatMap((resource) => {
    const policies = (resource.Properties.Policies ?? []) as Record<string, unknown>[];
    return policies.map((policy) => policy.PolicyDocument ?? policy);
  });
  return documents.filter((document) => JSON.stringify(document).includes('dynamodb:'));
}

describe.each(EXAMPLES_AND_COMMANDS)('Example examples/$file', ({ file, argv, tableInTemplate }) => {
  const text = readFileSync(join(EXAMPLES, file), 'utf8');
  const template = JSON.parse(text) as Template;
  const parameters = {
    ...Object.fromEntries(Object.entries(template.Parameters).map(([name, parameter]) => [name, parameter.Default])),
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::Partition': 'aws-cn',
  };

  it(`is exactly what \`aws-lambda-persistence ${argv.join(' ')}\` prints (regenerate it with that command)`, async () => {
    const result = await runCli(argv);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(text);
  });

  it("grants exactly policyFor()'s least-privilege policy for the function's own row", () => {
    const policies = dynamoPolicies(template);
    expect(policies).toHaveLength(1);
    const policy = resolve(policies[0], parameters);
    expect(policy).toEqual(
      policyFor({ tableName: 'AWSLambdaPersistence', tableKey: 'counter', createTable: !tableInTemplate, region: REGION, account: ACCOUNT, partition: 'aws-cn' }),
    );
    const statements = (policy as { Statement: { Action: string[]; Resource: string; Condition?: object }[] }).Statement;
    expect(statements[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['counter', 'counter#part#*', 'counter#field#*'] } });
    for (const statement of statements) {
      expect(statement.Action.filter((action) => action.includes('*'))).toEqual([]);
      // The stack's partition: a template deployed in AWS China or GovCloud names its own.
      expect(statement.Resource).toBe(`arn:aws-cn:dynamodb:${REGION}:${ACCOUNT}:table/AWSLambdaPersistence`);
    }
  });

  it('keys the row and the LeadingKeys condition on the same FunctionName the function is created with', () => {
    const fn = template.Resources.Function!;
    expect(fn.Properties.FunctionName).toEqual({ Ref: 'FunctionName' });
    const environment = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    // No PERSISTENCE_TABLE_KEY: the row key is the function's name, which the policy names.
    expect(Object.keys(environment).sort()).toEqual(tableInTemplate ? ['PERSISTENCE_CREATE_TABLE', 'PERSISTENCE_TABLE_NAME'] : ['PERSISTENCE_TABLE_NAME']);
    // The table resource when the template makes it (so it exists before the function), else the parameter.
    expect(environment.PERSISTENCE_TABLE_NAME).toEqual({ Ref: tableInTemplate ? 'StateTable' : 'TableName' });
    if (tableInTemplate) {
      expect(environment.PERSISTENCE_CREATE_TABLE).toBe('false');
      expect(template.Resources.StateTable).toMatchObject({ Type: 'AWS::DynamoDB::Table', Properties: { TableName: { Ref: 'TableName' } } });
    } else {
      expect(template.Resources.StateTable).toBeUndefined();
    }
  });

  it('refers only to parameters, resources and pseudo parameters it has', () => {
    const known = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources), 'AWS::Region', 'AWS::AccountId', 'AWS::Partition']);
    expect(references(template).filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('Example examples/cdk/stack.ts', () => {
  const source = readFileSync(join(EXAMPLES, 'cdk/stack.ts'), 'utf8');

  it('bundles with NodejsFunction and takes the policy from policyFor()', () => {
    expect(source).toMatch(/import \{ NodejsFunction \} from 'aws-cdk-lib\/aws-lambda-nodejs'/);
    expect(source).toMatch(/import \{ policyFor \} from 'aws-lambda-persistence'/);
    expect(source).toMatch(/new NodejsFunction\(/);
    expect(source).toMatch(/PolicyDocument\.fromJson\(\s*policyFor\(/);
  });

  it("gives the function's role policyFor()'s document for the function's name and the stack's table", () => {
    // aws-cdk-lib is not installed: stand-ins record what the stack passes to it.
    const recorded: { functions: Record<string, unknown>[]; documents: unknown[]; attached: unknown[] } = { functions: [], documents: [], attached: [] };
    class Stack {
      readonly stackName = 'CounterStack';
      readonly region = REGION;
      readonly account = ACCOUNT;
      readonly partition = 'aws-cn';
    }
    jest.doMock('aws-cdk-lib', () => ({ App: class {}, RemovalPolicy: { RETAIN: 'retain' }, Stack }), { virtual: true });
    jest.doMock('aws-cdk-lib/aws-dynamodb', () => ({
      AttributeType: { STRING: 'S' },
      BillingMode: { PAY_PER_REQUEST: 'PAY_PER_REQUEST' },
      Table: class {
        readonly tableName = 'CounterStack-State';
      },
    }), { virtual: true });
    jest.doMock('aws-cdk-lib/aws-iam', () => ({
      PolicyDocument: { fromJson: (document: unknown) => (recorded.documents.push(document), document) },
      Policy: class {
        constructor(_scope: unknown, _id: string, props: { document: unknown }) {
          recorded.attached.push(props.document);
        }
      },
    }), { virtual: true });
    jest.doMock('aws-cdk-lib/aws-lambda', () => ({ Runtime: { NODEJS_22_X: 'nodejs22.x' } }), { virtual: true });
    jest.doMock('aws-cdk-lib/aws-lambda-nodejs', () => ({
      NodejsFunction: class {
        readonly role = { attachInlinePolicy: (policy: unknown) => policy };
        constructor(_scope: unknown, _id: string, props: Record<string, unknown>) {
          recorded.functions.push(props);
        }
      },
    }), { virtual: true });
    jest.doMock('aws-lambda-persistence', () => require('../../src'), { virtual: true });
    jest.isolateModules(() => require('../../examples/cdk/stack'));

    expect(recorded.functions).toHaveLength(1);
    const fn = recorded.functions[0] as { functionName: string; environment: Record<string, string> };
    expect(fn.functionName).toBe('CounterStack-counter');
    expect(fn.environment).toEqual({ PERSISTENCE_TABLE_NAME: 'CounterStack-State', PERSISTENCE_CREATE_TABLE: 'false' });
    const expected = policyFor({
      tableName: 'CounterStack-State',
      tableKey: 'CounterStack-counter',
      createTable: false,
      region: REGION,
      account: ACCOUNT,
      partition: 'aws-cn',
    });
    expect(recorded.documents).toEqual([expected]);
    expect(recorded.attached).toEqual([expected]);
  });
});
