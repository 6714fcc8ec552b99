"""Tests of the corpus builder (hef_training.corpus): licences, file rules, sources, and the
properties later stages rely on (dedup, determinism, held-out exclusion, budget, atomic output)."""

from __future__ import annotations

import json
import os
import stat
import sysconfig
import zipfile
from pathlib import Path

import pytest

from hef_training.corpus import (
    MANIFEST_COLUMNS,
    CorpusConfig,
    CorpusLimits,
    build_corpus,
    read_manifest,
    recount_tokens,
)
from hef_training.corpus.__main__ import main as cli_main
from hef_training.corpus.__main__ import parse_size
from hef_training.corpus.filters import FileRules, extensions_for, safe_relpath
from hef_training.corpus.licences import (
    LicenceEvidence,
    recognise_licence_text,
    resolve_licence,
    verdict_from_classifiers,
    verdict_from_expression,
)
from hef_training.corpus.sources import StdlibPackage, discover, parse_source, resolve_spec, version_key

# --- licence texts (the operative parts; enough for recognition) ------------------------------

MIT_TEXT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
"""

BSD3_TEXT = """Copyright (c) 2024, Someone
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice.
2. Redistributions in binary form must reproduce the above copyright notice.
3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
"""

BSD2_TEXT = BSD3_TEXT.split("3. Neither")[0]

APACHE_TEXT = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""

ISC_TEXT = """ISC License

Copyright (c) 2024 Someone

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
"""

GPL_TEXT = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.
"""

# --- helpers ----------------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_wheel(path: Path, name: str, version: str, files: dict[str, str], metadata: str = "", symlinks: tuple[str, ...] = ()) -> Path:
    dist = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{metadata}\n")
        for rel, content in files.items():
            zf.writestr(rel, content)
        for rel in symlinks:
            info = zipfile.ZipInfo(rel)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
        zf.writestr(f"{dist}/RECORD", "")
    return path


def code(tag: str, lines: int = 3) -> str:
    """Distinct small Python source (distinct so dedup does not interfere unless wanted)."""
    return "".join(f"def {tag}_{i}(x):\n    return x + {i}\n" for i in range(lines))


def make_dir_package(root: Path, licence: str = MIT_TEXT, files: dict[str, str | bytes] | None = None) -> Path:
    write_tree(root, {"LICENSE": licence, **(files or {f"{root.name.replace('-', '_')}/core.py": code(root.name.replace("-", "_"))})})
    return root


def report_of(out: Path) -> dict:
    return json.loads((out / "corpus-report.json").read_text(encoding="utf-8"))


def left_out(out: Path) -> dict[str, str]:
    return {entry["package"]: entry["reason"] for entry in report_of(out)["left_out"]}


def manifest_packages(out: Path) -> list[str]:
    return [row["package"] for row in read_manifest(out)]


