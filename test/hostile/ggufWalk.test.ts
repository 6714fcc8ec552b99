// Every length and count inside a GGUF is checked against the file's size before node-llama-cpp or
// llama.cpp reads it (issue 17, item 7): the fixed header was checked, but a key length one past the
// file's end made node-llama-cpp's reader spin at 100% CPU, one of 2^31 abort the process, and a
// tensor's dimension count of 2^32-1 spin as well (test/hostile/ggufFuzz.probe.ts found them).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import { ggufHeaderProblem } from "../../common/ggufHeader";
import { modelFileProblem } from "../../extension/modelFileCheck";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { inspectModelFile } from "../../sidecar/models/modelFile";
import { tempDir } from "../helpers/repos";

/** Bytes of the file's own text that no message may quote. */
const QUOTED = /tokenizer|general\.|qwen|token_embd|blk\./;

interface Crafted {
  name: string;
  bytes: Buffer;
  expected: RegExp;
}

/** The tiny embedder with one field set to a hostile value each, and what the refusal must say. */
async function craftedFiles(): Promise<{ original: Buffer; crafted: Crafted[] }> {
  const path = await ensureTinyModel("tiny-embed");
  const original = readFileSync(path);
  const size = original.length;
  const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false, readTensorInfo: false });
  const pairs = Number(original.readBigUInt64LE(16));
  // The first entry's key, then its value type.
  const firstKeyLength = Number(original.readBigUInt64LE(24));
  const firstType = 24 + 8 + firstKeyLength;
  // tokenizer.ggml.tokens: key, value type 9 (array), element type 8 (string), count, then the strings.
  const tokensKey = original.indexOf("tokenizer.ggml.tokens");
  assert.equal(original.readBigUInt64LE(tokensKey - 8), 21n);
  const tokensType = tokensKey + 21;
  assert.deepEqual([original.readUInt32LE(tokensType), original.readUInt32LE(tokensType + 4)], [9, 8]);
  const tokensCount = tokensType + 8;
  const firstToken = tokensCount + 8;
  const secondToken = firstToken + 8 + Number(original.readBigUInt64LE(firstToken));
  // The first tensor description follows the metadata: name length, name, dimension count.
  const tensorInfo = info.metadataSize;
  const firstDims = tensorInfo + 8 + Number(original.readBigUInt64LE(tensorInfo));
  assert.ok(original.readUInt32LE(firstDims) >= 1 && original.readUInt32LE(firstDims) <= 4);

  const set = (offset: number, value: bigint, width: 4 | 8 = 8): Buffer => {
    const bytes = Buffer.from(original);
    if (width === 8) bytes.writeBigUInt64LE(value, offset);
    else bytes.writeUInt32LE(Number(value), offset);
    return bytes;
  };
  const left = (after: number) => size - after;
  const entry = `metadata entry 1 of ${pairs}`;
  return {
    original,
    crafted: [
      {
        name: "the first key's length one past the file's end (node-llama-cpp spun)",
        bytes: set(24, BigInt(size + 1)),
        expected: new RegExp(
          `^truncated or damaged: the key of ${entry} declares ${size + 1} bytes, more than the ${left(32)} left in the file$`,
        ),
      },
      {
        name: "the first key's length 2^31 (node-llama-cpp aborted the process)",
        bytes: set(24, 2n ** 31n),
        expected: new RegExp(`^truncated or damaged: the key of ${entry} declares 2147483648 bytes`),
      },
      {
        name: "a tensor's dimension count 2^32-1 (node-llama-cpp spun)",
        bytes: set(firstDims, 0xffffffffn, 4),
        expected: /^damaged: tensor description 1 of \d+ declares 4294967295 dimensions, more than ggml's 4$/,
      },
      {
        name: "a tensor's dimension count 5",
        bytes: set(firstDims, 5n, 4),
        expected: /^damaged: tensor description 1 of \d+ declares 5 dimensions, more than ggml's 4$/,
      },
      {
        name: "a string-array element's length past the file's end",
        bytes: set(secondToken, BigInt(size)),
        expected: new RegExp(
          `^truncated or damaged: string 2 of the array in metadata entry \\d+ of ${pairs} declares ${size} bytes, more than the \\d+ left in the file$`,
        ),
      },
      {
        name: "a string-array element's length 2^64-1",
        bytes: set(secondToken, 2n ** 64n - 1n),
        expected:
          /^truncated or damaged: string 2 of the array in metadata entry \d+ of \d+ declares 18446744073709551615 bytes/,
      },
      {
        name: "an array count of 2^62",
        bytes: set(tokensCount, 2n ** 62n),
        expected:
          /^truncated or damaged: metadata entry \d+ of \d+ declares an array of 4611686018427387904 elements, more than the \d+ bytes left in the file can hold$/,
      },
      {
        name: "an array count that fits 8-byte lengths but not the strings' bytes",
        bytes: set(tokensCount, BigInt(Math.floor(left(firstToken) / 8))),
        expected:
          /^truncated or damaged: (metadata entry \d+ of \d+ runs past the end of the file|string \d+ of the array in metadata entry \d+ of \d+ declares \d+ bytes)/,
      },
      {
        name: "a value type out of range",
        bytes: set(firstType, 99n, 4),
        expected: new RegExp(`^damaged: ${entry} has value type 99, which GGUF does not define \\(0 to 12\\)$`),
      },
      {
        name: "an array's element type out of range",
        bytes: set(tokensType + 4, 13n, 4),
        expected:
          /^damaged: metadata entry \d+ of \d+ is an array of value type 13, which GGUF does not define \(0 to 12\)$/,
      },
      {
        name: "the file cut inside the tensor descriptions",
        bytes: original.subarray(0, firstDims + 2),
        expected: new RegExp(
          `^truncated or damaged: tensor description 1 of \\d+ runs past the end of the file \\(${firstDims + 2} bytes\\)$`,
        ),
      },
    ],
  };
}

