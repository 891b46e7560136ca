// The SDK warns once per process that its 2027 releases need Node 22; the tests run on Node 20 on
// purpose (the oldest supported runtime), so keep the output readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Never pick up a developer's real AWS configuration.
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
delete process.env.AWS_PROFILE;
for (const name of Object.keys(process.env)) {
  if (name.startsWith('PERSISTENCE_') || name === 'AWS_LAMBDA_FUNCTION_NAME' || name === 'AWS_ENDPOINT_URL_DYNAMODB') {
    delete process.env[name];
  }
}
