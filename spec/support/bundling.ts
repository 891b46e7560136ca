import type { BuildOptions } from 'esbuild';

/** esbuild settings like those of CDK's NodejsFunction (and SAM, serverless-esbuild), minified. */
export const NODEJS_FUNCTION_BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  external: ['@aws-sdk/*'],
  logLevel: 'silent',
} as const satisfies BuildOptions;
