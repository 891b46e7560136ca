// Type checking happens once, in `tsc -p tsconfig.spec.json` (npm test); isolatedModules keeps
// the transform fast.
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json' }] },
  setupFiles: ['<rootDir>/spec/support/setupEnv.ts'],
};

/**
 * spec/unit: no I/O beyond the process; spec/integration: the library against dynalite (or moto);
 * spec/chaos: faults, freezes and kills; spec/package: the package as users get it. Only the last
 * needs the packed tarball, so only a run that includes one of its specs packs it
 * (spec/support/globalSetup.ts; jest runs a project's globalSetup only when a test of it runs).
 *
 * @type {import('jest').Config}
 */
module.exports = {
  testTimeout: 60_000,
  projects: [
    {
      ...shared,
      displayName: 'unit, integration, chaos',
      roots: ['<rootDir>/spec/unit', '<rootDir>/spec/integration', '<rootDir>/spec/chaos'],
      testMatch: ['**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'package',
      roots: ['<rootDir>/spec/package'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/spec/support/globalSetup.ts',
    },
  ],
};
