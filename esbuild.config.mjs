// Bundles the extension (CommonJS, as VS Code loads it) and the sidecar (ESM, because
// node-llama-cpp is ESM-only) into dist/. Dependencies stay external: they carry native
// binaries and wasm files that are loaded from their own package folders.
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
};

await Promise.all([
  build({
    ...common,
    entryPoints: ["extension/extension.ts"],
    outfile: "dist/extension.cjs",
    format: "cjs",
    external: ["vscode"],
  }),
  build({ ...common, entryPoints: ["sidecar/cli/hef.ts"], outfile: "dist/hef.mjs", format: "esm" }),
  build({ ...common, entryPoints: ["sidecar/server/main.ts"], outfile: "dist/sidecar.mjs", format: "esm" }),
]);
