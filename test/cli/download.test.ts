import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { tempDir } from "../helpers/repos";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `hef <args>` in a child process, asynchronously: the test's own HTTP server must keep answering meanwhile. */
function hef(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "sidecar/cli/hef.ts", ...args],
      { env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
  });
}

const MODEL = Buffer.alloc(3_000_000, 7);

/** Serves MODEL under any path ending in .gguf (with ranges, as ipull asks), but never answers for "stall.gguf" and has no "missing.gguf". */
async function modelServer(): Promise<string> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    if (path.endsWith("stall.gguf")) return;
    if (path.endsWith("missing.gguf")) return void response.writeHead(404).end();
    if (!path.endsWith(".gguf")) return void response.writeHead(200).end();
    const range = /bytes=(\d+)-(\d*)/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Number(range[2]) : MODEL.length - 1;
    response.writeHead(range ? 206 : 200, {
      "content-length": end - start + 1,
      "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${start}-${end}/${MODEL.length}` } : {}),
    });
    response.end(request.method === "HEAD" ? undefined : MODEL.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function assertOneLineFailure(run: Run, uri: string, reason: RegExp): void {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.ok(lines[0]!.startsWith(`hef: could not download ${uri}: `), lines[0]);
  assert.match(lines[0]!, reason);
}

describe("hef download", () => {
  test("an unreachable https URL fails at once with one line and exit 1", async () => {
    const uri = "https://127.0.0.1:9/x.gguf";
    const run = await hef(["download", uri, "--dir", tempDir()]);
    assertOneLineFailure(run, uri, /no network connection \/ host unreachable \(.+\)$/);
    assert.ok(run.ms < 20_000, `took ${run.ms} ms`);
  });

  test("an hf: URI whose endpoint cannot be reached fails the same way", async () => {
    const uri = "hf:owner/repo/file.gguf";
    const run = await hef(["download", uri, "--dir", tempDir()], {
      HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      MODEL_ENDPOINT: "",
    });
    assertOneLineFailure(run, uri, /no network connection \/ host unreachable \(.*ECONNREFUSED.*\)$/);
    assert.ok(run.ms < 20_000, `took ${run.ms} ms`);
  });

  test("a server that sends nothing is given up after --timeout seconds", async () => {
    const uri = `${await modelServer()}/models/stall.gguf`;
    const run = await hef(["download", uri, "--dir", tempDir(), "--timeout", "1"]);
    assertOneLineFailure(run, uri, /no network connection \/ host unreachable \(nothing received for 1 s\)$/);
    assert.ok(run.ms < 20_000, `took ${run.ms} ms`);
  });

  test("a file the server does not have fails with the server's answer", async () => {
    const uri = `${await modelServer()}/models/missing.gguf`;
    const run = await hef(["download", uri, "--dir", tempDir()]);
    assertOneLineFailure(run, uri, /404/);
  });

  test("--json prints growing progress lines, then the path of the downloaded file", async () => {
    const dir = tempDir();
    const run = await hef(["download", `${await modelServer()}/models/small.gguf`, "--dir", dir, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const last = lines.pop();
    assert.deepEqual(last, { path: join(dir, "small.gguf") });
    assert.ok(lines.length > 0);
    for (const [i, line] of lines.entries()) {
      assert.equal(line.total, MODEL.length);
      assert.ok(line.downloaded > (lines[i - 1]?.downloaded ?? 0));
    }
    assert.equal(lines.at(-1).downloaded, MODEL.length);
    assert.ok(readFileSync(last.path).equals(MODEL));
  });

  test("an hf: URI resolves against HF_ENDPOINT; without --json stdout holds the path alone", async () => {
    const dir = tempDir();
    const run = await hef(["download", "hf:owner/repo/small.gguf", "--dir", dir], {
      HF_ENDPOINT: await modelServer(),
      MODEL_ENDPOINT: "",
    });
    assert.equal(run.code, 0, run.stderr);
    const path = run.stdout.trimEnd();
    assert.ok(path.startsWith(dir) && path.endsWith(".gguf"), path);
    assert.ok(readFileSync(path).equals(MODEL));
    assert.match(run.stderr, /2\.9 of 2\.9 MiB \(100%\)/);
  });

  test("a local path or a missing --dir is a usage error", async () => {
    const notUri = await hef(["download", "model.gguf", "--dir", tempDir()]);
    assert.equal(notUri.code, 2);
    assert.match(notUri.stderr, /^hef: download takes a model URI/);
    const noDir = await hef(["download", "hf:owner/repo/file.gguf"]);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /^hef: download needs --dir <dir>/);
  });
});