def make_tokenizer(path: Path, split_punctuation: bool = True) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    # Whitespace splits words from punctuation; WhitespaceSplit only at spaces: two different counts.
    tok.pre_tokenizer = pre_tokenizers.Whitespace() if split_punctuation else pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(["def return x"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    tok.save(str(path))
    return path


# --- licences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "permissive", "normalised"),
    [
        ("MIT", True, "MIT"),
        ("MIT OR GPL-3.0", True, "MIT OR GPL-3.0"),
        ("GPL-2.0 AND MIT", False, "GPL-2.0 AND MIT"),
        ("Apache-2.0 WITH LLVM-exception", True, "Apache-2.0 WITH LLVM-exception"),
        ("GPL-2.0-only WITH Classpath-exception-2.0", False, None),
        ("(MIT OR Apache-2.0) AND BSD-3-Clause", True, "(MIT OR Apache-2.0) AND BSD-3-Clause"),
        ("(MIT AND Zlib)", True, "MIT AND Zlib"),
        ("mit or apache-2.0", True, "MIT OR Apache-2.0"),
        ("MIT/Apache-2.0", True, "MIT OR Apache-2.0"),
        ("LGPL-3.0-or-later", False, None),
        ("MPL-2.0 AND (Apache-2.0 OR MIT)", False, None),
        ("MIT License", True, "MIT"),
        ("Apache Software License", True, "Apache-2.0"),
        ("Apache License 2.0", True, "Apache-2.0"),
        ("Apache 2.0", True, "Apache-2.0"),
        ("BSD License", True, "BSD"),
        ("BSD 3-Clause License", True, "BSD-3-Clause"),
        ("Modified BSD License", True, "BSD-3-Clause"),
        ("ISC License (ISCL)", True, "ISC"),
        ("PSF-2.0", True, "PSF-2.0"),
        ("Python-2.0", True, "Python-2.0"),
        ("0BSD", True, "0BSD"),
        ("CC0-1.0", True, "CC0-1.0"),
        ("BlueOak-1.0.0", True, "BlueOak-1.0.0"),
        ("Unlicense", True, "Unlicense"),
        ("UNLICENSED", False, None),  # npm's "no licence granted", not the Unlicense
        ("Artistic-2.0", False, None),
        ("GNU Library or Lesser General Public License (LGPL)", False, None),
        ("Proprietary", False, None),
    ],
)
def test_licence_expressions(expression: str, permissive: bool, normalised: str | None) -> None:
    verdict = verdict_from_expression(expression, "test")
    assert verdict is not None
    assert verdict.permissive is permissive
    if normalised is not None:
        assert verdict.expression == normalised


@pytest.mark.parametrize("text", ["Dual License", "UNKNOWN", "see COPYING, public domain, GPL 3, BSD", "Foo-1.0"])
def test_unrecognised_licence_names_give_no_verdict(text: str) -> None:
    assert verdict_from_expression(text, "test") is None


def test_classifiers() -> None:
    mit = verdict_from_classifiers(["Programming Language :: Python", "License :: OSI Approved :: MIT License"])
    assert mit is not None and mit.permissive and mit.expression == "MIT"
    apache = verdict_from_classifiers(["License :: OSI Approved :: Apache Software License"])
    assert apache is not None and apache.permissive and apache.expression == "Apache-2.0"
    gpl = verdict_from_classifiers(["License :: OSI Approved :: GNU General Public License v3 (GPLv3)"])
    assert gpl is not None and not gpl.permissive
    mpl = verdict_from_classifiers(["License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)"])
    assert mpl is not None and not mpl.permissive
    # Several licence classifiers are alternatives.
    dual = verdict_from_classifiers(["License :: OSI Approved :: BSD License", "License :: OSI Approved :: GNU General Public License (GPL)"])
    assert dual is not None and dual.permissive
    assert verdict_from_classifiers(["License :: OSI Approved"]) is None


def test_evidence_order() -> None:
    # The License-Expression wins over a contradicting classifier; unknown evidence falls through.
    strong = resolve_licence(LicenceEvidence(expression="MIT", classifiers=["License :: OSI Approved :: GNU General Public License (GPL)"]))
    assert strong.permissive and strong.origin == "License-Expression"
    fallthrough = resolve_licence(LicenceEvidence(declared="UNKNOWN", classifiers=["License :: OSI Approved :: ISC License (ISCL)"]))
    assert fallthrough.permissive and fallthrough.expression == "ISC" and fallthrough.origin == "classifier"
    from_file = resolve_licence(LicenceEvidence(declared="Dual License", files=[("LICENSE", BSD3_TEXT)]))
    assert from_file.permissive and from_file.expression == "BSD-3-Clause" and from_file.origin == "file:LICENSE"
    nothing = resolve_licence(LicenceEvidence())
    assert not nothing.permissive and nothing.expression == "UNKNOWN"
    # A whole licence pasted into the License field is read as a text.
    pasted = resolve_licence(LicenceEvidence(declared=MIT_TEXT))
    assert pasted.permissive and pasted.expression == "MIT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MIT_TEXT, "MIT"),
        (BSD3_TEXT, "BSD-3-Clause"),
        (BSD2_TEXT, "BSD-2-Clause"),
        (APACHE_TEXT, "Apache-2.0"),
        (ISC_TEXT, "ISC"),
        (GPL_TEXT, "GPL"),
        ("This is free and unencumbered software released into the public domain.\n", "Unlicense"),
        ("Just some README text.\n", None),
    ],
)
def test_licence_text_recognition(text: str, expected: str | None) -> None:
    assert recognise_licence_text(text) == expected


def test_gpl_licence_file_is_rejected() -> None:
    verdict = resolve_licence(LicenceEvidence(files=[("COPYING", GPL_TEXT)]))
    assert not verdict.permissive


def test_main_licence_is_the_first_in_a_file() -> None:
    # A permissive licence followed by the licences of bundled code.
    assert recognise_licence_text(BSD3_TEXT + "\n\nBundled libgfortran:\n" + GPL_TEXT) == "BSD-3-Clause"


