// Probe (not part of the suite): crafted GGUF files for model loading (issue 17, item 7). Takes the
// tiny test embedder and, per try, sets one of its length or count fields (a key's or string's
// length, an array's type or length, a tensor's dimensions, type or offset) to a hostile value, or
// flips random bits in its header. Each file goes to NativeEmbedder.load (the header check, then
// llama.cpp through the addon, as the product loads it) in a worker process with a time and memory limit.
//   node --import tsx test/hostile/ggufFuzz.probe.ts [tries=200] [seconds per try=20]
// Prints one line per outcome kind and exits 1 if any try hung, crashed or grew past the limit.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";

if (process.argv[2] === "--worker") {
  // One file per line on stdin; one JSON line per file on stdout.
  const { NativeEmbedder } = await import("../../sidecar/models/embedder");
  const lines = readFileSync(0, "utf8").split("\n").filter(Boolean);
  for (const path of lines) {
    process.stdout.write(`start ${path}\n`);
    try {
      const embedder = await NativeEmbedder.load(path, { backend: "cpu" });
      const [vector] = await embedder.embed(["def f():\n    return 1\n"]);
      await embedder.dispose();
      process.stdout.write(`${JSON.stringify({ path, outcome: `loaded (d=${vector!.length})` })}\n`);
    } catch (error) {
      process.stdout.write(
        `${JSON.stringify({
          path,
          outcome: `refused: ${String((error as Error).message)
            .replace(/\/\S+\.gguf/g, "<file>")
            .slice(0, 120)}`,
        })}\n`,
      );
    }
  }
  process.exit(0);
}

const tries = Number(process.argv[2] ?? 200);
const limitS = Number(process.argv[3] ?? 20);
const original = readFileSync(await ensureTinyModel("tiny-embed"));

/** Offsets of every length, count, type and offset field of the header, with their width. */
function fields(buf: Buffer): { offset: number; width: 4 | 8; what: string }[] {
  const out: { offset: number; width: 4 | 8; what: string }[] = [
    { offset: 8, width: 8, what: "tensor count" },
    { offset: 16, width: 8, what: "pair count" },
  ];
  let at = 24;
  const str = (what: string) => {
    out.push({ offset: at, width: 8, what });
    at += 8 + Number(buf.readBigUInt64LE(at));
  };
  const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number, what: string) => {
    if (type === 8) return str(`${what} string length`);
    if (type === 9) {
      out.push({ offset: at, width: 4, what: `${what} array type` });
      const itemType = buf.readUInt32LE(at);
      out.push({ offset: at + 4, width: 8, what: `${what} array length` });
      const n = Number(buf.readBigUInt64LE(at + 4));
      at += 12;
      if (itemType === 8)
        for (let i = 0; i < n; i++) {
          if (i < 3) str(`${what}[${i}] length`);
          else at += 8 + Number(buf.readBigUInt64LE(at));
        }
      else at += n * SIZES[itemType]!;
      return;
    }
    at += SIZES[type]!;
  };
  const pairs = Number(buf.readBigUInt64LE(16));
  for (let i = 0; i < pairs; i++) {
    const keyAt = at;
    str("key length");
    const key = buf.toString("utf8", keyAt + 8, at);
    out.push({ offset: at, width: 4, what: `${key} type` });
    const type = buf.readUInt32LE(at);
    at += 4;
    value(type, key);
  }
  const tensors = Number(buf.readBigUInt64LE(8));
  for (let i = 0; i < tensors; i++) {
    str("tensor name length");
    out.push({ offset: at, width: 4, what: "tensor dimension count" });
    const dims = buf.readUInt32LE(at);
    at += 4;
    for (let d = 0; d < dims; d++, at += 8) out.push({ offset: at, width: 8, what: "tensor dimension" });
    out.push({ offset: at, width: 4, what: "tensor type" }, { offset: at + 4, width: 8, what: "tensor offset" });
    at += 12;
  }
  return out;
}

const all = fields(original);
const HOSTILE64 = [2n ** 62n, 2n ** 64n - 1n, 2n ** 32n, 0n, BigInt(original.length) + 1n, 2n ** 31n];
const HOSTILE32 = [0xffffffff, 0x80000000, 13, 99, 0];
const dir = mkdtempSync(join(tmpdir(), "hef-gguf-fuzz-"));
const made: { path: string; what: string }[] = [];
for (let i = 0; i < tries; i++) {
  const buf = Buffer.from(original);
  let what: string;
  if (i % 5 === 4) {
    const flips = 1 + (i % 7);
    for (let f = 0; f < flips; f++)
      buf[Math.floor(Math.random() * Math.min(buf.length, 64 * 1024))]! ^= 1 << Math.floor(Math.random() * 8);
    what = `${flips} random bit flips in the first 64 KiB`;
  } else {
    const field = all[Math.floor(Math.random() * all.length)]!;
    if (field.width === 8) {
      const v = HOSTILE64[i % HOSTILE64.length]!;
      buf.writeBigUInt64LE(v, field.offset);
      what = `${field.what} = ${v}`;
    } else {
      const v = HOSTILE32[i % HOSTILE32.length]!;
      buf.writeUInt32LE(v, field.offset);
      what = `${field.what} = ${v}`;
    }
  }
  const path = join(dir, `try-${i}.gguf`);
  writeFileSync(path, buf);
  made.push({ path, what });
}

/** Runs the worker over the files from `from` on; resolves with the index it stopped at (a hang or crash stops it). */
const outcomes = new Map<string, string[]>();
const record = (outcome: string, what: string) => outcomes.set(outcome, [...(outcomes.get(outcome) ?? []), what]);
let next = 0;
while (next < made.length) {
  const worker = spawn(
    process.execPath,
    ["--max-old-space-size=1024", "--import", "tsx", "test/hostile/ggufFuzz.probe.ts", "--worker"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  worker.stdin.end(
    made
      .slice(next)
      .map((m) => m.path)
      .join("\n"),
  );
  let buffered = "";
  let current: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => worker.kill("SIGKILL"), limitS * 1000);
  };
  arm();
  worker.stdout.on("data", (data: Buffer) => {
    buffered += data.toString();
    let nl;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith("start ")) {
        current = made.findIndex((m) => m.path === line.slice(6));
        arm();
      } else if (line.startsWith("{")) {
        const { outcome } = JSON.parse(line) as { outcome: string };
        record(outcome.replace(/\d+/g, "N"), made[current!]!.what);
        next = current! + 1;
      }
    }
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    worker.on("exit", (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  if (code === 0) break;
  // The file under way hung (killed at the limit) or crashed the process.
  const stuck = current ?? next;
  record(signal === "SIGKILL" ? `HUNG (> ${limitS} s)` : `CRASHED (exit ${code}, ${signal})`, made[stuck]!.what);
  next = stuck + 1;
}
rmSync(dir, { recursive: true, force: true });
let bad = 0;
for (const [outcome, whats] of [...outcomes].sort((a, b) => b[1].length - a[1].length)) {
  if (/^(HUNG|CRASHED)/.test(outcome)) bad += whats.length;
  console.log(`${String(whats.length).padStart(4)}  ${outcome}   e.g. ${[...new Set(whats)].slice(0, 3).join("; ")}`);
}
console.log(`${tries} tries, ${bad} hung or crashed`);
process.exit(bad > 0 ? 1 : 0);
