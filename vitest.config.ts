import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Sandboxes are whole process trees; two files at a time fit this 2-core machine.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