# --- file rules -------------------------------------------------------------------------------

RULES = FileRules(extensions_for(("python", "javascript", "typescript")))


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        ("pkg/core.py", None),
        ("pkg/_vendor/six.py", "vendored"),
        ("pkg/vendor/x.js", "vendored"),
        ("pkg/third_party/x.py", "vendored"),
        ("lib/node_modules/dep/index.js", "vendored"),
        ("dist/app.min.js", "minified"),
        ("dist/app-min.js", "minified"),
        ("dist/app.bundle.js", "bundle"),
        ("dist/lib.umd.js", "bundle"),
        ("pkg/msg_pb2.py", "generated"),
    ],
)
def test_path_rules(relpath: str, reason: str | None) -> None:
    assert RULES.path_reason(relpath) == reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"def f():\n    return 1\n", None),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"# Code generated by protoc-gen-go. DO NOT EDIT.\nx = 1\n", "generated"),
        (b"// @generated\nexport const x = 1;\n", "generated"),
        (b'"""\nThis file is autogenerated.\n"""\nx = 1\n', "generated"),
        (b"a\nb\nc\nd\ne\n# do not edit (line 6 is past the header)\n", None),
        (b"x = '" + b"a" * 1200 + b"'\n", "long-lines"),
        ((b"y = '" + b"b" * 300 + b"'\n") * 5, "long-lines"),
        (b"\x00\x01\x02binary", "binary"),
        (b"x = '\xff\xfe'\n", "not-utf8"),
        (b"x = 1\n" * 200_000, "too-large"),
    ],
)
def test_content_rules(data: bytes, reason: str | None) -> None:
    assert RULES.content_reason(data) == reason


def test_extensions_follow_languages() -> None:
    python_only = FileRules(extensions_for(("python",)))
    assert python_only.wants("a/b.py") and python_only.wants("a/b.pyi")
    assert not python_only.wants("a/b.js") and not python_only.wants("a/b.txt")
    assert RULES.wants("x.mts") and RULES.wants("x.cjs") and RULES.wants("x.tsx")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("pkg/mod.py", "pkg/mod.py"),
        ("./pkg//mod.py", "pkg/mod.py"),
        ("../evil.py", None),
        ("pkg/../../evil.py", None),
        ("/etc/evil.py", None),
        ("C:/evil.py", None),
        ("pkg\\..\\..\\evil.py", None),
        ("", None),
    ],
)
def test_safe_relpath(name: str, safe: str | None) -> None:
    assert safe_relpath(name) == safe


def test_version_order() -> None:
    versions = ["1.10.0", "1.9.0", "1.10.0rc1", "1.10.0.post1", "1.10.0.dev3", "2!0.1", "1.10.0a2"]
    assert sorted(versions, key=version_key) == ["1.9.0", "1.10.0.dev3", "1.10.0a2", "1.10.0rc1", "1.10.0", "1.10.0.post1", "2!0.1"]
    assert version_key("1.10") == version_key("1.10.0")


def test_parse_source_and_sizes(tmp_path: Path) -> None:
    nm = tmp_path / "node_modules"
    nm.mkdir()
    assert parse_source(str(nm)).kind == "npm"
    assert parse_source(f"dir:{nm}").kind == "dir"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels / "a-1.0-py3-none-any.whl", "a", "1.0", {})
    assert parse_source(str(wheels)).kind == "wheels"
    assert parse_size("300M") == 300 * 1024**2 and parse_size("2GB") == 2 * 10**9 and parse_size("1000") == 1000


# --- building ---------------------------------------------------------------------------------


def test_dedup_across_packages(tmp_path: Path) -> None:
    shared = code("shared", 5)
    first = make_dir_package(tmp_path / "src" / "pkg-one", files={"one/util.py": shared, "one/own.py": code("one")})
    second = make_dir_package(tmp_path / "src" / "pkg-two", files={"two/helpers/copy.py": shared, "two/own.py": code("two")})
    out = tmp_path / "out"
    summary = build_corpus(CorpusConfig(sources=[("dir", first), ("dir", second)], out_dir=out))
    assert summary.packages_kept == 2 and summary.files == 3
    assert summary.files_skipped.get("duplicate") == 1
    assert (out / "repos/pkg-one/one/util.py").is_file()
    assert not (out / "repos/pkg-two/two/helpers/copy.py").exists()
    rows = {row["package"]: row for row in read_manifest(out)}
    assert rows["pkg-one"]["files"] == "2" and rows["pkg-two"]["files"] == "1"
    # Sources are taken in the order given: reversed, the other package keeps the shared file.
    out2 = tmp_path / "out2"
    build_corpus(CorpusConfig(sources=[("dir", second), ("dir", first)], out_dir=out2))
    assert (out2 / "repos/pkg-two/two/helpers/copy.py").is_file()
    assert not (out2 / "repos/pkg-one/one/util.py").exists()


