// The settings both sides know are written once in common/ for the engine and once in package.json for
// the editor (VS Code reads its settings' defaults and choices from there): the two must say the same.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import manifest from "../package.json";
import { COMPLETION_MODES } from "../common/protocol";
import { BACKENDS, DEFAULT_BACKEND, DEFAULT_K, DEFAULT_MAX_TOKENS } from "../common/settings";

const settings = manifest.contributes.configuration.properties;

describe("the editor's settings and the engine's defaults", () => {
  test("backends, modes, K and the token budget are the same on both sides", () => {
    assert.deepEqual(settings["hef.backend"].enum, [...BACKENDS]);
    assert.equal(settings["hef.backend"].default, DEFAULT_BACKEND);
    assert.deepEqual(settings["hef.mode"].enum, [...COMPLETION_MODES]);
    assert.equal(settings["hef.k"].default, DEFAULT_K);
    assert.equal(settings["hef.maxTokens"].default, DEFAULT_MAX_TOKENS.singleLine);
  });
});
