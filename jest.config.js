/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Transpile only: `tsc --noEmit` type-checks the whole project once, before jest runs.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  setupFiles: ['<rootDir>/test/setup/polyfills.ts'],
  // Synthesizing stacks takes a few seconds per file on the 2-core CI machine.
  testTimeout: 60000,
};
