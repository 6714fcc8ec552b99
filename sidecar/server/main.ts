// The sidecar process: HEF's language server over stdio (no network port), started by the
// extension with the editor's own Node runtime and `--stdio`. The message reader is made here, not
// by vscode-languageserver, so that a broken stream ends the process with a line in the log (the
// extension shows stderr and restarts the sidecar) instead of leaving it alive and deaf: a bad or
// missing Content-Length, an unknown charset, a header that never ends or a message that never completes.
// SIGTERM or SIGINT without an LSP shutdown (a supervisor, Ctrl-C in a terminal) saves the chunk
// vectors embedded so far, as `hef index` does, and exits with 128 + the signal's number.
import { constants as osConstants } from "node:os";
import { format } from "node:util";
import { StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node.js";
import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js";
import { loadEngine } from "../completion/engine";
import { oneLine } from "../util/errorText";
import { framingGuard } from "../util/framingGuard";
import { startServer } from "./server";

/** A message whose bytes stopped arriving this long before it was complete will not complete: the framing is lost. */
const PARTIAL_MESSAGE_LIMIT_MS = 60_000;
/** A signal's save waits at most this long (for another writer's lock) before the process exits anyway. */
const SIGNAL_SAVE_LIMIT_MS = 20_000;

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

const server = startServer(connection, loadEngine);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  const code = 128 + osConstants.signals[signal];
  // A second signal does not wait for the first one's save.
  if (stopping) process.exit(code);
  stopping = true;
  process.stderr.write(`hef sidecar: ${signal}: saving the chunk vectors embedded so far, then exiting\n`);
  const saved = server.checkpoint((root, error) =>
    process.stderr.write(`hef sidecar: saving the vectors of ${root} failed: ${oneLine(error)}\n`),
  );
  const limit = new Promise((done) => setTimeout(done, SIGNAL_SAVE_LIMIT_MS).unref());
  void Promise.race([saved, limit]).then(() => process.exit(code));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// After the reader: both get every chunk from here on.
process.stdin.on("data", framingGuard(broken));
