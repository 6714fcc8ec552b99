// The sidecar stopped by SIGTERM or SIGINT without an LSP shutdown (a supervisor, a terminal's Ctrl-C)
// saves the chunk vectors embedded so far, as `hef index` does, and exits with 128 + the signal
// (issue 17, losing less 12): it used to die at once, and a first index started again at 0.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import type { SidecarStatus } from "../../common/protocol";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { copyOfRepo, tempDir } from "../helpers/repos";

const frame = (message: object) => {
  const body = JSON.stringify({ jsonrpc: "2.0", ...message });
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

/** The messages in what the sidecar wrote to stdout so far. */
function messages(stdout: Buffer): Array<{ method?: string; params?: unknown }> {
  const found = [];
  let offset = 0;
  for (;;) {
    const end = stdout.indexOf("\r\n\r\n", offset);
    if (end === -1) break;
    const length = Number(/Content-Length: (\d+)/i.exec(stdout.subarray(offset, end).toString())?.[1]);
    if (stdout.length < end + 4 + length) break;
    found.push(JSON.parse(stdout.subarray(end + 4, end + 4 + length).toString()));
    offset = end + 4 + length;
  }
  return found;
}

describe("the sidecar stopped by a signal", () => {
  // The sidecar loads the default models, the generator through the native addon.
  test(
    "SIGTERM while the first index embeds: the vectors embedded so far are saved, exit 143",
    { timeout: 120_000, skip: buildNativeAddon() },
    async () => {
      // About 2 MB of declarations: the first index embeds for far longer than the test waits.
      const root = copyOfRepo("node_modules/@types/node");
      const cacheHome = tempDir("hef-signal-");
      const child = spawn(process.execPath, ["--import", "tsx", "sidecar/server/main.ts", "--stdio"], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, HEF_CACHE_HOME: cacheHome },
      });
      let stdout = Buffer.alloc(0);
      let stderr = "";
      child.stdout.on("data", (data: Buffer) => (stdout = Buffer.concat([stdout, data])));
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal })),
      );
      const folder = { uri: pathToFileURL(root).href, name: "node" };
      child.stdin.write(
        frame({
          id: 1,
          method: "initialize",
          params: {
            processId: null,
            rootUri: folder.uri,
            workspaceFolders: [folder],
            capabilities: {},
            initializationOptions: { backend: "cpu", exclude: [] },
          },
        }),
      );
      child.stdin.write(frame({ method: "initialized", params: {} }));
      const embedding = () =>
        messages(stdout).some(
          (m) =>
            m.method === "hef/status" &&
            (m.params as SidecarStatus).folders.some((f) => f.progress?.phase === "embedding" && f.progress.done > 0),
        );
      const deadline = Date.now() + 60_000;
      while (!embedding()) {
        assert.ok(Date.now() < deadline, `no embedding within 60 s:\n${stderr}`);
        await new Promise((wake) => setTimeout(wake, 100));
      }
      // Some seconds of embedding, far from the 30 s or 2,000 chunks of a checkpoint.
      await new Promise((wake) => setTimeout(wake, 3_000));
      child.kill("SIGTERM");
      const { code, signal } = await exited;
      assert.equal(code, 143, `exit ${code} (${signal}):\n${stderr}`);
      assert.match(stderr, /hef sidecar: SIGTERM: saving the chunk vectors embedded so far, then exiting/);
      const [cacheDir] = readdirSync(cacheHome);
      const embeddings = join(cacheHome, cacheDir!, "embeddings");
      assert.ok(existsSync(embeddings), "no embedding cache was written");
      const [table] = readdirSync(embeddings);
      assert.ok(statSync(join(embeddings, table!)).size > 10_000, "vectors were saved");
    },
  );

  test("SIGINT with no folder open: a line in the log, exit 130", { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "sidecar/server/main.ts", "--stdio"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, HEF_CACHE_HOME: tempDir("hef-signal-") },
    });
    let stdout = Buffer.alloc(0);
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => (stdout = Buffer.concat([stdout, data])));
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdin.write(
      frame({ id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } }),
    );
    while (!messages(stdout).some((m) => (m as { id?: number }).id === 1))
      await new Promise((wake) => setTimeout(wake, 50));
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /hef sidecar: SIGINT: saving the chunk vectors embedded so far, then exiting/);
  });
});
