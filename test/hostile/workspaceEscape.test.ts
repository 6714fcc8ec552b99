// A hostile workspace must not get a file from outside its root into the index or a prompt (issue 17,
// security 1 and 2). Each route plants a canary outside the root and checks that its text is never
// embedded nor returned, while the workspace's own files still are.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { walkSourceFiles } from "../../sidecar/cache/discovery";
import { HefCache } from "../../sidecar/cache/hefCache";
const MAX_IGNORE_FILE_BYTES = 256 * 1024;
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { overriding, tinyEmbedder } from "../helpers/embedder";
import { tempDir } from "../helpers/repos";

const CANARY = "CANARY_7f3a_outside_the_workspace";

let embedder: NativeEmbedder;
before(async () => {
  embedder = await tinyEmbedder();
});

/** The embedder, recording every text it is given: what the index read. */
function spying(seen: string[]): NativeEmbedder {
  return overriding(embedder, {
    embed: (texts, onEmbedded) => (seen.push(...texts), embedder.embed(texts, onEmbedded)),
  });
}

/** ws/ with a symlink ws/outside_dir -> outside/, where outside/secret.py holds the canary. */
function workspaceWithLinkOut(): { root: string; outside: string } {
  const base = tempDir("hef-escape-");
  const outside = join(base, "outside");
  const root = join(base, "ws");
  mkdirSync(outside);
  mkdirSync(root);
  writeFileSync(join(outside, "secret.py"), `${CANARY} = "read from outside"\n`);
  symlinkSync(outside, join(root, "outside_dir"));
  writeFileSync(join(root, "app.py"), "def main():\n    return 1\n");
  return { root, outside };
}

async function indexed(root: string, seen: string[]): Promise<HefCache> {
  const cache = await HefCache.open({
    root,
    cacheDir: tempDir("hef-escape-cache-"),
    embedder: spying(seen),
    log: () => undefined,
  });
  await cache.sync();
  return cache;
}

describe("files outside the workspace are never read", () => {
  test("a backslash in a POSIX file name is a character, not a way through a linked directory", async () => {
    const { root } = workspaceWithLinkOut();
    writeFileSync(join(root, "outside_dir\\secret.py"), "inside = 'the file with a backslash'\n");
    mkdirSync(join(root, "back"));
    writeFileSync(join(root, "back", "slash.py"), "directory = 'back'\n");
    writeFileSync(join(root, "back\\slash.py"), "literal = 'back slash'\n");
    const seen: string[] = [];
    const cache = await indexed(root, seen);
    assert.ok(!seen.some((text) => text.includes(CANARY)), "the outside file was embedded");
    assert.match(seen.join("\n"), /the file with a backslash/);
    assert.equal(await cache.readText("outside_dir\\secret.py"), "inside = 'the file with a backslash'\n");
    assert.equal(await cache.readText("back\\slash.py"), "literal = 'back slash'\n");
    assert.equal(await cache.readText("back/slash.py"), "directory = 'back'\n");
    const files = new Set(cache.indexedFiles().map((f) => f.path));
    assert.deepEqual([...files].sort(), ["app.py", "back/slash.py", "back\\slash.py", "outside_dir\\secret.py"]);
  });

  test("a refresh naming a path through a linked directory (as a watcher reports it) skips it", async () => {
    const { root, outside } = workspaceWithLinkOut();
    const seen: string[] = [];
    const cache = await indexed(root, seen);
    for (const path of ["outside_dir/secret.py", join(root, "outside_dir", "secret.py")]) {
      const report = await cache.refresh([path]);
      assert.deepEqual(
        report.skipped.map((s) => [s.path, s.reason]),
        [["outside_dir/secret.py", "symlink"]],
      );
    }
    writeFileSync(join(outside, "secret.py"), `${CANARY} = "changed"\n`);
    await cache.refresh(["outside_dir/secret.py"]);
    assert.ok(!seen.some((text) => text.includes(CANARY)), "the outside file was embedded");
    assert.ok(!cache.allNodes().some((n) => n.path.startsWith("outside_dir/")));
  });

  test("completion's own reads (rag snippets, entity names) refuse a path that leads outside", async () => {
    const { root } = workspaceWithLinkOut();
    const cache = await indexed(root, []);
    assert.equal(await cache.readText("outside_dir/secret.py"), undefined);
    assert.equal(await cache.readText("../outside/secret.py"), undefined);
    assert.equal(await cache.readText("app.py"), "def main():\n    return 1\n");
  });
});

describe("ignore files are read as regular files of bounded size", { timeout: 30_000 }, () => {
  function workspace(): string {
    const root = tempDir("hef-ignore-");
    writeFileSync(join(root, "kept.py"), "x = 1\n");
    mkdirSync(join(root, "sub"));
    writeFileSync(join(root, "sub", "also.py"), "y = 2\n");
    return root;
  }

  test(".gitignore linked to /dev/zero: the walk finishes and lists the files", async () => {
    const root = workspace();
    symlinkSync("/dev/zero", join(root, ".gitignore"));
    symlinkSync("/dev/zero", join(root, "sub", ".gitignore"));
    assert.deepEqual((await walkSourceFiles(root)).files, ["kept.py", "sub/also.py"]);
  });

  test("a FIFO .gitignore does not block the walk", async () => {
    const root = workspace();
    execFileSync("mkfifo", [join(root, ".gitignore")]);
    assert.deepEqual((await walkSourceFiles(root)).files, ["kept.py", "sub/also.py"]);
  });

  test("a .gitignore outside the root or over the size limit is not applied; a normal one is", async () => {
    const root = workspace();
    const outside = join(tempDir("hef-ignore-out-"), "rules");
    writeFileSync(outside, "*.py\n");
    symlinkSync(outside, join(root, ".gitignore"));
    writeFileSync(join(root, "sub", ".gitignore"), `also.py\n${"#".repeat(MAX_IGNORE_FILE_BYTES)}\n`);
    assert.deepEqual((await walkSourceFiles(root)).files, ["kept.py", "sub/also.py"]);
    writeFileSync(join(root, "sub", ".gitignore"), "also.py\n");
    assert.deepEqual((await walkSourceFiles(root)).files, ["kept.py"]);
  });
});
