/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Transpile only: `tsc --noEmit` type-checks the whole project once, before jest runs.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // ES modules only, which jest runs natively only from Node 24.9: echarts' tree-shakeable entry points (echarts/core,
    // …) and @middy/core (the handlers' middleware engine, lambda/core/runtime.ts).
    '^.+/node_modules/(echarts|zrender|@middy/core)/.+\\.js$': [
      'ts-jest',
      { diagnostics: false, tsconfig: { allowJs: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(echarts|zrender|@middy/core)/)'],
  setupFiles: ['<rootDir>/test/setup/polyfills.ts', '<rootDir>/test/setup/quiet-logs.ts'],
  // Synthesizing stacks takes a few seconds per file on the 2-core CI machine.
  testTimeout: 60000,
};
