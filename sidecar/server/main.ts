// The sidecar process: HEF's language server over stdio (no network port), started by the
// extension with the editor's own Node runtime and `--stdio`, which also sends console output to
// the client's log instead of corrupting the protocol stream.
import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js";
import { loadEngine } from "../completion/engine";
import { startServer } from "./server";

startServer(createConnection(ProposedFeatures.all), loadEngine);
