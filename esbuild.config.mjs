// Bundles the extension (CommonJS, loaded by VS Code) and the sidecar entry points (ESM, because
// node-llama-cpp is ESM-only) into dist/. Dependencies stay external: they carry native binaries
// and wasm files that must be loaded from their own package folders.
import { build } from "esbuild";

const common = { bundle: true, platform: "node", target: "node20", packages: "external", sourcemap: "linked", logLevel: "warning" };

await Promise.all([
  build({ ...common, entryPoints: ["sidecar/cli/hef.ts"], outfile: "dist/hef.mjs", format: "esm" }),
]);
