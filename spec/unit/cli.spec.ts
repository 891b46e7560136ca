import { policyFor } from '../../src';
import { runCli } from '../support/cli';

const version = (require('../../package.json') as { version: string }).version;

describe('CLI: help, version and command-line errors', () => {
  it('prints the command list for --help and exits 0, and exits 2 with it when no command is given', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['policy', 'template', 'inspect', 'local', 'layer']) expect(help.stdout).toContain(`  ${command} `);
    expect(await runCli([])).toMatchObject({ code: 2, stdout: help.stdout });
  });

  it.each(['policy', 'template', 'inspect', 'local', 'layer'])('prints the options of %s for `help <command>` and `<command> --help`', async (command) => {
    const viaHelp = await runCli(['help', command]);
    expect(viaHelp).toMatchObject({ code: 0, stderr: '' });
    expect(viaHelp.stdout).toContain(`Usage: aws-lambda-persistence ${command} [options]`);
    expect(viaHelp.stdout).toContain('Example:');
    expect(await runCli([command, '--help'])).toEqual(viaHelp);
  });

  it('prints the package version for --version', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([
    [['polcy'], 'Unknown command "polcy". Commands: policy, template, inspect, local, layer'],
    [['--verbose'], 'Unknown option --verbose'],
    [['policy', '--functon', 'f'], 'policy has no option --functon. Its options: --table, --function, --no-create'],
    [['policy', '--table'], '--table needs a value: --table <name>'],
    [['policy', '--no-create=yes'], '--no-create takes no value'],
    [['policy', 'extra'], 'policy takes only options, not "extra"'],
    [['inspect'], 'inspect needs --function: `aws-lambda-persistence inspect --function my-function`'],
    [['policy', '--table', 'x'], '--table "x" is not a DynamoDB table name'],
    [['policy', '--function', 'fn-*'], 'without the IAM wildcards * and ?'],
    [['policy', '--region', 'Europe'], '--region "Europe" is not an AWS region'],
    [['policy', '--account', '12'], '--account "12" is not an AWS account id'],
    [['template', '--function', 'a b'], '--function "a b" is not a Lambda function name'],
    [['local', '--port', 'http'], '--port "http" is not a port'],
  ])('exits 2 for %j and says what to do: %s', async (argv, message) => {
    const result = await runCli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toMatch(/^aws-lambda-persistence: /);
  });
});

describe('CLI: policy', () => {
  const policyOf = async (argv: string[]) => {
    const result = await runCli(['policy', ...argv]);
    expect(result.code).toBe(0);
    return { policy: JSON.parse(result.stdout) as object, stderr: result.stderr };
  };

  it("prints policyFor()'s document, confined to the function's row with LeadingKeys", async () => {
    const { policy, stderr } = await policyOf(['--function', 'orders', '--table', 'State']);
    expect(policy).toEqual(policyFor({ tableName: 'State', tableKey: 'orders', createTable: true }));
    expect(JSON.stringify(policy)).toContain('"dynamodb:LeadingKeys":["orders","orders#part#*","orders#field#*"]');
    expect(stderr).toBe('');
  });

  it('leaves out CreateTable, DescribeTable and TagResource with --no-create', async () => {
    const { policy } = await policyOf(['--function', 'orders', '--no-create', '--region', 'eu-west-1', '--account', '123456789012']);
    expect(policy).toEqual(
      policyFor({ tableName: 'AWSLambdaPersistence', tableKey: 'orders', createTable: false, region: 'eu-west-1', account: '123456789012' }),
    );
    expect(JSON.stringify(policy)).not.toMatch(/CreateTable|DescribeTable|TagResource/);
  });

  it('warns on stderr, keeping stdout pure JSON, that a policy without --function opens every row', async () => {
    const { policy, stderr } = await policyOf([]);
    expect(policy).toEqual(policyFor({ tableName: 'AWSLambdaPersistence', createTable: true }));
    expect(stderr).toContain('lets the role read and write every row');
  });
});
