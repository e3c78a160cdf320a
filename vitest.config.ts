import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts a wire-compatible MongoDB for the store suite unless MONGODB_URI points at a real one.
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration tests start servers and models; keep parallelism modest.
    maxWorkers: 2,
  },
});
