import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.spec.ts", "bench/**/*.spec.ts", "test/**/*.test.ts"],
    // Integration tests start real etcd members; a 2-core machine runs few files at once.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
