// A broken protocol stream ends the sidecar with a line in the log, so that the extension restarts it
// (issue 17, availability 9): it used to stay alive and silent.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { framingGuard, MAX_HEADER_BYTES } from "../../sidecar/util/framingGuard";
import { tempDir } from "../helpers/repos";

function sidecar() {
  const child = spawn(process.execPath, ["--import", "tsx", "sidecar/server/main.ts", "--stdio"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, HEF_CACHE_HOME: tempDir("hef-stream-") },
  });
  // The sidecar may exit before it has read all that was written to it (EPIPE).
  child.stdin.on("error", () => undefined);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited, stdout: () => stdout };
}

const frame = (body: string, headers = "") => `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`;

/** Random bytes in which "\r\n\r\n" cannot occur (no CR at all). */
function noHeaderEnd(size: number): Buffer {
  const bytes = randomBytes(size);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0d) bytes[i] = 0x20;
  return bytes;
}

describe("the sidecar's protocol stream", { timeout: 60_000 }, () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ["a Content-Length that is not a number", "Content-Length: abc\r\n\r\n{}", /Content-Length value must be a number/],
    ["a header without Content-Length", "X-Anything: 1\r\n\r\n{}", /Header must provide a Content-Length/],
    ["a body that is not JSON", frame("{not json"), /in JSON at position 1/],
    // vscode-jsonrpc's reader buffers bytes until it finds a header's end: these grew the process, silent, forever.
    ["1 MiB of random bytes with no header end", noHeaderEnd(1024 * 1024), /no end of a message header in 16384 bytes/],
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

  test("a 300 kB message written in 997-byte pieces is served (its body is no header)", async () => {
    const { child, exited, stdout } = sidecar();
    const padding = "x".repeat(300_000);
    const bytes = Buffer.from(
      frame(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: { padding } },
        }),
      ),
    );
    for (let i = 0; i < bytes.length; i += 997) child.stdin.write(bytes.subarray(i, i + 997));
    while (!stdout().includes('"id":1')) await new Promise((wake) => setTimeout(wake, 50));
    child.stdin.end();
    const { code, stderr } = await exited;
    assert.equal(code, 0, stderr);
  });

  test("a well-formed stream is served, and closing it ends the process", async () => {
    const { child, exited, stdout } = sidecar();
    child.stdin.write(
      frame(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { processId: null, rootUri: null, capabilities: {} },
        }),
      ),
    );
    while (!stdout().includes('"id":1')) await new Promise((wake) => setTimeout(wake, 50));
    assert.match(stdout(), /"capabilities"/);
    child.stdin.end();
    const { code, stderr } = await exited;
    assert.equal(code, 0, stderr);
  });
});

describe("the framing guard", () => {
  /** Feeds `stream` in random pieces; the reason it failed, or undefined. */
  function feed(stream: Buffer): string | undefined {
    let failed: string | undefined;
    const guard = framingGuard((why) => (failed ??= why));
    for (let i = 0; i < stream.length && failed === undefined;) {
      const size = 1 + Math.floor(Math.random() * (Math.random() < 0.5 ? 8 : 70_000));
      guard(stream.subarray(i, i + size));
      i += size;
    }
    return failed;
  }

  test("300 streams of valid messages in random pieces pass, whatever their bodies hold", () => {
    for (let trial = 0; trial < 300; trial++) {
      const parts: Buffer[] = [];
      for (let m = 0; m < 1 + (trial % 12); m++) {
        // Bodies of random bytes, "\r\n\r\n" included: the guard skips a body by its length.
        const body = Buffer.concat([
          randomBytes(Math.floor(Math.random() * (m % 3 === 0 ? 100_000 : 300))),
          Buffer.from("\r\n\r\n"),
        ]);
        const type = m % 2 ? "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" : "";
        parts.push(Buffer.from(`${m % 4 ? "Content-Length" : "content-length"}: ${body.length}\r\n${type}\r\n`), body);
      }
      assert.equal(feed(Buffer.concat(parts)), undefined, `trial ${trial}`);
    }
  });

  test("a Content-Length below 0 or longer than any string fails at once; one the reader reports is left to it", () => {
    assert.equal(feed(Buffer.from("Content-Length: -5\r\n\r\n{}")), "a Content-Length of -5 bytes");
    assert.equal(feed(Buffer.from("Content-Length: 99999999999\r\n\r\n{")), "a Content-Length of 99999999999 bytes");
    assert.equal(feed(Buffer.concat([Buffer.from("Content-Length: abc\r\n\r\n"), noHeaderEnd(100_000)])), undefined);
  });

  test("50 streams of random bytes with no header end fail within a header's bound", () => {
    for (let trial = 0; trial < 50; trial++) {
      const valid = Buffer.from(frame("{}"));
      assert.match(
        feed(Buffer.concat([valid, noHeaderEnd(MAX_HEADER_BYTES + 1 + trial * 1000)])) ?? "",
        /no end of a message header/,
      );
    }
  });
});
