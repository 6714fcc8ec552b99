// What both sides know of the settings that reach the engine: where models run, and the completion
// defaults the engine applies when a request leaves them out (the hef command, the evaluation). The
// editor's settings declare the same values in package.json (contributes.configuration), which the
// extension reads its defaults from; test/settingsDefaults.test.ts holds the two equal.

/** Where models run: "auto" takes the best GPU backend llama.cpp finds, falling back to the CPU. */
export const BACKENDS = ["auto", "cpu"] as const;
export type Backend = (typeof BACKENDS)[number];
export const DEFAULT_BACKEND: Backend = "auto";

/** Nodes retrieved per completion (the paper's K) where neither the request nor the adapter says. */
export const DEFAULT_K = 32;

/** Generated tokens at most per completion, stopping at the end of the line or not. */
export const DEFAULT_MAX_TOKENS = { singleLine: 64, multiLine: 256 } as const;
