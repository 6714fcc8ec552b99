import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, test } from "node:test";
import type * as select from "../../extension/selectModels";
import { downloadLine } from "../../common/downloadLines";
import { DEFAULT_SETTINGS, fakeVscode, loadWithVscode } from "./fakeVscode";
import { tempDir } from "../helpers/repos";

const fake = fakeVscode();
const { selectModels, reportModelFailure, USE_DEFAULTS } = loadWithVscode<typeof select>(
  "../../extension/selectModels.ts",
  fake.api,
);

/**
 * Stands in for `hef download <uri> --dir <dir> --json` (its lines written by the CLI's own
 * downloadLine, common/downloadLines.ts), by the URI's file name: "stall" sends
 * one progress line and then nothing, "ok" downloads, anything else fails as the CLI does. It
 * leaves its pid in <dir>/pid.
 */
const FAKE_CLI = `
import { writeFileSync } from "node:fs";
const [, , , uri, , dir] = process.argv;
writeFileSync(dir + "/pid", String(process.pid));
const write = (line) => process.stdout.write(line);
if (uri.endsWith("stall.gguf")) {
  write(${JSON.stringify(downloadLine({ downloaded: 10, total: 100 }))});
  setInterval(() => {}, 1000);
} else if (uri.endsWith("ok.gguf")) {
  writeFileSync(dir + "/ok.gguf", Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.alloc(16)]));
  write(${JSON.stringify(downloadLine({ downloaded: 50, total: 100 }))});
  write(${JSON.stringify(downloadLine({ downloaded: 100, total: 100 }))});
  write(${JSON.stringify(downloadLine({ path: "DIR/ok.gguf" }))}.replace('"DIR/ok.gguf"', JSON.stringify(dir + "/ok.gguf")));
} else {
  process.stderr.write("hef: could not download " + uri + ": no network connection / host unreachable (getaddrinfo ENOTFOUND example.org)\\n");
  process.exit(1);
}
`;

const SHIPPED_GENERATOR = resolve("models/default/generator.gguf");

/** The real CLI, from its sources, started as the extension starts the bundle. */
const REAL_CLI = resolve("test/helpers/hefCli.mjs");

const logs: string[] = [];
const log = {
  info: (line: string) => void logs.push(line),
  error: (line: string) => void logs.push(`error: ${line}`),
} as never;

