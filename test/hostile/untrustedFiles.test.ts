// Files a user is handed (an adapter, a model, a repository with odd file names) must not make the
// sidecar open what they name nor print what they contain (issue 17, security 3 and 4).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AdapterError, readAdapter } from "../../sidecar/adapter/adapter";
import { type RandomAdapterSpec, writeRandomAdapter } from "../../sidecar/syntheticModels/randomAdapter";
import { Retriever } from "../../sidecar/completion/retriever";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { inspectModelFile, ModelFileError } from "../../sidecar/models/modelFile";
import { printable } from "../../sidecar/util/printable";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { tempDir } from "../helpers/repos";

const SECRET = "root:x:0:0:SECRET_4b1d:/root:/bin/bash\n";
const TERMINAL_ATTACK = "\x1b[2J\x1b]0;PWNED\x07";

function adapterSpec(fuserPath: string): RandomAdapterSpec {
  return {
    embedder: { name: "emb", id: "e1", dim: 16 },
    generator: { name: "gen", id: "g1", dim: 24 },
    projectorHidden: 32,
    k: 8,
    b: 4,
    fuser: { name: "fuser", id: "f1", dim: 12, modelPath: fuserPath },
  };
}

describe("an adapter names its fuser transformer", () => {
  test("a fuser path that leaves the adapter's folder is refused, and the named file is not read", async () => {
    const secret = join(tempDir("hef-secret-"), "passwd");
    writeFileSync(secret, SECRET);
    const adapter = join(tempDir("hef-adapter-"), "adapter.gguf");
    await writeRandomAdapter(adapter, adapterSpec(secret));
    await assert.rejects(readAdapter(adapter), (error: Error) => {
      assert.ok(error instanceof AdapterError);
      assert.match(
        error.message,
        /names its fuser transformer as "\.\.\/.*passwd": it must be a file in the adapter's folder/,
      );
      assert.doesNotMatch(error.message, /SECRET|root:/);
      return true;
    });
  });

  test(
    "a fuser file beside the adapter that is not a GGUF is named as such, its content never quoted",
    { skip: buildNativeAddon() },
    async () => {
      const dir = tempDir("hef-adapter-");
      const adapter = join(dir, "adapter.gguf");
      await writeRandomAdapter(adapter, adapterSpec(join(dir, "fuser.gguf")));
      writeFileSync(join(dir, "fuser.gguf"), SECRET);
      await assert.rejects(
        Retriever.load({ embedderPath: await ensureTinyModel("tiny-embed"), adapterPath: adapter, backend: "cpu" }),
        (error: Error) => {
          assert.ok(error instanceof ModelFileError);
          assert.equal(error.message, `${join(dir, "fuser.gguf")}: not a GGUF file`);
          return true;
        },
      );
    },
  );

  test("any model file: no message quotes the bytes of a file that is not a GGUF", async () => {
    const path = join(tempDir("hef-model-"), "model.gguf");
    for (const content of [SECRET, `GGUF${TERMINAL_ATTACK}${"\xff".repeat(40)}`]) {
      writeFileSync(path, content, "latin1");
      await assert.rejects(inspectModelFile(path, "generator"), (error: Error) => {
        // eslint-disable-next-line no-control-regex -- a terminal escape in the message is the failure
        assert.doesNotMatch(error.message, /SECRET|root:|\x1b|\x07/);
        return true;
      });
    }
  });
});

describe("a GGUF header is checked before any parser trusts its counts", () => {
  function header(version: number, tensors: bigint, pairs: bigint): Buffer {
    const head = Buffer.alloc(24);
    head.write("GGUF", 0, "latin1");
    head.writeUInt32LE(version, 4);
    head.writeBigUInt64LE(tensors, 8);
    head.writeBigUInt64LE(pairs, 16);
    return head;
  }

  test(
    "24 bytes claiming 2^62 entries or tensors, or an unknown version: one line at once, for every role",
    { timeout: 20_000 },
    async () => {
      const dir = tempDir("hef-gguf-");
      const cases: [Buffer, RegExp][] = [
        [
          header(3, 0n, 2n ** 62n),
          /truncated or damaged: the header declares 0 tensors and 4611686018427387904 metadata entries, more than 24 bytes can hold/,
        ],
        [header(3, 2n ** 62n, 1n), /damaged: the header declares 4611686018427387904 tensors/],
        [header(7, 0n, 0n), /GGUF version 7 is not supported/],
        [header(3, 0n, 0n).subarray(0, 12), /truncated: the GGUF header is 24 bytes/],
      ];
      for (const [i, [bytes, expected]] of cases.entries()) {
        const path = join(dir, `crafted-${i}.gguf`);
        writeFileSync(path, bytes);
        for (const role of ["embedder", "generator", "fuser"] as const)
          await assert.rejects(inspectModelFile(path, role), expected);
        await assert.rejects(
          readAdapter(path),
          (error: Error) => error instanceof AdapterError && expected.test(error.message),
        );
      }
    },
  );
});

describe("file names are printed with their control characters escaped", () => {
  test("printable escapes C0, DEL and C1 controls and keeps every other character", () => {
    assert.equal(printable(`a${TERMINAL_ATTACK}b`), "a\\x1b[2J\\x1b]0;PWNED\\x07b");
    assert.equal(printable("tab\there\nnl\x7f\x9b"), "tab\\x09here\\x0anl\\x7f\\x9b");
    assert.equal(printable("naïve/日本語.py"), "naïve/日本語.py");
  });

  test("hef index and hef query print a hostile name escaped", async () => {
    const root = tempDir("hef-names-");
    mkdirSync(join(root, "pkg"));
    writeFileSync(join(root, "pkg", `${TERMINAL_ATTACK}.py`), "def pwned():\n    return 1\n");
    writeFileSync(join(root, "pkg", `${TERMINAL_ATTACK}bin.py`), "x = 1\0\n");
    writeFileSync(join(root, "main.py"), "from pkg import pwned\n\nprint(pwned())\n");
    const embedder = await ensureTinyModel("tiny-embed");
    const env = { ...process.env, HEF_CACHE_HOME: tempDir("hef-names-cache-") };
    const run = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "sidecar/cli/hef.ts", ...args, "--embedder", embedder], {
        encoding: "utf8",
        env,
      });
    const index = run(["index", root]);
    assert.equal(index.status, 0, index.stderr);
    assert.match(index.stdout, /skipped 1: pkg\/\\x1b\[2J\\x1b\]0;PWNED\\x07bin\.py \(binary\)/);
    const query = run(["query", root, "--file", "main.py", "--line", "3", "--k", "32"]);
    assert.equal(query.status, 0, query.stderr);
    assert.match(query.stdout, /pkg\/\\x1b\[2J\\x1b\]0;PWNED\\x07\.py:1-2/);
    for (const output of [index.stdout, index.stderr, query.stdout, query.stderr])
      // eslint-disable-next-line no-control-regex -- a terminal escape in the output is the failure
      assert.doesNotMatch(output, /[\x1b\x07]/);
  });
});
