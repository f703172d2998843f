// Two suites: fast unit tests (mocks, pure functions) and e2e tests that drive the real
// Pulumi engine against sandbox hosts. `npm test` runs both; each can run alone.
/** @type {import('jest').Config} */
const base = {
  preset: "ts-jest",
  testEnvironment: "node",
};
module.exports = {
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...base, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/test/e2e/setup.ts"] },
  ],
};
