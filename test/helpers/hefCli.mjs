// The hef command from its TypeScript sources, for tests that start it the way the extension
// starts the bundled dist/hef.mjs: `node <script> <args>`, with no loader flags.
import { register } from "tsx/esm/api";

register();
await import("../../sidecar/cli/hef.ts");
