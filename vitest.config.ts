import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Servers, subprocesses and Pulumi mocks share a 2-core machine: keep files isolated, give slow
    // end-to-end tests room, and never let one hang the run.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
