/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Transpile only: `tsc --noEmit` type-checks the whole project once, before jest runs.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // echarts' tree-shakeable entry points (echarts/core, …) are ES modules only: jest runs those natively from Node 24.9.
    '^.+/node_modules/(echarts|zrender)/.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(echarts|zrender)/)'],
  setupFiles: ['<rootDir>/test/setup/polyfills.ts'],
  // Synthesizing stacks takes a few seconds per file on the 2-core CI machine.
  testTimeout: 60000,
};
