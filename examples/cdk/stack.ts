// A CDK stack for a function that keeps its state with aws-lambda-persistence: the table, the
// function bundled by NodejsFunction (esbuild), and a role whose only DynamoDB permissions are
// policyFor()'s, confined to the function's own row. aws-cdk-lib is not a dependency of this
// repository: copy this file into a CDK app (`npm install aws-cdk-lib constructs aws-lambda-persistence`).
import { App, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Policy, PolicyDocument } from 'aws-cdk-lib/aws-iam';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { policyFor } from 'aws-lambda-persistence';
import type { Construct } from 'constructs';
import { join } from 'node:path';

export class CounterStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // A name known at synthesis: it is the row key, and the policy below confines the role to it.
    const functionName = `${this.stackName}-counter`;

    const table = new Table(this, 'State', {
      partitionKey: { name: 'key', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      // The state outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const counter = new NodejsFunction(this, 'Counter', {
      functionName,
      entry: join(__dirname, '../counter.ts'),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      environment: {
        PERSISTENCE_TABLE_NAME: table.tableName,
        // The stack made the table: the role needs no CreateTable.
        PERSISTENCE_CREATE_TABLE: 'false',
      },
      // The Node.js runtime has the AWS SDK v3.
      bundling: { externalModules: ['@aws-sdk/*'] },
    });

    // The policy the library itself would ask for (AccessDeniedError prints the same document).
    counter.role!.attachInlinePolicy(
      new Policy(this, 'PersistencePolicy', {
        document: PolicyDocument.fromJson(
          policyFor({
            tableName: table.tableName,
            tableKey: functionName,
            createTable: false,
            region: this.region,
            account: this.account,
            partition: this.partition,
          }),
        ),
      }),
    );
  }
}

const app = new App();
new CounterStack(app, 'CounterStack');
