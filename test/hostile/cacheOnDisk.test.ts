// The cache folder after bad luck (issue 17, losing less 13): what killed writers leave is removed by the
// next writer, a failed write names its file and what to do, a cache put inside the workspace is not
// indexed, and a workspace opened through a symbolic link shares its target's cache.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { after, before, describe, mock, test } from "node:test";
import { defaultCacheDir } from "../../sidecar/cache/cacheLocation";
import { HefCache } from "../../sidecar/cache/hefCache";
import { createPathFilter } from "../../common/pathFilter";
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { WriteError, writeFileAtomic } from "../../sidecar/util/atomicWrite";
import { tinyEmbedder } from "../helpers/embedder";
import { tempDir } from "../helpers/repos";

let embedder: NativeEmbedder;
before(async () => {
  embedder = await tinyEmbedder();
});

function workspace(): string {
  const root = tempDir("hef-disk-");
  mkdirSync(join(root, "pkg"));
  writeFileSync(join(root, "pkg", "cart.py"), "class Cart:\n    def total(self):\n        return 0\n");
  writeFileSync(join(root, "main.py"), "from pkg.cart import Cart\n\nprint(Cart().total())\n");
  writeFileSync(join(root, "settings.json"), '{ "currency": "EUR" }\n');
  return root;
}

async function saved(root: string, cacheDir: string, logs: string[] = []): Promise<HefCache> {
  const cache = await HefCache.open({ root, cacheDir, embedder, log: (m) => logs.push(m) });
  await cache.sync();
  await cache.save();
  return cache;
}

const current = (cacheDir: string) => readFileSync(join(cacheDir, "CURRENT"), "utf8").trim();

function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  return new Promise((resolve) => child.on("exit", () => resolve(child.pid!)));
}

describe("what killed writers leave behind", () => {
  test("orphan temp files and stale generations are removed once a writer holds the lock; a live writer's temp file stays", async () => {
    const root = workspace();
    const cacheDir = tempDir("hef-disk-cache-");
    const cache = await saved(root, cacheDir);
    const gen = current(cacheDir);
    const [table] = readdirSync(join(cacheDir, "embeddings"));
    const dead = await deadPid();
    const live = spawn("sleep", ["30"]);
    after(() => live.kill());
    // What SIGKILLs at the wrong instants leave: a generation never finished, one never removed, temp files.
    cpSync(join(cacheDir, gen), join(cacheDir, "gen-000009"), { recursive: true });
    rmSync(join(cacheDir, "gen-000009", "manifest.json"));
    writeFileSync(join(cacheDir, "gen-000009", "index.usearch.tmp"), "half an index");
    cpSync(join(cacheDir, gen), join(cacheDir, "gen-000000"), { recursive: true });
    const orphans = [
      `CURRENT.tmp-${dead}-lq2x`,
      `embeddings/${table}.tmp-${dead}-lq2y`,
      `embeddings/${table}.tmp-${process.pid}-lq2z`,
    ];
    for (const orphan of orphans) writeFileSync(join(cacheDir, orphan), "torn");
    const another = `CURRENT.tmp-${live.pid}-lq30`;
    writeFileSync(join(cacheDir, another), "being written");

    await cache.checkpoint();
    assert.deepEqual(readdirSync(cacheDir).sort(), ["CACHEDIR.TAG", "CURRENT", another, "embeddings", gen].sort());
    assert.deepEqual(readdirSync(join(cacheDir, "embeddings")), [table]);
    const logs: string[] = [];
    const reopened = await HefCache.open({ root, cacheDir, embedder, log: (m) => logs.push(m) });
    assert.deepEqual(logs, []);
    assert.equal(reopened.stats.files, 3);
  });
});

