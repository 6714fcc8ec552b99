// `hef train --repos DIR [DIR ...] --out DIR`: the training recipe (training/, Python with PyTorch) on
// the user's repositories. Python is needed to train, never to index or complete: this verb only
// finds the project's training environment and runs the recipe there, handing it this very CLI
// (node and script) for the `hef tasks` and `hef export` steps, so both halves agree.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { findPackageRoot } from "../util/packageRoot";
import { backendOf, UsageError, type Values } from "./args";

export const PRESETS = ["smoke", "cpu", "gpu"] as const;

/** The training environment's python, or an error that says how to make it. */
export function trainingPython(root: string = findPackageRoot()): string {
  const python = join(root, ".venv", "bin", "python");
  const setup = join(root, "scripts", "setup-training.mjs");
  const ready = existsSync(python) && existsSync(setup) && spawnSync(process.execPath, [setup, "--check"]).status === 0;
  if (!ready) {
    throw new Error(
      `the training environment is not set up (${join(root, ".venv")} with training/requirements.txt): run \`npm run setup:training\` in ${root} first`,
    );
  }
  return python;
}

/** `hef train` takes `--repos A B C`: the first after --repos, the rest as positionals. */
export function trainArguments(values: Values, extra: readonly string[]): string[] {
  const repos = [values.repos, ...extra].filter((r): r is string => r !== undefined);
  if (repos.length === 0) throw new UsageError("train needs --repos <dir> [<dir> ...]");
  if (!values.out) throw new UsageError("train needs --out <dir>");
  const preset = values.preset ?? "cpu";
  if (!(PRESETS as readonly string[]).includes(preset))
    throw new UsageError(`--preset must be one of ${PRESETS.join(", ")}, got "${preset}"`);
  const backend = backendOf(values);
  const args = [
    "-m",
    "hef_training",
    "train",
    "--repos",
    ...repos.map((r) => resolve(r)),
    "--out",
    resolve(values.out),
    "--preset",
    preset,
    "--device",
    backend,
  ];
  if (values.generator) args.push("--generator", resolve(values.generator));
  if (values.embedder) args.push("--embedder", resolve(values.embedder));
  if (values.seed !== undefined) args.push("--seed", values.seed);
  if (values.until !== undefined) args.push("--until", values.until);
  for (const assignment of values.set ?? []) args.push("--set", assignment);
  if (values.json) args.push("--quiet");
  return args;
}

export async function runTrain(values: Values, extra: readonly string[]): Promise<void> {
  const args = trainArguments(values, extra);
  const python = trainingPython();
  // This process's own command line: node, its loader flags (tsx in tests), the script.
  const cli = [process.execPath, ...process.execArgv, process.argv[1]!];
  const child = spawn(python, args, { stdio: "inherit", env: { ...process.env, HEF_CLI: JSON.stringify(cli) } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const code = await new Promise<number>((done) =>
    child.on("close", (status, signal) => done(status ?? (signal ? 1 : 0))),
  );
  if (code !== 0)
    throw new Error(`training stopped (exit ${code}); run the same command again to resume where it stopped`);
}
