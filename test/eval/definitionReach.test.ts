import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DefinitionSite, definitionReach, type ReachedNode, reachedAt } from "../../sidecar/eval/definitionReach";

const sites = new Map<string, DefinitionSite[]>([
  ["Factory", [{ path: "attr/_make.py", line: 40 }]],
  ["validate", [{ path: "attr/validators.py", line: 12 }]],
  // Defined twice: either definition counts.
  [
    "converter",
    [
      { path: "attr/_make.py", line: 300 },
      { path: "attr/converters.py", line: 5 },
    ],
  ],
]);

const chunk = (path: string, startLine: number, endLine: number): ReachedNode => ({
  level: "chunk",
  spans: [{ path, startLine, endLine }],
});
const file = (path: string, startLine: number, endLine: number): ReachedNode => ({
  level: "file",
  spans: [{ path, startLine, endLine }],
});
const wholeModule = (path: string): ReachedNode => ({ level: "module", spans: [{ path }] });
const repo: ReachedNode = { level: "repo", spans: [{ path: "." }] };

describe("how far down retrieval reached the definitions a line uses", () => {
  it("a chunk whose lines hold the definition is the finest reach", () => {
    assert.equal(definitionReach(["Factory"], sites, [repo, chunk("attr/_make.py", 30, 50)]), "chunk");
  });

  it("a chunk of the right file but other lines is not; the file node over those lines is a file reach", () => {
    assert.equal(definitionReach(["Factory"], sites, [chunk("attr/_make.py", 60, 90)]), "none");
    assert.equal(
      definitionReach(["Factory"], sites, [chunk("attr/_make.py", 60, 90), file("attr/_make.py", 1, 120)]),
      "file",
    );
    assert.equal(
      definitionReach(["Factory"], sites, [file("attr/_make.py", 100, 400)]),
      "none",
      "a partial file node over other lines",
    );
  });

  it("a module node covers the files below its directory; the repository node covers everything", () => {
    assert.equal(definitionReach(["Factory"], sites, [wholeModule("attr")]), "module");
    assert.equal(
      definitionReach(["Factory"], sites, [wholeModule("att")]),
      "none",
      "a directory name's prefix is not its parent",
    );
    assert.equal(definitionReach(["Factory"], sites, [repo]), "repo");
  });

  it("several names: the coarsest of each name's finest reach; any definition of a name counts", () => {
    const nodes = [
      chunk("attr/_make.py", 30, 50),
      file("attr/validators.py", 1, 30),
      chunk("attr/converters.py", 1, 10),
    ];
    assert.equal(definitionReach(["Factory", "validate", "converter"], sites, nodes), "file");
    assert.equal(definitionReach(["Factory", "converter"], sites, nodes), "chunk");
    assert.equal(definitionReach(["Factory", "validate"], sites, [chunk("attr/_make.py", 30, 50)]), "none");
  });

  it("names the repository does not define are left out; with none left there is nothing to say", () => {
    assert.equal(definitionReach(["Factory", "print"], sites, [chunk("attr/_make.py", 30, 50)]), "chunk");
    assert.equal(definitionReach(["print"], sites, [repo]), undefined);
    assert.equal(definitionReach([], sites, [repo]), undefined);
  });

  it("reachedAt counts the finer levels too", () => {
    assert.equal(reachedAt("chunk", "file"), true);
    assert.equal(reachedAt("file", "file"), true);
    assert.equal(reachedAt("module", "file"), false);
    assert.equal(reachedAt("none", "repo"), false);
  });
});