def test_dir_source_filters_and_licence(tmp_path: Path) -> None:
    pkg = make_dir_package(
        tmp_path / "proj",
        licence=APACHE_TEXT,
        files={
            "proj/a.py": code("a"),
            "proj/_vendor/b.py": code("b"),
            "proj/gen.py": "# Generated by a tool. DO NOT EDIT\n" + code("g"),
            "proj/blob.py": b"\x00\x01",
            "proj/latin.py": b"x = '\xe9'\n",
            "proj/empty.py": "",
            "web/app.min.js": "var a=1;\n",
            "web/app.ts": "export const a: number = 1;\n",
            "proj/notes.txt": "not code\n",
            ".git/hooks/x.py": code("hook"),
            "node_modules/dep/index.js": "module.exports = 1;\n",
        },
    )
    out = tmp_path / "out"
    summary = build_corpus(CorpusConfig(sources=[("dir", pkg)], out_dir=out))
    assert sorted(tree_bytes(out / "repos/proj")) == ["proj/a.py", "web/app.ts"]
    assert summary.files_skipped == {"binary": 1, "empty": 1, "generated": 1, "minified": 1, "not-utf8": 1, "vendored": 1}
    assert read_manifest(out)[0]["licence"] == "Apache-2.0"
    python_only = build_corpus(CorpusConfig(sources=[("dir", pkg)], out_dir=tmp_path / "out-py", languages=("python",)))
    assert python_only.files == 1


def test_gpl_dir_is_left_out(tmp_path: Path) -> None:
    pkg = make_dir_package(tmp_path / "copyleft", licence=GPL_TEXT)
    nolic = write_tree(tmp_path / "nolicence", {"m.py": code("m")})
    out = tmp_path / "out"
    summary = build_corpus(CorpusConfig(sources=[("dir", pkg), ("dir", nolic)], out_dir=out))
    assert summary.packages_kept == 0 and summary.packages_left_out == {"licence": 2}
    assert not (out / "repos/copyleft").exists()
    assert (out / "corpus-manifest.tsv").read_text() == "\t".join(MANIFEST_COLUMNS) + "\n"


def test_wheels_newest_version_and_path_traversal(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels / "demo-1.9.0-py3-none-any.whl", "demo", "1.9.0", {"demo/__init__.py": code("old")}, "License-Expression: MIT")
    make_wheel(
        wheels / "demo-1.10.0-py3-none-any.whl",
        "demo",
        "1.10.0",
        {
            "demo/__init__.py": code("init"),
            "demo/core.py": code("core"),
            "demo/_vendor/six.py": code("six"),
            "demo/msg_pb2.py": code("pb"),
            "demo/README.md": "# demo\n",
            "demo-1.10.0.data/purelib/extra/mod.py": code("extra"),
            "demo-1.10.0.data/scripts/tool.py": code("tool"),
            "demo-1.10.0.dist-info/licenses/LICENSE": MIT_TEXT,
            "../evil.py": code("evil"),
            "/abs_evil.py": code("abs"),
            "demo/../../escape.py": code("escape"),
            "demo\\..\\..\\back.py": code("back"),
            "C:/win_evil.py": code("win"),
        },
        "Classifier: License :: OSI Approved :: MIT License",
        symlinks=("demo/link.py",),
    )
    make_wheel(
        wheels / "gplpkg-2.0-py3-none-any.whl",
        "gplpkg",
        "2.0",
        {"gplpkg/__init__.py": code("gpl")},
        "Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
    )
    make_wheel(wheels / "Lic_File-1.0-py3-none-any.whl", "Lic_File", "1.0", {"lic_file/m.py": code("lf"), "lic_file-1.0.dist-info/LICENSE": BSD3_TEXT})
    out = tmp_path / "corpus" / "out"
    summary = build_corpus(CorpusConfig(sources=[("wheels", wheels)], out_dir=out))

    assert sorted(tree_bytes(out / "repos/demo")) == ["demo/__init__.py", "demo/core.py", "extra/mod.py"]
    assert (out / "repos/demo/demo/__init__.py").read_text() == code("init")  # the newest version
    rows = {row["package"]: row for row in read_manifest(out)}
    assert rows["demo"]["version"] == "1.10.0" and rows["demo"]["licence"] == "MIT"
    assert rows["lic-file"]["licence"] == "BSD-3-Clause"
    assert rows["demo"]["source"].endswith("demo-1.10.0-py3-none-any.whl")
    assert left_out(out) == {"gplpkg": "licence"}
    assert summary.files_skipped["unsafe-path"] == 6  # five traversals and the symlink
    assert summary.files_skipped["vendored"] == 1 and summary.files_skipped["generated"] == 1
    # Nothing was written outside the package directory.
    for name in ("evil.py", "abs_evil.py", "escape.py", "back.py", "win_evil.py"):
        assert not list(tmp_path.rglob(name)), name
    assert not list(out.rglob("link.py"))


