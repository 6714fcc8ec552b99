// What the walk leaves out it says, each with its reason (issue 17, item 14): names that are not UTF-8,
// paths longer than the system allows, FIFOs and links to what is not a file used to vanish without a word.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { discoverSourceFiles, escapedName, readSourceFile, walkSourceFiles } from "../../sidecar/cache/discovery";
import { HefCache } from "../../sidecar/cache/hefCache";
import { tinyEmbedder } from "../helpers/embedder";
import { tempDir } from "../helpers/repos";

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

function workspace(): string {
  const root = tempDir("hef-walk-");
  writeFileSync(join(root, "ok.py"), "x = 1\n");
  return root;
}

describe("the walk reports what it leaves out", () => {
  test("names that are not UTF-8: the file, and a folder with everything under it", async () => {
    const root = workspace();
    // Latin-1 "café.py" and a folder "naïve" in Latin-1, as an old archive unpacks them.
    writeFileSync(bytes(root, "/caf", [0xe9], ".py"), "latin = 1\n");
    mkdirSync(bytes(root, "/na", [0xef], "ve"));
    writeFileSync(bytes(root, "/na", [0xef], "ve/inner.py"), "inner = 1\n");
    writeFileSync(bytes(root, "/notes", [0xff], ".txt"), "not a source name: not reported\n");
    const { files, skipped } = await walkSourceFiles(root);
    assert.deepEqual(files, ["ok.py"]);
    assert.deepEqual(skipped, [
      { path: "caf\\xe9.py", reason: "invalid-utf8", detail: "the name is not UTF-8" },
      {
        path: "na\\xefve",
        reason: "invalid-utf8",
        detail: "the folder's name is not UTF-8: nothing under it is indexed",
      },
    ]);
    assert.equal(escapedName(bytes("日本", [0xe6, 0x97], "x", [0xc3, 0xa9])), "日本\\xe6\\x97xé");
  });

  test("a path longer than the system allows, for a file and for a folder", async (t) => {
    const base = mkdtempSync(join(tmpdir(), "hef-long-"));
    // rm copes with paths longer than PATH_MAX; Node's rmSync does not.
    after(() => spawnSync("rm", ["-rf", base]));
    const root = join(base, "ws");
    mkdirSync(root);
    writeFileSync(join(root, "ok.py"), "x = 1\n");
    // Folders made one relative step at a time (chdir), as only relative paths get that deep.
    const made = spawnSync(process.execPath, [
      "-e",
      `
      const fs = require("node:fs");
      process.chdir(${JSON.stringify(root)});
      const name = "d".repeat(200);
      let length = ${Buffer.byteLength(root)};
      while (length + 201 < 4096 - 40) { fs.mkdirSync(name); process.chdir(name); length += 201; }
      // A file whose path passes 4,095 bytes in a folder whose path does not, and a folder past it.
      fs.writeFileSync("f".repeat(4096 - length) + ".py", "deep = 1\\n");
      fs.mkdirSync("sub".repeat(20)); fs.writeFileSync("sub".repeat(20) + "/x.py", "x = 1\\n");
      fs.writeFileSync("reachable.py", "reachable = 1\\n");
    `,
    ]);
    if (made.status !== 0) return t.skip(`cannot make deep folders here: ${made.stderr}`);
    const { files, skipped } = await walkSourceFiles(root);
    assert.equal(files.length, 2, files.join("\n"));
    assert.ok(files.some((f) => f.endsWith("/reachable.py")));
    assert.equal(skipped.length, 2, JSON.stringify(skipped));
    const [deepFile, deepFolder] = [
      skipped.find((s) => s.path.endsWith(".py"))!,
      skipped.find((s) => s.path.endsWith("sub"))!,
    ];
    for (const skip of [deepFile, deepFolder]) {
      assert.equal(skip.reason, "unreadable");
      assert.match(skip.detail!, /^path too long for the system \(\d+ bytes\)$/);
    }
    const read = await readSourceFile(root, deepFile.path);
    assert.match(read.ok ? "" : read.detail, /^path too long for the system \(\d+ bytes\)$/);
  });

  test("a FIFO, and links to a device or to a FIFO, named like source files", async () => {
    const root = workspace();
    execFileSync("mkfifo", [join(root, "pipe.py")]);
    symlinkSync("/dev/zero", join(root, "zero.py"));
    symlinkSync("pipe.py", join(root, "to_pipe.py"));
    const { files, skipped } = await walkSourceFiles(root);
    assert.deepEqual(files, ["ok.py"]);
    assert.deepEqual(skipped, [
      { path: "pipe.py", reason: "unreadable", detail: "a FIFO" },
      { path: "to_pipe.py", reason: "unreadable", detail: "links to something that is not a regular file" },
      { path: "zero.py", reason: "symlink", detail: "leads outside the root" },
    ]);
    const found = await discoverSourceFiles(root);
    assert.equal(found.counts.unreadable, 2);
    assert.equal(found.counts.symlink, 1);
  });

  test("an index run reports and logs the walk's skips with its own, once each", async () => {
    const root = workspace();
    writeFileSync(bytes(root, "/caf", [0xe9], ".py"), "latin = 1\n");
    const logs: string[] = [];
    const cache = await HefCache.open({
      root,
      cacheDir: tempDir("hef-walk-cache-"),
      embedder: await tinyEmbedder(),
      log: (line) => logs.push(line),
    });
    const report = await cache.sync();
    assert.deepEqual(
      report.skipped.map((skip) => [skip.path, skip.reason]),
      [["caf\\xe9.py", "invalid-utf8"]],
    );
    await cache.sync();
    assert.equal(logs.filter((line) => line.startsWith("skipped caf")).length, 1, logs.join("\n"));
  });
});
