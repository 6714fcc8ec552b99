// The sidecar process: HEF's language server over stdio (no network port), started by the
// extension with the editor's own Node runtime and `--stdio`. The message reader is made here, not
// by vscode-languageserver, so that a broken stream ends the process with a line in the log (the
// extension shows stderr and restarts the sidecar) instead of leaving it alive and deaf: a bad or
// missing Content-Length, an unknown charset or a message that never completes.
import { format } from "node:util";
import { StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node.js";
import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js";
import { loadEngine } from "../completion/engine";
import { startServer } from "./server";

/** A message whose bytes stopped arriving this long before it was complete will not complete: the framing is lost. */
const PARTIAL_MESSAGE_LIMIT_MS = 60_000;

function broken(why: string): never {
  process.stderr.write(`hef sidecar: the protocol stream from the editor is broken (${why.split("\n")[0]}); exiting\n`);
  process.exit(1);
}

const reader = new StreamMessageReader(process.stdin);
reader.onError((error) => broken(error.message));
reader.partialMessageTimeout = PARTIAL_MESSAGE_LIMIT_MS;
reader.onPartialMessage(({ waitingTime }) => broken(`a message stayed incomplete for ${waitingTime / 1000} s`));
reader.onClose(() => process.exit(0));
const connection = createConnection(ProposedFeatures.all, reader, new StreamMessageWriter(process.stdout));

// What `--stdio` does when vscode-languageserver makes the streams: console output goes to the
// client's log, never into the protocol stream on stdout.
console.log = console.info = (...args: unknown[]) => connection.console.info(format(...args));
console.warn = (...args: unknown[]) => connection.console.warn(format(...args));
console.error = (...args: unknown[]) => connection.console.error(format(...args));
console.debug = (...args: unknown[]) => connection.console.log(format(...args));

startServer(connection, loadEngine);
