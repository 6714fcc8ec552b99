// Two processes writing one cache (a sidecar and a `hef index`) must not break it (issue 17,
// availability 11): one writer at a time, and a lock left by a killed writer is taken over at once.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { HefCache } from "../../sidecar/cache/hefCache";
import { withWriterLock } from "../../sidecar/util/writerLock";
import { tinyEmbedder } from "../helpers/embedder";
import { copyOfRepo, tempDir } from "../helpers/repos";

function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("the writer lock", () => {
  test("a lock left by a process that is gone is taken over at once", async () => {
    const path = join(tempDir("hef-lock-"), "write.lock");
    writeFileSync(path, String(deadPid()));
    const started = Date.now();
    assert.equal(await withWriterLock(path, () => "ran", { waitMs: 5_000 }), "ran");
    assert.ok(Date.now() - started < 2_000);
    assert.ok(!existsSync(path), "released");
  });

  test("a lock with no pid in it (its writer killed between creating and filling it) is taken over once it is 5 s old", async () => {
    const path = join(tempDir("hef-lock-"), "write.lock");
    writeFileSync(path, "");
    await assert.rejects(
      withWriterLock(path, () => "ran", { waitMs: 300 }),
      /held by process \(unknown\)/,
      "a fresh empty lock is a writer about to fill it",
    );
    const old = (Date.now() - 6_000) / 1000;
    utimesSync(path, old, old);
    assert.equal(await withWriterLock(path, () => "ran", { waitMs: 2_000 }), "ran");
    assert.ok(!existsSync(path), "released");
  });

  test("a live holder is waited for; past the wait, the error names it", async () => {
    const path = join(tempDir("hef-lock-"), "write.lock");
    const holder = spawn("sleep", ["30"]);
    try {
      writeFileSync(path, String(holder.pid));
      await assert.rejects(
        withWriterLock(path, () => "ran", { waitMs: 300 }),
        new RegExp(`held by process ${holder.pid}, still there after 0 s`),
      );
      setTimeout(() => writeFileSync(path, String(deadPid())), 300);
      assert.equal(await withWriterLock(path, () => "ran", { waitMs: 10_000 }), "ran");
    } finally {
      holder.kill();
    }
  });
});

describe("concurrent writers of one cache", () => {
  test(
    "three processes refreshing and saving one cache together all succeed, and it loads cleanly",
    { timeout: 120_000 },
    async () => {
      const root = copyOfRepo();
      const cacheDir = tempDir("hef-writers-");
      const first = await HefCache.open({ root, cacheDir, embedder: await tinyEmbedder(), log: () => undefined });
      await first.sync();
      await first.save();
      const children = [0, 1, 2].map(() =>
        spawn(process.execPath, ["--import", "tsx", "test/helpers/saveLoop.ts", root, cacheDir], {
          stdio: ["ignore", "pipe", "pipe"],
        }),
      );
      const outcomes = await Promise.all(
        children.map(
          (child) =>
            new Promise<{ saves: number; code: number | null; signal: string | null; stderr: string }>((resolve) => {
              let saves = 0;
              let stderr = "";
              child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
              child.stdout.on("data", (data: Buffer) => {
                saves += data.toString().split("saved").length - 1;
                if (saves >= 4) child.kill("SIGTERM");
              });
              child.on("exit", (code, signal) => resolve({ saves, code, signal, stderr }));
            }),
        ),
      );
      for (const outcome of outcomes)
        assert.equal(outcome.signal, "SIGTERM", `a writer failed (exit ${outcome.code}): ${outcome.stderr}`);
      const logs: string[] = [];
      const cache = await HefCache.open({ root, cacheDir, embedder: await tinyEmbedder(), log: (m) => logs.push(m) });
      assert.deepEqual(logs, []);
      assert.ok(cache.stats.nodes > 0);
    },
  );
});
