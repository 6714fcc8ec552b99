// Ctrl-C or SIGTERM during `hef index` keeps what was embedded (issue 17, losing less 12): four kills
// at 2.7-21.8 s used to re-embed all chunks on the next run.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { copyOfRepo, tempDir } from "../helpers/repos";

describe("an interrupted index run", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(
      `${signal} while embedding: the vectors embedded so far are saved, exit 128 + signal`,
      { timeout: 180_000 },
      async () => {
        // About 2 MB of declarations: tens of seconds of embedding, so the signal lands while it runs.
        const root = copyOfRepo("node_modules/@types/node");
        const cacheDir = tempDir("hef-interrupt-");
        const embedder = await ensureTinyModel("tiny-embed");
        const child = spawn(
          process.execPath,
          ["--import", "tsx", "sidecar/cli/hef.ts", "index", root, "--embedder", embedder, "--cache-dir", cacheDir],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        let stderr = "";
        child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        await new Promise((wake) => setTimeout(wake, 12_000));
        child.kill(signal);
        const code = await exited;
        assert.equal(code, signal === "SIGINT" ? 130 : 143, stderr);
        assert.match(stderr, new RegExp(`interrupted \\(${signal}\\): the chunks embedded so far are saved`));
        const tables = readdirSync(join(cacheDir, "embeddings"));
        assert.equal(tables.length, 1);
        assert.ok(statSync(join(cacheDir, "embeddings", tables[0]!)).size > 100_000, "vectors were saved");
      },
    );
  }
});
