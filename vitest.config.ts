import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests talk to shared local PostgreSQL/Redis/RabbitMQ; each test isolates itself by
    // database / key prefix / vhost, so files may run in parallel, but the machine has 2 cores.
    maxWorkers: 2,
  },
});
