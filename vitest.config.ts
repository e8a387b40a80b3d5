import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // Property and fuzz tests run thousands of cases; on a 2-core CI machine running every file at once they
    // can pass vitest's 5 s default without being wrong. A hang still fails, after a minute.
    testTimeout: 60_000,
  },
})
