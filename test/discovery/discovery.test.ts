/** Discovery: gitignore files (root, nested, .git/info/exclude), the exclude list, the allowlist, content checks, symlinks. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPathFilter, DEFAULT_EXCLUDES } from "../../common/pathFilter";
import { discoverSourceFiles, listSourceFiles, readSourceFile, walkSourceFiles } from "../../sidecar/cache/discovery";

const REPO = join(import.meta.dirname, "..", "..");

let base: string;
let root: string;

function write(rel: string, content: string | Uint8Array): void {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/** A small repository: real sources copied from this project, ignore files, junk to leave out. */
before(() => {
  base = mkdtempSync(join(tmpdir(), "hef-discovery-"));
  root = join(base, "repo");
  mkdirSync(root);
  const real = readFileSync(join(REPO, "sidecar", "cache", "discovery.ts"));
  write(".gitignore", "# build junk\n*.log\nignored_dir/\n/generated.py\ndocs/*.md\n!docs/KEEP.md\n");
  write(".git/info/exclude", "secret.py\n");
  write(".git/config", "[core]\n");
  write("README.md", "# repo\n");
  write("docs/guide.md", "ignored by docs/*.md\n");
  write("docs/KEEP.md", "re-included by !docs/KEEP.md\n");
  write("src/main.ts", real);
  write("src/util.py", "def f():\n    return 1\n");
  write("src/.gitignore", "local_only.ts\n/anchored.go\n");
  write("src/local_only.ts", "export {};\n");
  write("src/deeper/local_only.ts", "export {};\n");
  write("src/anchored.go", "package src\n");
  write("src/deeper/anchored.go", "package deeper\n");
  write("src/deeper/.gitignore", "!local_only.ts\n");
  write("generated.py", "x = 1\n");
  write("src/generated.py", "x = 2\n");
  write("secret.py", "KEY = 1\n");
  write("app.log", "log\n");
  write("ignored_dir/a.py", "a = 1\n");
  write("node_modules/pkg/index.js", "module.exports = 1;\n");
  write("dist/bundle.js", "var a;\n");
  write("src/vendor.min.js", "var a;\n");
  write("src/app.js.map", "{}\n");
  write("package-lock.json", "{}\n");
  write("package.json", '{ "name": "repo" }\n');
  write("__pycache__/util.cpython-311.pyc", "x");
  write("image.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  write("Makefile", "all:\n\ttrue\n");
  write("notes.txt", "not an indexed extension\n");
  // Content that is skipped on reading.
  write("bin/data.py", Buffer.concat([Buffer.from("x = 1\n"), Buffer.from([0, 1, 2, 3]), Buffer.from("y = 2\n")]));
  write("latin1.py", Buffer.from("s = 'caf\xe9'\n", "latin1"));
  write("big.py", `# ${"x".repeat(60000)}\n`);
  write("bom.py", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("x = 'é'\n")]));
  // Symbolic links: escaping the root, looping, duplicating, dangling, and a good one.
  const outside = join(base, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "leak.py"), "LEAK = 1\n");
  symlinkSync(outside, join(root, "linked_outside"));
  symlinkSync(join(outside, "leak.py"), join(root, "leak.py"));
  symlinkSync("..", join(root, "src", "loop"));
  symlinkSync("main.ts", join(root, "src", "alias.ts"));
  symlinkSync("does-not-exist.py", join(root, "dangling.py"));
  mkdirSync(join(base, "shared"));
});

after(() => rmSync(base, { recursive: true, force: true }));