function fakeCli(): string {
  const path = join(tempDir("hef-fake-cli-"), "hef.mjs");
  writeFileSync(path, FAKE_CLI);
  return path;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function pidIn(directory: string): Promise<number> {
  const file = join(directory, "pid");
  while (!existsSync(file)) await sleep(20);
  return Number(readFileSync(file, "utf8"));
}

beforeEach(() => {
  fake.shown.errors.length = 0;
  fake.shown.progress.length = 0;
  fake.settingsWritten.length = 0;
  logs.length = 0;
});

describe("HEF: Select models", () => {
  test("the embedded default removes the setting rather than writing a blank one", async () => {
    fake.answers.quickPicks = ["embedder", "Embedded default"];
    await selectModels(
      { ...DEFAULT_SETTINGS, models: { embedder: "/m/e.gguf" } },
      { cli: fakeCli(), directory: tempDir() },
      log,
    );
    assert.deepEqual(fake.settingsWritten, [
      { key: "models.embedder", value: undefined, target: fake.api.ConfigurationTarget.Global },
    ]);
  });

  test("a local file is written as the model's path", async () => {
    fake.answers.quickPicks = ["generator", "Local .gguf file…"];
    fake.answers.file = SHIPPED_GENERATOR;
    await selectModels(DEFAULT_SETTINGS, { cli: fakeCli(), directory: tempDir() }, log);
    assert.deepEqual(fake.settingsWritten, [
      { key: "models.generator", value: SHIPPED_GENERATOR, target: fake.api.ConfigurationTarget.Global },
    ]);
  });

  test("a file that is not a GGUF model is refused with the reason, and the setting is left alone", async () => {
    const notes = join(tempDir(), "notes.gguf");
    writeFileSync(notes, "a text file renamed .gguf, long enough for a header\n");
    for (const [file, reason] of [
      [notes, /notes\.gguf: not a GGUF file\./],
      [join(tempDir(), "missing.gguf"), /missing\.gguf cannot be read \(ENOENT\)/],
      [tempDir(), /is not a regular file/],
    ] as const) {
      fake.shown.errors.length = 0;
      fake.answers.quickPicks = ["generator", "Local .gguf file…"];
      fake.answers.file = file;
      await selectModels(DEFAULT_SETTINGS, { cli: fakeCli(), directory: tempDir() }, log);
      assert.equal(fake.shown.errors.length, 1);
      assert.match(fake.shown.errors[0]!, reason);
      assert.match(fake.shown.errors[0]!, /The generator model was not changed\.$/);
    }
    assert.ok(!fake.shown.errors[0]!.includes("a text file"), "the file's bytes are never shown");
    assert.deepEqual(fake.settingsWritten, []);
  });

  test("a download shows its progress and writes the downloaded path", async () => {
    const directory = tempDir();
    fake.answers.quickPicks = ["embedder", "Download from a model URI…"];
    fake.answers.input = "hf:owner/repo/ok.gguf";
    await selectModels(DEFAULT_SETTINGS, { cli: fakeCli(), directory }, log);
    assert.deepEqual(fake.shown.progress, [
      { message: "0 of 0 MiB", increment: 50 },
      { message: "0 of 0 MiB", increment: 50 },
    ]);
    assert.deepEqual(fake.settingsWritten, [
      { key: "models.embedder", value: join(directory, "ok.gguf"), target: fake.api.ConfigurationTarget.Global },
    ]);
  });

  test("a download that receives nothing for the stall time is killed and reported; nothing is written", async () => {
    const directory = tempDir();
    fake.answers.quickPicks = ["embedder", "Download from a model URI…"];
    fake.answers.input = "hf:owner/repo/stall.gguf";
    const started = performance.now();
    await selectModels(DEFAULT_SETTINGS, { cli: fakeCli(), directory, stallTimeoutMs: 500 }, log);
    assert.ok(performance.now() - started < 10_000);
    assert.deepEqual(fake.shown.errors, [
      "HEF: could not download hf:owner/repo/stall.gguf: no network connection / host unreachable; pick a local .gguf file instead",
    ]);
    assert.equal(isRunning(await pidIn(directory)), false, "the child is gone");
    assert.deepEqual(fake.settingsWritten, []);
  });

  test("cancelling the notification kills the download and shows no error", async () => {
    const directory = tempDir();
    fake.answers.quickPicks = ["embedder", "Download from a model URI…"];
    fake.answers.input = "hf:owner/repo/stall.gguf";
    const selecting = selectModels(DEFAULT_SETTINGS, { cli: fakeCli(), directory }, log);
    const pid = await pidIn(directory);
    assert.equal(isRunning(pid), true);
    fake.cancelProgress();
    await selecting;
    assert.equal(isRunning(pid), false, "the child is gone");
    assert.deepEqual(fake.shown.errors, []);
    assert.deepEqual(fake.settingsWritten, []);
    assert.ok(logs.some((line) => line.includes("cancelled")));
  });

  test("the CLI's own failure is shown with what to do instead", async () => {
    fake.answers.quickPicks = ["adapter", "Download from a model URI…"];
    fake.answers.input = "https://example.org/a.gguf";
    await selectModels(DEFAULT_SETTINGS, { cli: fakeCli(), directory: tempDir() }, log);
    assert.deepEqual(fake.shown.errors, [
      "HEF: could not download https://example.org/a.gguf: no network connection / host unreachable (getaddrinfo ENOTFOUND example.org); pick a local .gguf file instead",
    ]);
  });

  test("the real hef download against an unreachable host fails fast with one line", { timeout: 60_000 }, async () => {
    fake.answers.quickPicks = ["embedder", "Download from a model URI…"];
    fake.answers.input = "https://127.0.0.1:9/x.gguf";
    const started = performance.now();
    await selectModels(DEFAULT_SETTINGS, { cli: REAL_CLI, directory: tempDir(), stallTimeoutMs: 30_000 }, log);
    assert.ok(performance.now() - started < 30_000, "the CLI gave up by itself, before the stall timeout");
    assert.equal(fake.shown.errors.length, 1);
    assert.match(
      fake.shown.errors[0]!,
      /^HEF: could not download https:\/\/127\.0\.0\.1:9\/x\.gguf: no network connection \/ host unreachable \(.+\); pick a local \.gguf file instead$/,
    );
    assert.deepEqual(fake.settingsWritten, []);
  });

  test("models that fail to load are said in a notification that offers the way back to the defaults", async () => {
    const show = fake.api.window.showErrorMessage;
    const asked: { message: string; actions: string[] }[] = [];
    fake.api.window.showErrorMessage = (async (message: string, ...actions: string[]) => (
      asked.push({ message, actions }),
      USE_DEFAULTS
    )) as never;
    try {
      await reportModelFailure(
        { error: "loading the models failed: /m/notes.gguf is not a GGUF file" },
        { ...DEFAULT_SETTINGS, models: { generator: "/m/notes.gguf" } },
        log,
      );
    } finally {
      fake.api.window.showErrorMessage = show;
    }
    assert.deepEqual(asked, [
      {
        message:
          "HEF: loading the models failed: /m/notes.gguf is not a GGUF file. HEF completes nothing until the models load.",
        actions: [USE_DEFAULTS, "Show log"],
      },
    ]);
    assert.deepEqual(fake.settingsWritten, [
      { key: "models.generator", value: undefined, target: fake.api.ConfigurationTarget.Global },
    ]);
  });

  test("the defaults serving instead of the chosen models is a warning with the same way back", async () => {
    const show = fake.api.window.showWarningMessage;
    const asked: { message: string; actions: string[] }[] = [];
    fake.api.window.showWarningMessage = (async (message: string, ...actions: string[]) => (
      asked.push({ message, actions }),
      undefined
    )) as never;
    try {
      await reportModelFailure(
        {
          fallback:
            "loading the models failed: /m/notes.gguf: not a GGUF file; completing with the embedded default models meanwhile",
        },
        { ...DEFAULT_SETTINGS, models: { generator: "/m/notes.gguf" } },
        log,
      );
    } finally {
      fake.api.window.showWarningMessage = show;
    }
    assert.deepEqual(asked, [
      {
        message:
          "HEF: loading the models failed: /m/notes.gguf: not a GGUF file; completing with the embedded default models meanwhile.",
        actions: [USE_DEFAULTS, "Show log"],
      },
    ]);
    assert.deepEqual(fake.settingsWritten, [], "nothing changes until the user says so");
  });
});
