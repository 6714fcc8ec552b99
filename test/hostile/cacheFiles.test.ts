// Random bytes in each file of the cache (issue 17: "random bytes for each cache file"): opening never
// throws nor aborts the process, the damage is said in the log, the next run answers as a fresh build
// does, and the repaired cache is saved (the run after says nothing). HEF_PROBE_TRIES sets the tries per
// file (default 2: one of the file's own size, one of another; the probe table's runs used more).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { HefCache } from "../../sidecar/cache/hefCache";
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { searchText, tinyEmbedder } from "../helpers/embedder";
import { copyOfRepo, tempDir } from "../helpers/repos";

const TRIES = Number(process.env.HEF_PROBE_TRIES ?? 2);
const QUERY = "def total(self):\n        return sum(";

let embedder: NativeEmbedder;
let expected: string[];
const root = copyOfRepo("samples/shop");
const pristine = tempDir("hef-fuzz-cache-");

before(async () => {
  embedder = await tinyEmbedder();
  const cache = await HefCache.open({ root, cacheDir: pristine, embedder, log: () => undefined });
  await cache.sync();
  await cache.save();
  expected = (await searchText(cache, embedder, QUERY, 16)).map((n) => n.id);
});

/** The cache's files, relative to its folder. */
function cacheFiles(): string[] {
  const gen = readFileSync(join(pristine, "CURRENT"), "utf8").trim();
  const table = readdirSync(join(pristine, "embeddings"))[0]!;
  return [
    "CURRENT",
    "CACHEDIR.TAG",
    `${gen}/manifest.json`,
    `${gen}/files.json`,
    `${gen}/fused.bin`,
    `${gen}/index.usearch`,
    `embeddings/${table}`,
  ];
}

describe("random bytes in a cache file", () => {
  test(
    `each file, ${TRIES} tries: a log line, then the answers of a fresh build, saved`,
    { timeout: 300_000 },
    async () => {
      const outcomes: string[] = [];
      for (const file of cacheFiles()) {
        for (let trial = 0; trial < TRIES; trial++) {
          const cacheDir = join(tempDir("hef-fuzz-"), "cache");
          cpSync(pristine, cacheDir, { recursive: true });
          const size = statSync(join(cacheDir, file)).size;
          writeFileSync(join(cacheDir, file), randomBytes(trial % 2 === 0 ? size : Math.floor(Math.random() * 4096)));
          const logs: string[] = [];
          const cache = await HefCache.open({ root, cacheDir, embedder, log: (m) => logs.push(m) });
          await cache.sync();
          await cache.save();
          const where = `${file}, try ${trial + 1}`;
          assert.deepEqual(
            (await searchText(cache, embedder, QUERY, 16)).map((n) => n.id),
            expected,
            where,
          );
          if (file !== "CACHEDIR.TAG") assert.ok(logs.length > 0, `${where}: the damage went unsaid`);
          // Said without quoting the damaged bytes: no control character reaches a terminal or the log.
          // eslint-disable-next-line no-control-regex -- a control character in a log line is the failure
          for (const line of logs) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\ufffd]/, where);
          const after: string[] = [];
          await HefCache.open({ root, cacheDir, embedder, log: (m) => after.push(m) });
          assert.deepEqual(after, [], `${where}: the repair was not saved`);
          outcomes.push(`${where}: ${logs[0] ?? "(nothing to say)"}`);
        }
      }
      if (process.env.HEF_PROBE_TRIES) console.log(outcomes.join("\n"));
    },
  );

  test("a lock file of random bytes (no pid) is taken over once it is 5 s old", { timeout: 60_000 }, async () => {
    const cacheDir = join(tempDir("hef-fuzz-"), "cache");
    cpSync(pristine, cacheDir, { recursive: true });
    const lock = join(cacheDir, "write.lock");
    // "1…" would read as the pid of init under a loose parse: the lock would never be released.
    writeFileSync(lock, Buffer.concat([Buffer.from("1"), randomBytes(64)]));
    const old = (Date.now() - 6_000) / 1000;
    utimesSync(lock, old, old);
    const cache = await HefCache.open({ root, cacheDir, embedder, log: () => undefined });
    const started = Date.now();
    await cache.checkpoint();
    assert.ok(Date.now() - started < 2_000);
  });
});