describe("discovery", () => {
  it("lists source files, honouring .gitignore files, .git/info/exclude and the default excludes", async () => {
    const files = await listSourceFiles(root);
    assert.deepEqual(files, [
      "Makefile",
      "README.md",
      "big.py",
      "bin/data.py",
      "bom.py",
      "docs/KEEP.md",
      "latin1.py",
      "package.json",
      "src/deeper/anchored.go",
      "src/deeper/local_only.ts",
      "src/generated.py",
      "src/main.ts",
      "src/util.py",
    ]);
  });

  it("reports links that escape, loop, duplicate or dangle", async () => {
    const { skipped } = await walkSourceFiles(root);
    const byPath = Object.fromEntries(skipped.map((s) => [s.path, s]));
    assert.equal(byPath["linked_outside"]?.reason, "symlink");
    assert.match(byPath["linked_outside"]!.detail!, /outside the root/);
    assert.equal(byPath["leak.py"]?.reason, "symlink");
    assert.equal(byPath["src/loop"]?.reason, "symlink");
    assert.match(byPath["src/loop"]!.detail!, /loop/);
    assert.equal(byPath["src/alias.ts"]?.reason, "symlink");
    assert.match(byPath["src/alias.ts"]!.detail!, /duplicate of src\/main.ts/);
    assert.equal(byPath["dangling.py"]?.reason, "symlink");
  });

  it("follows a link to a directory inside the root that is not otherwise listed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hef-linked-"));
    try {
      mkdirSync(join(dir, "ignored_dir"), { recursive: true });
      writeFileSync(join(dir, ".gitignore"), "ignored_dir/\n");
      writeFileSync(join(dir, "ignored_dir", "lib.py"), "x = 1\n");
      symlinkSync("ignored_dir", join(dir, "visible"));
      assert.deepEqual(await listSourceFiles(dir), ["visible/lib.py"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("skips binary, invalid UTF-8, too large and unreadable files with the reason", async () => {
    const options = { maxFileBytes: 32 * 1024 };
    const result = await discoverSourceFiles(root, options);
    assert.deepEqual(result.files, [
      "Makefile",
      "README.md",
      "bom.py",
      "docs/KEEP.md",
      "package.json",
      "src/deeper/anchored.go",
      "src/deeper/local_only.ts",
      "src/generated.py",
      "src/main.ts",
      "src/util.py",
    ]);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.path, s.reason]));
    assert.equal(reasons["bin/data.py"], "binary");
    assert.equal(reasons["latin1.py"], "invalid-utf8");
    assert.equal(reasons["big.py"], "too-large");
    assert.equal(result.counts.binary, 1);
    assert.equal(result.counts["invalid-utf8"], 1);
    assert.equal(result.counts["too-large"], 1);
    assert.ok(result.counts.symlink >= 4);

    const binary = await readSourceFile(root, "bin/data.py");
    assert.deepEqual(binary, { ok: false, reason: "binary", detail: "NUL byte at offset 6" });
    const latin = await readSourceFile(root, "latin1.py");
    assert.equal(latin.ok, false);
    assert.equal(!latin.ok && latin.reason, "invalid-utf8");
    const big = await readSourceFile(root, "big.py", options);
    assert.equal(!big.ok && big.reason, "too-large");
    assert.equal((await readSourceFile(root, "big.py")).ok, true, "under the default 1 MiB");
  });

  it("reads text (BOM removed) with its size in bytes", async () => {
    const bom = await readSourceFile(root, "bom.py");
    assert.deepEqual(bom, { ok: true, text: "x = 'é'\n", bytes: 3 + 9 });
    const main = await readSourceFile(root, "src/main.ts");
    assert.ok(main.ok && main.text.includes("export async function readSourceFile"));
  });

  it("never throws for unreadable paths", async () => {
    const cases: Record<string, RegExp> = {
      "missing.py": /ENOENT/, // vanished between listing and reading
      "dangling.py": /ENOENT/,
      src: /not a regular file/,
      "../outside/leak.py": /not a path inside the root/,
      "": /not a path inside the root/,
    };
    for (const [path, detail] of Object.entries(cases)) {
      const read = await readSourceFile(root, path);
      assert.equal(read.ok, false, path);
      assert.equal(!read.ok && read.reason, "unreadable", path);
      assert.match(!read.ok ? read.detail : "", detail, path);
    }
    const leak = await readSourceFile(root, "leak.py");
    assert.deepEqual(leak, { ok: false, reason: "symlink", detail: "resolves outside the root" });
    // A FIFO would block a plain read.
    execFileSync("mkfifo", [join(root, "pipe.py")]);
    try {
      const fifo = await readSourceFile(root, "pipe.py");
      assert.equal(!fifo.ok && fifo.reason, "unreadable");
      assert.ok(!(await listSourceFiles(root)).includes("pipe.py"));
    } finally {
      unlinkSync(join(root, "pipe.py"));
    }
  });

  it("skips a file without read permission", async (t) => {
    if (process.getuid?.() === 0) return t.skip("running as root: permissions do not stop reads");
    write("locked.py", "x = 1\n");
    chmodSync(join(root, "locked.py"), 0o000);
    try {
      const read = await readSourceFile(root, "locked.py");
      assert.deepEqual(read, { ok: false, reason: "unreadable", detail: "EACCES" });
      const result = await discoverSourceFiles(root);
      assert.ok(result.skipped.some((s) => s.path === "locked.py" && s.reason === "unreadable"));
    } finally {
      unlinkSync(join(root, "locked.py"));
    }
  });

  it("skips an unreadable directory while walking", async (t) => {
    if (process.getuid?.() === 0) return t.skip("running as root: permissions do not stop reads");
    write("closed/a.py", "x = 1\n");
    chmodSync(join(root, "closed"), 0o000);
    try {
      const { skipped } = await walkSourceFiles(root);
      assert.ok(skipped.some((s) => s.path === "closed" && s.reason === "unreadable"));
    } finally {
      chmodSync(join(root, "closed"), 0o755);
      rmSync(join(root, "closed"), { recursive: true });
    }
  });

  it("applies a custom exclude list and extension allowlist", async () => {
    const extended = await listSourceFiles(root, { exclude: [...DEFAULT_EXCLUDES, "src/deeper/", "*.md"] });
    assert.ok(!extended.some((f) => f.startsWith("src/deeper/") || f.endsWith(".md")));
    assert.ok(extended.includes("src/main.ts"));
    const none = await listSourceFiles(root, { exclude: [] });
    assert.ok(
      none.includes("node_modules/pkg/index.js") &&
        none.includes("dist/bundle.js") &&
        none.includes("package-lock.json"),
    );
    assert.ok(!none.includes("generated.py"), ".gitignore still applies");
    const noGit = await listSourceFiles(root, { exclude: [], useGitignore: false });
    assert.ok(noGit.includes("generated.py") && noGit.includes("secret.py") && noGit.includes("ignored_dir/a.py"));
    const python = await listSourceFiles(root, { extensions: ["py"], fileNames: [] });
    assert.deepEqual(python, ["big.py", "bin/data.py", "bom.py", "latin1.py", "src/generated.py", "src/util.py"]);
  });
});

