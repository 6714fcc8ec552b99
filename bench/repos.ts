import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * Real code for the benchmarks, copied from what this machine has installed so the numbers can
 * be reproduced without a network: "small" is two npm packages of the project (~100 files),
 * "large" is the Python standard library of the machine's python3 (~1,800 files, tests included).
 */
export type RepoName = "small" | "large";

const OUT = resolve("bench/out/repos");

export function benchRepo(name: RepoName): string {
  const dir = join(OUT, name);
  if (existsSync(dir)) return dir;
  mkdirSync(dir, { recursive: true });
  if (name === "small") {
    for (const pkg of ["vscode-languageserver", "vscode-jsonrpc"]) {
      cpSync(resolve("node_modules", pkg), join(dir, pkg), { recursive: true });
    }
  } else {
    const stdlib = execFileSync("python3", ["-c", "import os; print(os.path.dirname(os.__file__))"], {
      encoding: "utf8",
    }).trim();
    cpSync(stdlib, join(dir, "python-stdlib"), {
      recursive: true,
      filter: (src) => !/(site-packages|__pycache__|lib-dynload|config-3)/.test(src),
    });
  }
  return dir;
}
