import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { needsRestart, readSettings, RESTART_KEYS } from "../../extension/settings";

const reader = (values: Record<string, unknown>) => ({ get: <T>(key: string) => values[key] as T | undefined });
const changeOf = (...keys: string[]) => ({ affectsConfiguration: (section: string) => keys.some((k) => k === section || k.startsWith(`${section}.`)) });

describe("settings", () => {
  test("defaults match the manifest's", () => {
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    const properties = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;
    const fromManifest = Object.fromEntries(Object.entries(properties).map(([key, p]) => [key.slice("hef.".length), p.default]));
    assert.deepEqual(readSettings(reader(fromManifest)), readSettings(reader({})));
  });

  test("wrong types fall back to the defaults; blank model paths mean the embedded default", () => {
    const settings = readSettings(reader({ k: -3, mode: "fast", backend: "gpu", "models.embedder": "  ", "models.generator": "/m/g.gguf", exclude: ["gen/", 3] }));
    assert.equal(settings.k, 32);
    assert.equal(settings.mode, "hef");
    assert.equal(settings.backend, "auto");
    assert.deepEqual(settings.models, { embedder: undefined, generator: "/m/g.gguf", adapter: undefined });
    assert.deepEqual(settings.exclude, ["gen/"]);
  });

  test("models, backend and excludes restart the sidecar; the rest applies live", () => {
    for (const key of ["hef.models.embedder", "hef.models.adapter", "hef.backend", "hef.exclude"]) assert.equal(needsRestart(changeOf(key)), true, key);
    for (const key of ["hef.mode", "hef.k", "hef.debounceMs", "hef.maxTokens", "hef.multiline", "hef.enabledLanguages", "hef.enable"]) {
      assert.equal(needsRestart(changeOf(key)), false, key);
    }
  });

  test("the manifest says which settings restart the sidecar", () => {
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    for (const [key, property] of Object.entries(manifest.contributes.configuration.properties as Record<string, { description: string }>)) {
      const restarts = RESTART_KEYS.some((k) => key === `hef.${k}` || key.startsWith(`hef.${k}.`));
      assert.equal(property.description.includes("restarts the sidecar"), restarts, key);
    }
  });
});