describe("path filter", () => {
  it("answers for files and directories the same way as the walk", async () => {
    const filter = await createPathFilter(root);
    const ignored: Array<[string, boolean]> = [
      ["node_modules", true],
      ["a/b/node_modules/x/y.js", false],
      ["dist/bundle.js", false],
      ["src/vendor.min.js", false],
      ["package-lock.json", false],
      ["app.log", false],
      ["ignored_dir", true],
      ["ignored_dir/a.py", false],
      ["generated.py", false],
      ["secret.py", false],
      ["src/local_only.ts", false],
      ["src/anchored.go", false],
      ["docs/guide.md", false],
      [".git", true],
      [".git/config", false],
      ["../elsewhere.py", false],
      ["/etc/passwd", false],
    ];
    for (const [path, isDir] of ignored) assert.equal(filter.isIgnored(path, isDir), true, path);
    const kept: Array<[string, boolean]> = [
      ["src", true],
      ["src/main.ts", false],
      ["src/generated.py", false],
      ["src/deeper/anchored.go", false],
      ["src/deeper/local_only.ts", false],
      ["docs/KEEP.md", false],
      ["src\\main.ts", false],
      ["./src/main.ts", false],
      ["", true],
      ["new/file/not/yet/on/disk.py", false],
    ];
    for (const [path, isDir] of kept) assert.equal(filter.isIgnored(path, isDir), false, path);
    assert.equal(filter.isSourcePath("src/main.ts"), true);
    assert.equal(filter.isSourcePath("Makefile"), true);
    assert.equal(filter.isSourcePath("notes.txt"), false);
    assert.equal(filter.isSourcePath("image.png"), false);
    assert.equal(filter.isSourcePath("A.PY"), true);
    assert.equal(filter.accepts("src/util.py"), true);
    assert.equal(filter.accepts("generated.py"), false);
    assert.equal(filter.isIgnoreFile("src/.gitignore"), true);
    assert.equal(filter.isIgnoreFile(".git/info/exclude"), true);
    assert.equal(filter.isIgnoreFile("src/main.ts"), false);
  });

  it("sees a changed .gitignore after invalidate()", async () => {
    const filter = await createPathFilter(root);
    assert.equal(filter.isIgnored("src/util.py", false), false);
    const before = readFileSync(join(root, "src", ".gitignore"), "utf8");
    write("src/.gitignore", `${before}util.py\n`);
    try {
      assert.equal(filter.isIgnored("src/util.py", false), false, "cached until invalidated");
      filter.invalidate();
      assert.equal(filter.isIgnored("src/util.py", false), true);
    } finally {
      write("src/.gitignore", before);
    }
  });
});
