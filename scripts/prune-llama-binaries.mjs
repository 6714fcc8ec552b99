// npm installs node-llama-cpp's prebuilt binaries for every platform and GPU (CUDA alone is
// ~540 MB). Keep the CPU build of this platform, and a GPU build only where its driver exists.
// HEF_KEEP_ALL_LLAMA_BINARIES=1 keeps everything (e.g. to package for another machine).
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";

const dir = join("node_modules", "@node-llama-cpp");
if (process.env.HEF_KEEP_ALL_LLAMA_BINARIES === "1" || !existsSync(dir)) process.exit(0);

function hasCuda() {
  return existsSync("/proc/driver/nvidia/version") || commandWorks("nvidia-smi", ["-L"]);
}
function hasVulkan() {
  if (process.platform !== "linux" && process.platform !== "win32") return false;
  if (process.platform === "win32") return existsSync("C:\\Windows\\System32\\vulkan-1.dll");
  return [
    "/usr/lib/x86_64-linux-gnu/libvulkan.so.1",
    "/usr/lib/aarch64-linux-gnu/libvulkan.so.1",
    "/usr/lib64/libvulkan.so.1",
    "/usr/lib/libvulkan.so.1",
  ].some(existsSync);
}
function commandWorks(command, args) {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
function sizeOf(path) {
  const stat = statSync(path);
  return stat.isDirectory() ? readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0) : stat.size;
}

const platform = { win32: "win", darwin: "mac", linux: "linux" }[process.platform] ?? process.platform;
const base = `${platform}-${process.arch}`;
const keep = new Set([base, `${base}-metal`]);
if (hasCuda()) keep.add(`${base}-cuda`).add(`${base}-cuda-ext`);
if (hasVulkan()) keep.add(`${base}-vulkan`);

let freed = 0;
const removed = [];
for (const name of readdirSync(dir)) {
  if (keep.has(name)) continue;
  const path = join(dir, name);
  freed += sizeOf(path);
  rmSync(path, { recursive: true, force: true });
  removed.push(name);
}
if (removed.length > 0) {
  console.log(
    `hef: removed llama.cpp binaries not usable here (${removed.join(", ")}): ${(freed / 2 ** 20).toFixed(0)} MB`,
  );
}
