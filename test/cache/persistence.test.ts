import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { HefCache } from "../../sidecar/cache/hefCache";
import type { RetrievedNode } from "../../sidecar/cache/retrieval";
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { renamedEmbedder, searchText, tinyEmbedder } from "../helpers/embedder";
import { copyOfRepo, tempDir } from "../helpers/repos";

let embedder: NativeEmbedder;
before(async () => {
  embedder = await tinyEmbedder();
});

const QUERY = "export function createConnection(factories, watchDog) {\n  const connection = ";

function currentGeneration(cacheDir: string): string {
  return join(cacheDir, readFileSync(join(cacheDir, "CURRENT"), "utf8").trim());
}

async function builtCache(): Promise<{ root: string; cacheDir: string; expected: RetrievedNode[] }> {
  const root = copyOfRepo();
  const cacheDir = tempDir("hef-cache-");
  const cache = await HefCache.open({ root, cacheDir, embedder, log: () => undefined });
  await cache.sync();
  await cache.save();
  return { root, cacheDir, expected: await searchText(cache, embedder, QUERY, 16) };
}

async function reopen(
  root: string,
  cacheDir: string,
  logs: string[],
  withEmbedder = embedder as Parameters<typeof HefCache.open>[0]["embedder"],
) {
  return HefCache.open({ root, cacheDir, embedder: withEmbedder, log: (m) => logs.push(m) });
}

