// The project's training Python (.venv, made by scripts/setup-training.mjs), for tests that check
// what training writes against what the sidecar loads.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { join } from "node:path";
import { findPackageRoot } from "../../sidecar/util/packageRoot";

const root = findPackageRoot();

/** Makes the environment when missing (about a minute once, nothing afterwards); throws with pip's words when that fails. */
export function trainingPython(): string {
  const setup = spawnSync(process.execPath, [join(root, "scripts", "setup-training.mjs"), "--quiet"], {
    cwd: root,
    encoding: "utf8",
  });
  if (setup.status !== 0) throw new Error(`scripts/setup-training.mjs failed (exit ${setup.status}):\n${setup.stderr}`);
  return join(root, ".venv", "bin", "python");
}

/** Runs the training Python; a non-zero exit fails with its stderr. */
export function runPython(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): SpawnSyncReturns<string> {
  const result = spawnSync(trainingPython(), args, {
    cwd: root,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 600_000,
    env: { ...process.env, ...options.env },
  });
  if (result.status !== 0)
    throw new Error(`python ${args.join(" ")} exited with ${result.status ?? result.signal}:\n${result.stderr}`);
  return result;
}
