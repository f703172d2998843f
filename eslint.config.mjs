// Lint rules: typescript-eslint's recommended set; Prettier owns the formatting.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "toolchain/", "coverage/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["test/**/*.ts", "**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
