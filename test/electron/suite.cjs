// Runs inside the desktop VS Code started by runTest.mjs (extensionTestsPath): no mocha, just
// checks that throw. Resolving means passed; rejecting makes VS Code exit with a failure code.
const assert = require("node:assert/strict");
const vscode = require("vscode");

const EXTENSION_ID = "hef-code.hef-code";

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
  await check("HEF: Rebuild HEF cache runs on the sample workspace", async () => {
    assert.equal(vscode.workspace.workspaceFolders?.length, 1, "runTest.mjs opens one workspace folder");
    await vscode.commands.executeCommand("hef.rebuildCache");
  });
};
