// A throwaway code-server (VS Code 1.100.3, web workbench + a Node extension host) with fresh state:
// its user data, extensions, HOME and TMPDIR all live in one temp folder, removed on stop().
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2E_DIR } from "./setup.mjs";

const CODE_SERVER = join(E2E_DIR, "node_modules", "code-server", "out", "node", "entry.js");

/**
 * Makes the editor's folders and installs the extension (a .vsix) into its extensions folder.
 * @param {{ vsix: string, workspaceFrom: string, log?: (m: string) => void }} options
 */
export function prepareEditor({ vsix, workspaceFrom, log = () => {} }) {
  const work = mkdtempSync(join(tmpdir(), "hef-e2e-"));
  const dirs = {
    work,
    home: join(work, "home"),
    tmp: join(work, "tmp"),
    userData: join(work, "user-data"),
    extensions: join(work, "extensions"),
    workspace: join(work, "workspace", "shop"),
    config: join(work, "config.yaml"),
  };
  for (const dir of [dirs.home, dirs.tmp, join(dirs.userData, "User"), dirs.extensions])
    mkdirSync(dir, { recursive: true });
  copyFileSync(join(E2E_DIR, "settings.json"), join(dirs.userData, "User", "settings.json"));
  writeFileSync(dirs.config, "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n");
  cpSync(workspaceFrom, dirs.workspace, {
    recursive: true,
    filter: (p) => !/[\\/](\.hef-cache|__pycache__|\.venv)([\\/]|$)/.test(p),
  });

  const env = editorEnv(dirs);
  const started = Date.now();
  const install = spawnSync(
    process.execPath,
    [CODE_SERVER, ...baseArgs(dirs), "--install-extension", vsix, "--force"],
    {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    },
  );
  if (install.status !== 0 || !/successfully installed/i.test(install.stdout)) {
    throw new Error(
      `code-server --install-extension ${vsix} failed (exit ${install.status}):\n${install.stdout}${install.stderr}`,
    );
  }
  const installed = readdirSync(dirs.extensions).filter((name) => !name.startsWith(".") && name !== "extensions.json");
  log(`installed ${installed.join(", ")} in ${Date.now() - started} ms`);
  return { ...dirs, extensionDir: installed.length === 1 ? join(dirs.extensions, installed[0]) : undefined };
}

function editorEnv(dirs) {
  const env = { ...process.env, HOME: dirs.home, TMPDIR: dirs.tmp };
  for (const key of ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "VSCODE_IPC_HOOK_CLI", "HEF_CACHE_HOME"])
    delete env[key];
  return env;
}

const baseArgs = (dirs) => [
  "--config",
  dirs.config,
  "--user-data-dir",
  dirs.userData,
  "--extensions-dir",
  dirs.extensions,
];

/**
 * Starts the server in its own process group (so that stop() also ends the extension host, the
 * sidecar and the file watcher) and resolves with its URL once it listens.
 */
export async function startEditor(dirs, { log = () => {} } = {}) {
  const serverLog = join(dirs.work, "server.log");
  const args = [
    CODE_SERVER,
    ...baseArgs(dirs),
    "--bind-addr",
    "127.0.0.1:0",
    "--auth",
    "none",
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--disable-getting-started-override",
    dirs.workspace,
  ];
  const child = spawn(process.execPath, args, {
    env: editorEnv(dirs),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const append = (data) => {
    output += data.toString();
    writeFileSync(serverLog, output);
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  const started = Date.now();
  const url = await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) done(null, match[1]);
      else if (Date.now() - started > 30_000) done(new Error(`code-server did not listen within 30 s:\n${output}`));
    }, 50);
    const exited = (code) => done(new Error(`code-server exited (${code}) before listening:\n${output}`));
    child.once("exit", exited);
    function done(error, value) {
      clearInterval(timer);
      child.off("exit", exited);
      if (error) reject(error);
      else resolve(value);
    }
  }).catch((error) => {
    killGroup(child);
    throw error;
  });
  log(`code-server listening at ${url} after ${Date.now() - started} ms`);
  return {
    url,
    logsDir: join(dirs.userData, "logs"),
    serverOutput: () => output,
    async stop() {
      await killGroup(child);
    },
  };
}

function killGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return Promise.resolve();
  }
  const force = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // the editor's process group is gone already
    }
  }, 3000);
  return exited.finally(() => clearTimeout(force));
}

/** The files of every extension-host log under the logs folder whose name ends with `suffix`. */
export function findLogs(logsDir, test) {
  if (!existsSync(logsDir)) return [];
  return readdirSync(logsDir, { recursive: true })
    .map(String)
    .filter(test)
    .map((p) => join(logsDir, p));
}

export const readText = (file) => (existsSync(file) ? readFileSync(file, "utf8") : "");

export function removeEditor(dirs) {
  rmSync(dirs.work, { recursive: true, force: true });
}
