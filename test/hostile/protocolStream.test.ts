// A broken protocol stream ends the sidecar with a line in the log, so that the extension restarts it
// (issue 17, availability 9): it used to stay alive and silent.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { tempDir } from "../helpers/repos";

function sidecar() {
  const child = spawn(process.execPath, ["--import", "tsx", "sidecar/server/main.ts", "--stdio"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, HEF_CACHE_HOME: tempDir("hef-stream-") },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
  return { child, exited, stdout: () => stdout };
}

const frame = (body: string, headers = "") => `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`;

describe("the sidecar's protocol stream", { timeout: 60_000 }, () => {
  const cases: [string, string, RegExp][] = [
    ["a Content-Length that is not a number", "Content-Length: abc\r\n\r\n{}", /Content-Length value must be a number/],
    ["a header without Content-Length", "X-Anything: 1\r\n\r\n{}", /Header must provide a Content-Length/],
    ["a body that is not JSON", frame("{not json"), /in JSON at position 1/],
  ];
  for (const [name, bytes, reason] of cases) {
    test(`${name}: exit 1 with a log line`, async () => {
      const { child, exited } = sidecar();
      child.stdin.write(bytes);
      const { code, stderr } = await exited;
      assert.equal(code, 1);
      assert.match(stderr, /hef sidecar: the protocol stream from the editor is broken \(.*\); exiting/);
      assert.match(stderr, reason);
    });
  }

  test("a well-formed stream is served, and closing it ends the process", async () => {
    const { child, exited, stdout } = sidecar();
    child.stdin.write(frame(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } })));
    while (!stdout().includes('"id":1')) await new Promise((wake) => setTimeout(wake, 50));
    assert.match(stdout(), /"capabilities"/);
    child.stdin.end();
    const { code, stderr } = await exited;
    assert.equal(code, 0, stderr);
  });
});