describe("persistence", () => {
  test("a reloaded cache answers queries exactly as before, with nothing to redo", async () => {
    const { root, cacheDir, expected } = await builtCache();
    const logs: string[] = [];
    const cache = await reopen(root, cacheDir, logs);
    assert.deepEqual(await searchText(cache, embedder, QUERY, 16), expected);
    const report = await cache.sync();
    assert.equal(report.embedded + report.fused + report.changedFiles, 0);
    assert.deepEqual(logs, []);
  });

  test("a truncated index file is rebuilt from the stored vectors, with a log line", async () => {
    const { root, cacheDir, expected } = await builtCache();
    const indexPath = join(currentGeneration(cacheDir), "index.usearch");
    truncateSync(indexPath, Math.floor(statSync(indexPath).size / 2));
    const logs: string[] = [];
    const cache = await reopen(root, cacheDir, logs);
    assert.match(logs.join("\n"), /index of generation \d+ unusable .*rebuilding it from the stored vectors/);
    assert.deepEqual(
      (await searchText(cache, embedder, QUERY, 16)).map((n) => n.id),
      expected.map((n) => n.id),
    );
  });

  test("an index file of the right size but damaged bytes never reaches usearch; the repair is saved once", async () => {
    const { root, cacheDir, expected } = await builtCache();
    const indexPath = join(currentGeneration(cacheDir), "index.usearch");
    // Random bytes of the same size: 9 of 15 such files aborted the process inside usearch (std::bad_alloc).
    writeFileSync(indexPath, randomBytes(statSync(indexPath).size));
    const logs: string[] = [];
    const cache = await reopen(root, cacheDir, logs);
    assert.match(
      logs.join("\n"),
      /index of generation \d+ unusable \(its checksum does not match the manifest\); rebuilding it from the stored vectors/,
    );
    assert.deepEqual(
      (await searchText(cache, embedder, QUERY, 16)).map((n) => n.id),
      expected.map((n) => n.id),
    );
    await cache.save();
    const again: string[] = [];
    await reopen(root, cacheDir, again);
    assert.deepEqual(again, [], "the repaired index was saved");
  });

  test("a corrupt manifest means a rebuild that re-embeds nothing", async () => {
    const { root, cacheDir, expected } = await builtCache();
    writeFileSync(join(currentGeneration(cacheDir), "manifest.json"), "{ not json");
    const logs: string[] = [];
    const cache = await reopen(root, cacheDir, logs);
    assert.match(logs.join("\n"), /rebuilding the cache of .*manifest .* is unreadable/);
    const report = await cache.sync();
    assert.equal(report.embedded, 0, "chunk vectors survive in the embedding cache");
    assert.ok(report.fused > 0);
    assert.deepEqual(
      (await searchText(cache, embedder, QUERY, 16)).map((n) => n.id),
      expected.map((n) => n.id),
    );
  });

  test("a files.json of valid JSON but the wrong shape means a rebuild with a log line, not failures forever", async () => {
    const { root, cacheDir, expected } = await builtCache();
    for (const [content, problem] of [
      ['[{"path":"x"}]', /files\.json: entry 0 is not \{path, hash, chunks\}/],
      ["[null]", /files\.json: entry 0 is not/],
      [
        '[{"path":"a.js","hash":"h","chunks":[{"hash":"c","startLine":"1"}]}]',
        /entry 0 \(a\.js\) has a malformed chunk/,
      ],
      ['{"files":[]}', /files\.json: not a list/],
    ] as const) {
      writeFileSync(join(currentGeneration(cacheDir), "files.json"), content);
      const logs: string[] = [];
      const cache = await reopen(root, cacheDir, logs);
      assert.match(logs.join("\n"), problem);
      await cache.sync();
      assert.deepEqual(
        (await searchText(cache, embedder, QUERY, 16)).map((n) => n.id),
        expected.map((n) => n.id),
      );
      await cache.save();
    }
  });

  test("a cache built with another embedder is rebuilt, and says so", async () => {
    const { root, cacheDir } = await builtCache();
    const logs: string[] = [];
    const cache = await reopen(root, cacheDir, logs, renamedEmbedder(embedder, "f".repeat(64)));
    assert.match(logs.join("\n"), /rebuilding the cache of .*built with embedder/);
    const report = await cache.sync();
    assert.equal(report.embedded, report.chunks - report.reused);
    assert.ok(report.embedded > 0, "another embedder's vectors are not reused");
  });

  test("a damaged embedding cache is started afresh with a log line", async () => {
    const { root, cacheDir } = await builtCache();
    const embeddings = join(cacheDir, "embeddings");
    for (const file of readdirSync(embeddings)) truncateSync(join(embeddings, file), 100);
    const logs: string[] = [];
    const cache = await reopen(root, cacheDir, logs);
    assert.match(logs.join("\n"), /embedding cache unusable/);
    assert.match(logs.join("\n"), /lost their chunk vectors and will be re-read/);
    const report = await cache.sync();
    assert.ok(report.embedded > 0);
    assert.equal(cache.stats.files, report.files);
  });

  test("a process killed while saving leaves a loadable cache", async () => {
    const { root, cacheDir } = await builtCache();
    for (const delayMs of [0, 3, 7, 11, 17, 21, 29, 37, 47, 55]) {
      const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/saveLoop.ts", root, cacheDir], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let saves = 0;
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (data: Buffer) => {
          saves += data.toString().split("saved").length - 1;
          if (saves >= 2) setTimeout(() => child.kill("SIGKILL"), delayMs);
        });
        child.on("exit", () => resolve());
        child.on("error", reject);
      });
      assert.ok(saves >= 2, "the child saved before it was killed");
      const logs: string[] = [];
      const cache = await reopen(root, cacheDir, logs);
      assert.deepEqual(logs, [], `cache loads cleanly after SIGKILL at +${delayMs} ms`);
      assert.ok(cache.stats.nodes > 0);
      assert.ok((await searchText(cache, embedder, QUERY, 8)).length === 8);
      // The next writer removes what the kill left: temp files, a generation never finished or never removed.
      await cache.checkpoint();
      const left = [...readdirSync(cacheDir), ...readdirSync(join(cacheDir, "embeddings"))];
      assert.deepEqual(
        left.filter(
          (name) =>
            name.includes(".tmp-") || (name.startsWith("gen-") && join(cacheDir, name) !== currentGeneration(cacheDir)),
        ),
        [],
        `after SIGKILL at +${delayMs} ms`,
      );
    }
  });
});

describe("interrupted indexing", () => {
  test("a run that dies while embedding resumes from its checkpointed vectors", async () => {
    const root = copyOfRepo();
    const cacheDir = tempDir("hef-cache-");
    let calls = 0;
    const failing = renamedEmbedder(embedder, embedder.id);
    failing.embed = async (texts, onEmbedded) => {
      if (++calls > 40) throw new Error("the embedder process died");
      return embedder.embed(texts, onEmbedded);
    };
    const dying = await HefCache.open({ root, cacheDir, embedder: failing, checkpointMs: 0, log: () => undefined });
    await assert.rejects(dying.sync(), /embedder process died/);

    const cold = await HefCache.open({ root, cacheDir: tempDir("hef-cache-"), embedder, log: () => undefined });
    const coldReport = await cold.sync();
    const resumed = await reopen(root, cacheDir, []);
    const report = await resumed.sync();
    assert.equal(
      report.embedded,
      coldReport.embedded - 40,
      "the 40 chunks embedded before the failure are not embedded again",
    );
    assert.equal(report.nodes, coldReport.nodes);
  });
});
