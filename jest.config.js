/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    // Type checking happens once, in `tsc -p tsconfig.spec.json` (npm test); isolatedModules keeps
    // the transform fast.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json' }],
  },
  // Once per run: packs the package and installs it in a consumer project (spec/support/consumer.ts).
  globalSetup: '<rootDir>/spec/support/globalSetup.ts',
  setupFiles: ['<rootDir>/spec/support/setupEnv.ts'],
  testTimeout: 60_000,
};
