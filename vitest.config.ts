import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    setupFiles: ['test/support/failOnUndeclaredErrorCodes.ts'],
    hookTimeout: 60_000,
    // One copy of graphql for our code and for yoga, so instanceof GraphQLError holds.
  },
  resolve: { alias: { graphql: 'graphql/index.js' } },
});