describe("a write that fails", () => {
  /** Makes every write to a file whose name contains `marker` fail as a full disk does: ENOSPC naming no path. */
  function fullDiskFor(marker: string): () => void {
    const failing = new Set<number>();
    const open = fs.openSync;
    const write = fs.writeSync;
    mock.method(fs, "openSync", (...args: Parameters<typeof fs.openSync>) => {
      const fd = open(...args);
      if (String(args[0]).includes(marker)) failing.add(fd);
      return fd;
    });
    mock.method(fs, "writeSync", (fd: number, ...rest: unknown[]) => {
      if (failing.has(fd))
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), {
          code: "ENOSPC",
          errno: -28,
          syscall: "write",
        });
      return (write as (...args: unknown[]) => number)(fd, ...rest);
    });
    syncBuiltinESMExports();
    return () => {
      mock.restoreAll();
      syncBuiltinESMExports();
    };
  }

  test("a full disk while saving a generation: the message names the file and what to do, the previous cache is kept as it was", async () => {
    const root = workspace();
    const cacheDir = tempDir("hef-disk-cache-");
    const cache = await saved(root, cacheDir);
    const gen = current(cacheDir);
    const before = readFileSync(join(cacheDir, gen, "files.json"));
    writeFileSync(join(root, "more.py"), "def more():\n    return 2\n");
    await cache.refresh(["more.py"]);
    const restore = fullDiskFor("fused.bin");
    try {
      await assert.rejects(cache.save(), (error: Error) => {
        assert.ok(error instanceof WriteError);
        assert.equal(error.code, "ENOSPC");
        assert.equal(
          error.message,
          `no space left on device writing ${join(cacheDir, "gen-000002", "fused.bin")}: free some space; the previous cache (${gen}) is kept`,
        );
        return true;
      });
    } finally {
      restore();
    }
    assert.equal(current(cacheDir), gen);
    assert.deepEqual(readFileSync(join(cacheDir, gen, "files.json")), before);
    assert.ok(!existsSync(join(cacheDir, "gen-000002")), "the unfinished generation is removed, freeing its space");
    await cache.save();
    assert.equal(current(cacheDir), "gen-000002", "once there is space the same cache saves");
  });

  test("a full disk while saving the chunk vectors names the embedding file", async () => {
    const root = workspace();
    const cacheDir = tempDir("hef-disk-cache-");
    const cache = await saved(root, cacheDir);
    const restore = fullDiskFor(join(cacheDir, "embeddings"));
    try {
      await assert.rejects(
        cache.checkpoint(),
        /^WriteError: no space left on device writing .*embeddings\/[0-9a-f]+\.bin: free some space; the chunk vectors saved before are kept$/,
      );
    } finally {
      restore();
    }
    assert.deepEqual(
      readdirSync(join(cacheDir, "embeddings")).filter((name) => name.includes(".tmp-")),
      [],
      "no temp file is left",
    );
  });

  test("other errors name the file too", () => {
    const dir = tempDir("hef-disk-");
    const path = join(dir, "missing", "file.json");
    assert.throws(
      () => writeFileAtomic(path, "x"),
      (error: Error) => error instanceof WriteError && error.message.startsWith(`writing ${path} failed: ENOENT`),
    );
    const readOnly = Object.assign(new Error("EROFS: read-only file system, open"), { code: "EROFS" });
    assert.equal(
      new WriteError("/c/x", readOnly, "the previous cache is kept").message,
      "read-only file system writing /c/x: choose a folder on a writable disk; the previous cache is kept",
    );
  });
});

describe("a cache inside the workspace", () => {
  test("--cache-dir inside the indexed folder: the cache is never indexed, and a second run changes nothing", async () => {
    const root = workspace();
    const cacheDir = join(root, "hef-cache-here");
    await saved(root, cacheDir);
    assert.ok(existsSync(join(cacheDir, "CACHEDIR.TAG")));
    const cache = await HefCache.open({ root, cacheDir, embedder, log: () => undefined });
    const report = await cache.sync();
    assert.equal(report.changedFiles, 0, "the cache's own files.json and manifest.json were indexed");
    assert.deepEqual(
      cache
        .indexedFiles()
        .map((f) => f.path)
        .sort(),
      ["main.py", "pkg/cart.py", "settings.json"],
    );
    // What the extension's watcher asks: events inside the cache are not the workspace's.
    const filter = await createPathFilter(root);
    assert.ok(filter.isIgnored("hef-cache-here", true));
    assert.ok(filter.isIgnored(`hef-cache-here/${current(cacheDir)}/manifest.json`, false));
  });

  test("HEF_CACHE_HOME inside the workspace, with a cache made before caches were tagged", async () => {
    const root = workspace();
    const cacheDir = defaultCacheDir(root, { HEF_CACHE_HOME: join(root, "caches") });
    await saved(root, cacheDir);
    rmSync(join(cacheDir, "CACHEDIR.TAG"));
    const cache = await HefCache.open({ root, cacheDir, embedder, log: () => undefined });
    assert.ok(existsSync(join(cacheDir, "CACHEDIR.TAG")), "tagged when opened, before the walk");
    const report = await cache.sync();
    assert.equal(report.changedFiles, 0);
  });
});

describe("a workspace reached through a symbolic link", () => {
  test("has the cache folder of its target", () => {
    const base = tempDir("hef-link-");
    mkdirSync(join(base, "real"));
    symlinkSync(join(base, "real"), join(base, "link"));
    const env = { HEF_CACHE_HOME: join(base, "caches") };
    assert.equal(defaultCacheDir(join(base, "link"), env), defaultCacheDir(join(base, "real"), env));
    assert.equal(defaultCacheDir(join(base, "link", "..", "real"), env), defaultCacheDir(join(base, "real"), env));
    assert.match(defaultCacheDir(join(base, "link"), env), /[/\\]real-[0-9a-f]{12}$/);
    // A folder that does not exist (yet) is named after its path as given.
    assert.match(defaultCacheDir(join(base, "gone"), env), /[/\\]gone-[0-9a-f]{12}$/);
  });
});
