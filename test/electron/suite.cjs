// Runs inside the desktop VS Code started by runTest.mjs (extensionTestsPath): no mocha, just
// checks that throw. Resolving means passed; rejecting makes VS Code exit with a failure code.
const assert = require("node:assert/strict");
const vscode = require("vscode");

const EXTENSION_ID = "hef-code.hef-code";
/** Models load and the sample workspace is indexed within this, on a slow machine. */
const REBUILD_TIMEOUT_MS = 5 * 60_000;

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    console.error(`  ✗ ${name}: ${error && error.stack ? error.stack : error}`);
    throw error;
  }
}

/**
 * Records every message box the extension raises while `fn` runs. The test's `vscode` is the same
 * API object as the extension's (one per extension), so these stand-ins see the extension's calls;
 * each still shows its message.
 */
async function recordingMessages(fn) {
  const messages = [];
  const originals = {};
  for (const [method, kind] of [
    ["showErrorMessage", "error"],
    ["showWarningMessage", "warning"],
    ["showInformationMessage", "info"],
  ]) {
    originals[method] = vscode.window[method];
    vscode.window[method] = (message, ...rest) => {
      messages.push({ kind, message: String(message) });
      return originals[method].call(vscode.window, message, ...rest);
    };
  }
  try {
    await fn();
  } finally {
    Object.assign(vscode.window, originals);
  }
  return messages;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the sidecar's status once `ready` holds for it (checked on each status the sidecar pushes). */
function statusWhere(client, ready, ms, what) {
  if (client.status && ready(client.status)) return Promise.resolve(client.status);
  let subscription;
  const reached = new Promise((resolve) => {
    subscription = client.onDidChangeStatus((status) => ready(status) && resolve(status));
  });
  const last = () => JSON.stringify(client.status);
  return withTimeout(reached, ms, what)
    .catch((error) => Promise.reject(new Error(`${error.message}; last status: ${last()}`)))
    .finally(() => subscription.dispose());
}

exports.run = async function run() {
  console.log(`HEF Code in VS Code ${vscode.version} (${vscode.env.appHost})`);
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  await check("the extension is present", () => assert.ok(extension, `${EXTENSION_ID} is not loaded`));
  await check("it activates", async () => {
    await extension.activate();
    assert.ok(extension.isActive);
  });
  await check("its commands are registered", async () => {
    const commands = await vscode.commands.getCommands(true);
    const declared = extension.packageJSON.contributes.commands.map((c) => c.command);
    for (const id of declared) assert.ok(commands.includes(id), `command ${id} is declared but not registered`);
  });
  await check(
    "HEF: Rebuild HEF cache rebuilds the sample workspace: it says so, raises no error, and the folder is indexed",
    async () => {
      assert.equal(vscode.workspace.workspaceFolders?.length, 1, "runTest.mjs opens one workspace folder");
      const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
      // activate() returns HefServices: the sidecar client, its state and the status it pushes.
      const { client } = extension.exports;
      assert.ok(
        client && "status" in client && typeof client.onDidChangeStatus === "function",
        "activate() returns HefServices with the sidecar client",
      );
      // The command turns every failure into a message box and resolves anyway: the boxes are the outcome.
      const messages = await recordingMessages(() =>
        withTimeout(vscode.commands.executeCommand("hef.rebuildCache"), REBUILD_TIMEOUT_MS, "hef.rebuildCache"),
      );
      const failures = messages.filter((m) => m.kind !== "info");
      assert.deepEqual(failures, [], "the rebuild raised an error or a warning");
      assert.ok(
        messages.some((m) => m.kind === "info" && /cache rebuilt for 1 folder/.test(m.message)),
        `the rebuild did not say it rebuilt the folder; messages: ${JSON.stringify(messages)}`,
      );
      assert.equal(client.state, "running", "the sidecar runs after the rebuild");
      const folderOf = (status) => status.folders.find((f) => f.root === root);
      const status = await statusWhere(
        client,
        (s) => folderOf(s)?.state === "ready",
        30_000,
        `the sidecar's status for ${root} after the rebuild`,
      );
      const folder = folderOf(status);
      assert.equal(folder.error, undefined, `the folder reports a failure: ${folder.error}`);
      assert.equal(status.error, undefined, `the sidecar reports a failure: ${status.error}`);
      assert.ok(
        folder.files > 0 && folder.nodes > folder.files,
        `the rebuilt folder holds ${folder.files} files, ${folder.nodes} nodes`,
      );
      assert.ok(
        folder.nodesPerLevel.chunk > 0 && folder.nodesPerLevel.repo === 1,
        `nodes per level: ${JSON.stringify(folder.nodesPerLevel)}`,
      );
    },
  );
};
