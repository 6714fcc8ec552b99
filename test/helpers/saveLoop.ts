// A child process for the kill test: edits a file, refreshes and saves the cache in a loop,
// printing "saved" after each save, until it is killed.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { HefCache } from "../../sidecar/cache/hefCache";
import { tinyEmbedder } from "./embedder";

const [root, cacheDir] = process.argv.slice(2) as [string, string];
const cache = await HefCache.open({ root, cacheDir, embedder: await tinyEmbedder(), log: () => undefined });
const file = join(root, "lib/common/api.js");
for (let i = 0; ; i++) {
  appendFileSync(file, `\n// edit ${i}\n`);
  await cache.refresh([file]);
  await cache.save();
  process.stdout.write("saved\n");
}
