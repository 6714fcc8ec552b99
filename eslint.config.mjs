// ESLint's and typescript-eslint's recommended rules over every TypeScript and JavaScript file we write;
// formatting is Prettier's alone (eslint-config-prettier turns off the rules it owns).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "**/node_modules/",
      "bench/out/",
      "test/out/",
      ".venv/",
      "sidecar/native/build/",
      ".vscode-test/",
      "training/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` says "deliberately unused" (callbacks with a fixed signature, destructuring to omit a key).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
  // The protocol groups each message's type in a namespace, as vscode-languageserver-protocol does.
  { files: ["common/protocol.ts"], rules: { "@typescript-eslint/no-namespace": "off" } },
  { files: ["media/**/*.js"], languageOptions: { globals: { ...globals.browser, acquireVsCodeApi: "readonly" } } },
  { files: ["**/*.cjs"], rules: { "@typescript-eslint/no-require-imports": "off" } },
  { files: ["test/e2e/**/*.mjs"], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
  prettier,
);
