import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the full fault suite (more faults, more work); `npm test` runs the short form.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/faults/faults.test.ts'],
    env: { FAULTS_MODE: 'full' },
    pool: 'forks',
    testTimeout: 900_000,
    hookTimeout: 600_000,
  },
});