/** A GGUF of the given metadata entries (already encoded: type and value) and no tensors. */
function ggufOf(entries: [string, Buffer][]): Buffer {
  const head = Buffer.alloc(24);
  head.write("GGUF", 0, "latin1");
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(0n, 8);
  head.writeBigUInt64LE(BigInt(entries.length), 16);
  const parts: Buffer[] = [head];
  for (const [key, value] of entries) {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(key.length));
    parts.push(length, Buffer.from(key, "latin1"), value);
  }
  return Buffer.concat(parts);
}

const u32 = (value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
};
const u64 = (value: number): Buffer => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value));
  return bytes;
};
/** An array value (without its leading type 9) of `depth` nested arrays around two u32s. */
const nested = (depth: number): Buffer =>
  depth === 0 ? Buffer.concat([u32(4), u64(2), u32(1), u32(2)]) : Buffer.concat([u32(9), u64(1), nested(depth - 1)]);

describe("a GGUF's metadata and tensor descriptions are walked before any parser trusts a length in them", () => {
  let original: Buffer;
  let crafted: Crafted[];
  const dir = tempDir("hef-gguf-walk-");
  before(async () => {
    ({ original, crafted } = await craftedFiles());
  });

  test("each hostile length, count or type is refused in one sentence that quotes none of the file's bytes", () => {
    const wrong: string[] = [];
    for (const [i, { name, bytes, expected }] of crafted.entries()) {
      const path = join(dir, `crafted-${i}.gguf`);
      writeFileSync(path, bytes);
      const problem = ggufHeaderProblem(path, bytes.length);
      if (!problem || !expected.test(problem) || QUOTED.test(problem))
        wrong.push(`${name}: ${problem ?? "not refused"}`);
    }
    assert.deepEqual(wrong, []);
  });

  test("real models pass, fast: the tiny test models, and a 1.5B model's 3.5 MB of metadata where one is present", async () => {
    const path = join(dir, "tiny-embed.gguf");
    writeFileSync(path, original);
    assert.equal(ggufHeaderProblem(path, original.length), undefined);
    const generator = await ensureTinyModel("tiny-generator");
    assert.equal(ggufHeaderProblem(generator, statSync(generator).size), undefined);
    const real = resolve("bench/out/models/qwen2.5-coder-1.5b-q4_k_m.gguf");
    const size = statSync(real, { throwIfNoEntry: false })?.size;
    if (size === undefined) return;
    const start = performance.now();
    assert.equal(ggufHeaderProblem(real, size), undefined);
    const ms = performance.now() - start;
    assert.ok(ms < 500, `the walk over ${real} took ${ms.toFixed(0)} ms`);
  });

  test("arrays of arrays are walked, to a depth of 8", () => {
    const ok = join(dir, "nested-ok.gguf");
    writeFileSync(
      ok,
      ggufOf([
        ["a.b", Buffer.concat([u32(9), nested(8)])],
        ["a.c", Buffer.concat([u32(8), u64(3), Buffer.from("xyz")])],
      ]),
    );
    assert.equal(ggufHeaderProblem(ok, statSync(ok).size), undefined);
    const deep = join(dir, "nested-deep.gguf");
    writeFileSync(deep, ggufOf([["a.b", Buffer.concat([u32(9), nested(9)])]]));
    assert.equal(
      ggufHeaderProblem(deep, statSync(deep).size),
      "damaged: metadata entry 1 of 1 nests arrays more than 8 deep",
    );
    const cut = join(dir, "nested-cut.gguf");
    const bytes = ggufOf([["a.b", Buffer.concat([u32(9), nested(3)])]]);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 2));
    assert.equal(
      ggufHeaderProblem(cut, bytes.length - 2),
      "truncated or damaged: metadata entry 1 of 1 declares an array of 2 elements, more than the 6 bytes left in the file can hold",
    );
    const string = ggufOf([["a.c", Buffer.concat([u32(8), u64(3), Buffer.from("xyz")])]]);
    writeFileSync(cut, string.subarray(0, string.length - 7));
    assert.equal(
      ggufHeaderProblem(cut, string.length - 7),
      `truncated or damaged: metadata entry 1 of 1 runs past the end of the file (${string.length - 7} bytes)`,
    );
  });

  test("Select models refuses them before they become a setting", async () => {
    const path = join(dir, "select.gguf");
    writeFileSync(path, crafted[0]!.bytes);
    assert.match(
      (await modelFileProblem(path)) ?? "",
      /^.*select\.gguf: truncated or damaged: the key of metadata entry 1 of \d+ declares \d+ bytes/,
    );
  });

  test(
    "every role the sidecar loads (embedder, generator, fuser, adapter) refuses them at once, in a child that would hang or abort without the walk",
    { timeout: 60_000 },
    () => {
      const paths = crafted.slice(0, 3).map(({ bytes }, i) => {
        const path = join(dir, `role-${i}.gguf`);
        writeFileSync(path, bytes);
        return path;
      });
      const script = `
      const { inspectModelFile } = await import(${JSON.stringify(resolve("sidecar/models/modelFile.ts"))});
      const { readAdapter } = await import(${JSON.stringify(resolve("sidecar/adapter/adapter.ts"))});
      for (const path of ${JSON.stringify(paths)}) {
        for (const role of ["embedder", "generator", "fuser", "adapter"]) {
          const message = await (role === "adapter" ? readAdapter(path) : inspectModelFile(path, role)).then(() => "loaded", (error) => error.message);
          process.stdout.write(JSON.stringify({ path, role, message }) + "\\n");
        }
      }`;
      const child = spawnSync(
        process.execPath,
        ["--max-old-space-size=512", "--import", "tsx", "--input-type=module", "-e", script],
        { encoding: "utf8", timeout: 30_000, killSignal: "SIGKILL" },
      );
      assert.equal(
        child.signal,
        null,
        `the child was killed by ${child.signal}; it wrote: ${child.stdout.slice(-500)}${child.stderr.slice(-500)}`,
      );
      assert.equal(child.status, 0, child.stderr.slice(-1000));
      const results = child.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { path: string; role: string; message: string });
      assert.equal(results.length, paths.length * 4);
      for (const { path, role, message } of results) {
        const { expected, name } = crafted[paths.indexOf(path)]!;
        assert.ok(message.startsWith(`${path}: `), `${name}, ${role}: ${message}`);
        assert.match(message.slice(path.length + 2), expected, `${name}, ${role}`);
      }
    },
  );

  test("a tensor type this llama.cpp does not know is refused with the file's path, naming the tensor escaped", async () => {
    const path = await ensureTinyModel("tiny-embed");
    const bytes = readFileSync(path);
    const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false, readTensorInfo: false });
    const dims = info.metadataSize + 8 + Number(bytes.readBigUInt64LE(info.metadataSize));
    bytes.writeUInt32LE(99, dims + 4 + 8 * bytes.readUInt32LE(dims));
    const damaged = join(tempDir("hef-gguf-type-"), "type99.gguf");
    writeFileSync(damaged, bytes);
    await assert.rejects(inspectModelFile(damaged, "embedder"), (error: Error) => {
      assert.match(
        error.message,
        /type99\.gguf: tensor [\w.]+: unknown ggml type 99 \(a newer llama\.cpp type, or a damaged file\)$/,
      );
      return true;
    });
  });
});
