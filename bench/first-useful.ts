// How soon a big workspace opened with no cache can complete at the file in view (issue 18.2): the
// first index reads the file in view first, then what it imports, then its neighbours, committing as
// it goes. Prints when the file in view and its imports are searchable, against the time the whole
// tree took to walk. Usage: node --import tsx bench/first-useful.ts <root> <file in view> [seconds]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { focusWithImports } from "../sidecar/cache/imports";
import { loadEngine } from "../sidecar/completion/engine";

const [root, inView, seconds = "60"] = process.argv.slice(2);
if (!root || !inView) throw new Error("usage: bench/first-useful.ts <root> <file in view> [seconds]");
const engine = await loadEngine({ backend: "cpu", log: () => undefined });
const cache = await engine.openRepository(root, {
  cacheDir: mkdtempSync(join(tmpdir(), "hef-first-useful-")),
  log: () => undefined,
});
const focus = await focusWithImports(root, new Set([inView]));
const started = performance.now();
const at = (what: string) => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  ${what}`);
const stop = new AbortController();
setTimeout(() => stop.abort(), Number(seconds) * 1000);
const wanted = [...focus.imported];
let viewed = false;
let imports = false;
let total = 0;
await cache
  .sync(
    (phase, done, all) => {
      total = all;
      const files = new Set(cache.indexedFiles().map((file) => file.path));
      if (!viewed && files.has(inView)) {
        viewed = true;
        at(`${inView} searchable (${files.size} of ${all} files indexed)`);
      }
      const present = wanted.filter((path) => files.has(path)).length;
      if (viewed && !imports && phase === "reading" && present > 0 && done > files.size) {
        imports = true;
        at(`${present} of the files it imports searchable (${files.size} of ${all} files indexed)`);
      }
    },
    stop.signal,
    () => focus,
  )
  .then((report) => at(`whole tree indexed: ${report.files} files`))
  .catch(() => at(`stopped after ${seconds} s with ${cache.indexedFiles().length} of ${total} files indexed`));
await engine.dispose();
