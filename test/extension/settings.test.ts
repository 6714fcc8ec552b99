import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { needsRestart, readSettings, RESTART_KEYS } from "../../extension/settings";

const reader = (values: Record<string, unknown>) => ({ get: <T>(key: string) => values[key] as T | undefined });

describe("settings", () => {
  test("defaults match the manifest's", () => {
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    const properties = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;
    const fromManifest = Object.fromEntries(
      Object.entries(properties).map(([key, p]) => [key.slice("hef.".length), p.default]),
    );
    assert.deepEqual(readSettings(reader(fromManifest)), readSettings(reader({})));
  });

  test("wrong types fall back to the defaults; blank model paths mean the embedded default", () => {
    const settings = readSettings(
      reader({
        k: -3,
        mode: "fast",
        backend: "gpu",
        "models.embedder": "  ",
        "models.generator": "/m/g.gguf",
        exclude: ["gen/", 3],
      }),
    );
    assert.equal(settings.k, 32);
    assert.equal(settings.mode, "hef");
    assert.equal(settings.backend, "auto");
    assert.deepEqual(settings.models, { embedder: undefined, generator: "/m/g.gguf", adapter: undefined });
    assert.deepEqual(settings.exclude, ["gen/"]);
    assert.equal(readSettings(reader({ entities: "yes", multiline: 1 })).entities, false);
    assert.equal(readSettings(reader({ entities: true })).entities, true);
  });

  test("models, backend and excludes restart the sidecar; the rest applies live", () => {
    const before = readSettings(reader({}));
    const changes: Record<string, unknown>[] = [
      { "models.embedder": "/m/e.gguf" },
      { "models.adapter": "/m/a.bin" },
      { backend: "cpu" },
      { exclude: ["gen/"] },
    ];
    for (const change of changes)
      assert.equal(needsRestart(before, readSettings(reader(change))), true, JSON.stringify(change));
    const live = {
      mode: "rag",
      k: 8,
      debounceMs: 50,
      maxTokens: 16,
      entities: true,
      multiline: true,
      enabledLanguages: ["python"],
      enable: false,
    };
    assert.equal(needsRestart(before, readSettings(reader(live))), false);
  });

  test("only a change of the effective value restarts: a blank model path is the default it replaces", () => {
    const unset = readSettings(reader({}));
    assert.equal(needsRestart(unset, readSettings(reader({ "models.embedder": "" }))), false);
    assert.equal(needsRestart(unset, readSettings(reader({ exclude: [] }))), false);
    const chosen = readSettings(reader({ "models.embedder": "/m/e.gguf" }));
    assert.equal(needsRestart(chosen, unset), true, "back to the embedded default");
    assert.equal(needsRestart(chosen, readSettings(reader({ "models.embedder": "/m/e.gguf" }))), false);
  });

  test("the manifest says which settings restart the sidecar", () => {
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    for (const [key, property] of Object.entries(
      manifest.contributes.configuration.properties as Record<string, { description: string }>,
    )) {
      const restarts = RESTART_KEYS.some((k) => key === `hef.${k}` || key.startsWith(`hef.${k}.`));
      assert.equal(property.description.includes("restarts the sidecar"), restarts, key);
    }
  });
});
