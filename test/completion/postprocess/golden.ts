// Golden cases for the post-processing filters, as Tabby keeps them beside its filters: the
// document with "║" at the cursor, what the model wrote, and what the user is shown. A change to a
// filter shows its effect on every case at once.
import assert from "node:assert/strict";
import { test } from "node:test";

export interface GoldenCase {
  /** Why the case is here, in the words of the failure it guards against. */
  why: string;
  /** The document, "║" marking the cursor. */
  document: string;
  completion: string;
  shown: string;
}

export type Filter = (completion: string, at: { prefix: string; suffix: string }) => string;

export function golden(filter: Filter, cases: readonly GoldenCase[]): void {
  for (const c of cases) {
    test(c.why, () => {
      const [prefix, suffix, extra] = c.document.split("║");
      assert.ok(
        prefix !== undefined && suffix !== undefined && extra === undefined,
        `one cursor marker in ${JSON.stringify(c.document)}`,
      );
      assert.equal(filter(c.completion, { prefix, suffix }), c.shown);
    });
  }
}