def test_npm_packages(tmp_path: Path) -> None:
    nm = tmp_path / "node_modules"
    write_tree(
        nm,
        {
            ".package-lock.json": "{}",
            ".bin/tool": "#!/bin/sh\n",
            "@scope/name/package.json": json.dumps({"name": "@scope/name", "version": "1.2.3", "license": "MIT"}),
            "@scope/name/index.js": "module.exports = function scoped() { return 1; };\n",
            "@scope/name/lib/util.ts": "export function util(x: number): number { return x + 1; }\n",
            "@scope/name/lib/util.d.mts": "export declare function util(x: number): number;\n",
            "@scope/name/dist/index.min.js": "var a=1;\n",
            "@scope/name/dist/index.umd.js": "(function(){})();\n",
            "@scope/name/README.md": "# name\n",
            "@scope/name/node_modules/inner/package.json": json.dumps({"name": "inner", "license": "MIT"}),
            "@scope/name/node_modules/inner/index.js": "module.exports = 'inner';\n",
            "gpl-pkg/package.json": json.dumps({"name": "gpl-pkg", "version": "1.0.0", "license": "GPL-3.0-only"}),
            "gpl-pkg/index.js": "module.exports = 'gpl';\n",
            "old-style/package.json": json.dumps({"name": "old-style", "version": "0.1.0", "licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]}),
            "old-style/main.js": "module.exports = 'old';\n",
            "see-file/package.json": json.dumps({"name": "see-file", "version": "3.0.0", "license": "SEE LICENSE IN LICENSE.md"}),
            "see-file/LICENSE.md": ISC_TEXT,
            "see-file/index.cjs": "module.exports = 'see';\n",
            "object-form/package.json": json.dumps({"name": "object-form", "version": "1.0.0", "license": {"type": "BSD-3-Clause"}}),
            "object-form/index.mjs": "export default 'obj';\n",
            "nolicence/package.json": json.dumps({"name": "nolicence", "version": "1.0.0"}),
            "nolicence/index.js": "module.exports = 'none';\n",
            "types-only/package.json": json.dumps({"name": "types-only", "version": "1.0.0", "license": "MIT"}),
            "types-only/README.md": "no code\n",
        },
    )
    out = tmp_path / "out"
    build_corpus(CorpusConfig(sources=[("npm", nm)], out_dir=out))
    rows = {row["package"]: row for row in read_manifest(out)}
    assert sorted(rows) == ["object-form", "old-style", "scope__name", "see-file"]
    assert rows["scope__name"]["version"] == "1.2.3" and rows["scope__name"]["licence"] == "MIT"
    assert rows["old-style"]["licence"] == "MIT OR Apache-2.0"
    assert rows["see-file"]["licence"] == "ISC"
    assert rows["object-form"]["licence"] == "BSD-3-Clause"
    assert sorted(tree_bytes(out / "repos/scope__name")) == ["index.js", "lib/util.d.mts", "lib/util.ts"]
    assert left_out(out) == {"gpl-pkg": "licence", "nolicence": "licence", "types-only": "no-sources"}


def test_same_name_in_two_sources(tmp_path: Path) -> None:
    mirror_a, mirror_b = tmp_path / "mirror-a", tmp_path / "mirror-b"
    mirror_a.mkdir()
    mirror_b.mkdir()
    make_wheel(mirror_a / "argparse-1.4.0-py3-none-any.whl", "argparse", "1.4.0", {"argparse.py": code("pyargs")}, "License: Python Software Foundation License")
    make_wheel(mirror_b / "argparse-1.5.0-py3-none-any.whl", "argparse", "1.5.0", {"argparse.py": code("pyargs2")}, "License: PSF")
    nm = write_tree(
        tmp_path / "node_modules",
        {"argparse/package.json": json.dumps({"name": "argparse", "version": "2.0.1", "license": "Python-2.0"}), "argparse/argparse.js": "module.exports = 1;\n"},
    )
    src_one = make_dir_package(tmp_path / "one" / "src", files={"a.py": code("one")})
    src_two = make_dir_package(tmp_path / "two" / "src", files={"b.py": code("two")})
    out = tmp_path / "out"
    build_corpus(CorpusConfig(sources=[("wheels", mirror_a), ("wheels", mirror_b), ("npm", nm), ("dir", src_one), ("dir", src_two)], out_dir=out))
    rows = {row["package"]: row for row in read_manifest(out)}
    # The same PyPI package from a later mirror is a duplicate; npm's argparse and a second "src" are other packages.
    assert sorted(rows) == ["argparse", "argparse.npm", "src", "src.dir"]
    assert rows["argparse"]["version"] == "1.4.0" and rows["argparse"]["licence"] == "PSF-2.0"
    assert rows["argparse.npm"]["version"] == "2.0.1" and (out / "repos/argparse.npm/argparse.js").is_file()
    assert (out / "repos/src.dir/b.py").is_file()
    assert left_out(out) == {"argparse": "duplicate-package"}


def test_determinism(tmp_path: Path) -> None:
    src = [
        ("dir", make_dir_package(tmp_path / "src" / "alpha", files={f"alpha/m{i}.py": code(f"a{i}") for i in range(5)})),
        ("dir", make_dir_package(tmp_path / "src" / "beta", licence=BSD3_TEXT, files={f"beta/sub{i}/m.py": code(f"b{i}") for i in range(5)})),
    ]
    outs = [tmp_path / "one", tmp_path / "two"]
    for out in outs:
        build_corpus(CorpusConfig(sources=src, out_dir=out, limits=CorpusLimits(max_files_per_package=4)))
    first, second = tree_bytes(outs[0]), tree_bytes(outs[1])
    assert first == second
    assert "corpus-manifest.tsv" in first and "corpus-report.json" in first and ".corpus-state.json" in first


def test_held_out_packages(tmp_path: Path) -> None:
    nm = tmp_path / "node_modules"
    write_tree(
        nm,
        {
            "@evals/repo/package.json": json.dumps({"name": "@evals/repo", "version": "1.0.0", "license": "MIT"}),
            "@evals/repo/index.js": "module.exports = 'eval';\n",
            "kept/package.json": json.dumps({"name": "kept", "version": "1.0.0", "license": "MIT"}),
            "kept/index.js": "module.exports = 'kept';\n",
        },
    )
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels / "Eval_Pkg-1.0-py3-none-any.whl", "Eval_Pkg", "1.0", {"eval_pkg/m.py": code("ev")}, "License-Expression: MIT")
    out = tmp_path / "out"
    summary = build_corpus(CorpusConfig(sources=[("npm", nm), ("wheels", wheels)], out_dir=out, held_out=("@evals/repo", "eval.pkg")))
    assert manifest_packages(out) == ["kept"]
    assert left_out(out) == {"evals__repo": "held-out", "eval-pkg": "held-out"}
    assert summary.packages_left_out == {"held-out": 2}
    assert not (out / "repos/evals__repo").exists() and not (out / "repos/eval-pkg").exists()
    # The dir spelling of a scoped package works too.
    out2 = tmp_path / "out2"
    build_corpus(CorpusConfig(sources=[("npm", nm)], out_dir=out2, held_out=("evals__repo",)))
    assert manifest_packages(out2) == ["kept"]
    # A copy of a held-out file inside another package is left out too.
    (nm / "copier").mkdir()
    (nm / "copier/package.json").write_text(json.dumps({"name": "copier", "version": "1.0.0", "license": "MIT"}))
    (nm / "copier/vendored_eval.js").write_text("module.exports = 'eval';\n")
    (nm / "copier/own.js").write_text("module.exports = 'own';\n")
    out4 = tmp_path / "out4"
    build_corpus(CorpusConfig(sources=[("npm", nm)], out_dir=out4, held_out=("@evals/repo",)))
    assert sorted(p.name for p in (out4 / "repos/copier").iterdir()) == ["own.js"]
    assert json.loads((out4 / "corpus-report.json").read_text())["files_skipped"]["held-out-copy"] == 1
    # The evaluation repositories themselves: only the named packages, by the same rules.
    out3 = tmp_path / "out3"
    build_corpus(CorpusConfig(sources=[("npm", nm), ("wheels", wheels)], out_dir=out3, only=("@evals/repo", "eval.pkg")))
    assert manifest_packages(out3) == ["eval-pkg", "evals__repo"]
    assert left_out(out3) == {"kept": "not-selected", "copier": "not-selected"}


def test_budget_and_limits(tmp_path: Path) -> None:
    # Four packages of two 60-byte files each.
    sources = []
    for name in ("pa", "pb", "pc", "pd"):
        files = {f"{name}/f{i}.py": f"{name}{i} = 1  # padding".ljust(59, ".") + "\n" for i in range(2)}
        assert all(len(text) == 60 for text in files.values())
        sources.append(("dir", make_dir_package(tmp_path / "src" / name, files=files)))
    out = tmp_path / "out"
    summary = build_corpus(CorpusConfig(sources=sources, out_dir=out, limits=CorpusLimits(max_total_bytes=200)))
    rows = {row["package"]: row for row in read_manifest(out)}
    assert rows["pa"]["files"] == "2" and rows["pb"]["files"] == "1"  # pb is cut short by the budget
    assert summary.bytes == 180 and summary.bytes <= 200
    assert left_out(out) == {"pc": "budget", "pd": "budget"}

    per_package = build_corpus(
        CorpusConfig(sources=sources, out_dir=tmp_path / "out2", limits=CorpusLimits(max_files_per_package=1, max_package_bytes=100))
    )
    assert per_package.packages_kept == 4 and per_package.files == 4
    assert per_package.files_skipped == {"package-limit": 4}


def test_rerun_is_a_noop_and_changes_rebuild(tmp_path: Path) -> None:
    pkg = make_dir_package(tmp_path / "src" / "proj")
    out = tmp_path / "out"
    config = CorpusConfig(sources=[("dir", pkg)], out_dir=out)
    first = build_corpus(config)
    assert not first.reused
    manifest_mtime = (out / "corpus-manifest.tsv").stat().st_mtime_ns
    again = build_corpus(config)
    assert again.reused and again.files == first.files
    assert (out / "corpus-manifest.tsv").stat().st_mtime_ns == manifest_mtime
    # Other options or a changed source give a new build.
    assert not build_corpus(CorpusConfig(sources=[("dir", pkg)], out_dir=out, held_out=("proj",))).reused
    assert manifest_packages(out) == []
    write_tree(pkg, {"proj/new.py": code("new")})
    rebuilt = build_corpus(config)
    assert not rebuilt.reused and rebuilt.files == 2


def test_atomic_output(tmp_path: Path) -> None:
    sources = [("dir", make_dir_package(tmp_path / "src" / name)) for name in ("pa", "pb", "pc")]
    out = tmp_path / "out"
    stale = tmp_path / ".out.building-4194303"  # a build killed earlier (that pid is not running)
    stale.mkdir()

    def crash_on_second(progress) -> None:
        if progress.packages_seen == 2:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        build_corpus(CorpusConfig(sources=sources, out_dir=out), on_progress=crash_on_second)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no half-built folder left, stale one cleaned

    build_corpus(CorpusConfig(sources=sources[:1], out_dir=out))
    before = tree_bytes(out)
    with pytest.raises(RuntimeError):
        build_corpus(CorpusConfig(sources=sources, out_dir=out), on_progress=crash_on_second)
    assert tree_bytes(out) == before  # the previous complete corpus is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]

    # A folder that is not a corpus is never replaced.
    precious = write_tree(tmp_path / "precious", {"notes.txt": "mine\n"})
    with pytest.raises(FileExistsError):
        build_corpus(CorpusConfig(sources=sources, out_dir=precious))
    assert (precious / "notes.txt").read_text() == "mine\n"


def test_token_counts_and_recount(tmp_path: Path) -> None:
    pkg = make_dir_package(tmp_path / "src" / "proj", files={"proj/m.py": "def f(x):\n    return x\n"})
    tok_a = make_tokenizer(tmp_path / "a.json", split_punctuation=True)
    tok_b = make_tokenizer(tmp_path / "b.json", split_punctuation=False)
    out = tmp_path / "out"
    summary = build_corpus(CorpusConfig(sources=[("dir", pkg)], out_dir=out, tokenizer=tok_a))
    # def f ( x ): return x
    assert summary.tokens == 7 and read_manifest(out)[0]["tokens"] == "7"
    plain = build_corpus(CorpusConfig(sources=[("dir", pkg)], out_dir=tmp_path / "plain"))
    assert plain.tokens is None and read_manifest(tmp_path / "plain")[0]["tokens"] == "-"
    # def f(x): return x
    recounted = recount_tokens(tmp_path / "plain", tok_b)
    assert recounted.tokens == 4 and read_manifest(tmp_path / "plain")[0]["tokens"] == "4"
    assert report_of(tmp_path / "plain")["totals"]["tokens"] == 4


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = make_dir_package(tmp_path / "src" / "proj")
    other = make_dir_package(tmp_path / "src" / "other")
    out = tmp_path / "out"
    rc = cli_main(["--source", f"dir:{pkg}", "--source", str(other), "--out", str(out), "--held-out", "other", "--max-bytes", "1M", "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "1 packages kept" in printed and "held-out 1" in printed
    tok = make_tokenizer(tmp_path / "tok.json")
    assert cli_main(["recount", "--corpus", str(out), "--tokenizer", str(tok)]) == 0
    assert read_manifest(out)[0]["tokens"] != "-"
    assert cli_main(["--source", f"dir:{tmp_path / 'missing'}", "--out", str(out), "--quiet"]) == 2


# --- real sources on this machine -------------------------------------------------------------

EXPECTED_REAL_LICENCES = {
    "attrs": ("MIT", True),
    "click": ("BSD-3-Clause", True),
    "pluggy": ("MIT", True),
    "iniconfig": ("MIT", True),
    "packaging": ("Apache-2.0 OR BSD-2-Clause", True),
    "certifi": (None, False),  # MPL-2.0
}


def _real_site_packages() -> list[Path]:
    candidates = [Path(sysconfig.get_paths()["purelib"]), Path("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages")]
    return [p for p in dict.fromkeys(candidates) if p.is_dir()]


@pytest.mark.parametrize("site", _real_site_packages(), ids=str)
def test_real_site_packages(site: Path, tmp_path: Path) -> None:
    packages = {p.key: p for p in discover(resolve_spec("site-packages", site))}
    present = {name: expected for name, expected in EXPECTED_REAL_LICENCES.items() if name in packages}
    if len(present) < 2:
        pytest.skip(f"too few known packages in {site}")
    for name, (expression, permissive) in present.items():
        verdict = packages[name].licence()
        assert verdict.permissive is permissive, (name, verdict)
        if expression is not None:
            assert verdict.expression == expression, (name, verdict)
    # A small real build: a few files per package is enough to check that RECORD-based files land
    # in per-package trees under their import paths.
    out = tmp_path / "out"
    summary = build_corpus(
        CorpusConfig(sources=[("site-packages", site)], out_dir=out, limits=CorpusLimits(max_files_per_package=2), held_out=("torch", "sympy"))
    )
    rows = {row["package"]: row for row in read_manifest(out)}
    for name, (expression, permissive) in present.items():
        assert (name in rows) is permissive, name
    if "click" in rows:
        assert any((out / "repos/click/click").glob("*.py"))
    reasons = left_out(out)
    assert reasons.get("torch", "held-out") == "held-out"
    if "hef-training" in reasons:
        assert reasons["hef-training"] == "editable"
    assert summary.files <= 2 * summary.packages_kept


def test_real_stdlib_licence() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    package = StdlibPackage(stdlib)
    verdict = package.licence()
    assert verdict.permissive and verdict.expression == "PSF-2.0"
    assert package.version.count(".") == 2
    files = package.files(FileRules(extensions_for(("python",))))
    first = [f.relpath for _, f in zip(range(5000), files)]
    assert "os.py" in first and not any(r.startswith(("test/", "site-packages/")) for r in first)


def test_stdlib_detection() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if not (stdlib / "LICENSE.txt").is_file():
        pytest.skip("this Python's library folder has no LICENSE.txt")
    assert parse_source(str(stdlib)).kind == "stdlib"
    assert os.path.isdir(stdlib)
