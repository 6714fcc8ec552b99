"""The five kinds of source a corpus is built from, each turned into a sorted list of packages.

A package knows its name, version, licence evidence and its candidate source files; it never
decides what is kept (that is the builder's and the filters' job). Everything is listed in sorted
order so that the same folders always give the same corpus.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import re
import stat
import sysconfig
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Callable, Iterator

from .filters import NPM_LANGUAGES, PYTHON_LANGUAGES, FileRules, safe_relpath
from .licences import (
    LicenceEvidence,
    LicenceVerdict,
    is_licence_file_name,
    resolve_licence,
    verdict_from_texts,
)

KINDS: tuple[str, ...] = ("site-packages", "stdlib", "wheels", "npm", "dir")
ALL_SOURCE_LANGUAGES: frozenset[str] = frozenset({"python", "javascript", "typescript"})
LICENCE_READ_LIMIT = 256 * 1024
STDLIB_NAME = "python-stdlib"

# Parts of a standard library folder that are not the library: other packages, the test suite
# (with deliberately broken files), build configuration and compiled extensions.
_STDLIB_PRUNE = frozenset({"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__", "lib-dynload"})
_WALK_PRUNE = frozenset({"node_modules", "__pycache__", "site-packages", "dist-packages"})


# --- names ------------------------------------------------------------------------------------


def canonical_python_name(name: str) -> str:
    """PEP 503 normalisation, so that Flask_Login, flask-login and Flask.Login are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def safe_dir_name(name: str) -> str:
    """A package name as one safe path component: "@scope/name" -> "scope__name"."""
    if name.startswith("@") and "/" in name:
        scope, _, rest = name[1:].partition("/")
        name = f"{scope}__{rest}"
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip(".")
    return name or "_"


def match_key(name: str) -> str:
    """What held-out names are compared by: case, separators and the "@scope/" spelling do not matter."""
    return canonical_python_name(safe_dir_name(name.strip()))


# --- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    relpath: str  # POSIX path inside the package; the raw name when skip is set
    size: int  # as listed (directory entry, zip header); the bytes are checked again when read
    read: Callable[[int], bytes] | None  # read(limit) returns at most limit bytes
    skip: str | None = None  # why it cannot be used at all (unsafe path, symlink, missing)


def _file_reader(path: Path) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        with open(path, "rb") as fh:
            return fh.read(limit)

    return read


def _read_text(path: Path, limit: int = LICENCE_READ_LIMIT) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _walk_files(root: Path, prune: Callable[[str, str], bool]) -> list[tuple[str, Path]]:
    """Regular files under root as (relpath, path), sorted; symlinks are never followed, so a
    link cannot pull files from outside the folder into the corpus."""
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        dirnames[:] = sorted(d for d in dirnames if not prune(rel_dir, d) and not os.path.islink(os.path.join(dirpath, d)))
        for fname in filenames:
            rel = f"{rel_dir}/{fname}" if rel_dir else fname
            found.append((rel, Path(dirpath, fname)))
    found.sort()
    return found


def _fs_source_files(entries: list[tuple[str, Path]], rules: FileRules) -> Iterator[SourceFile]:
    for rel, path in entries:
        if not rules.wants(rel):
            continue
        try:
            st = os.lstat(path)
        except OSError:
            yield SourceFile(rel, 0, None, "missing")
            continue
        if stat.S_ISLNK(st.st_mode):
            yield SourceFile(rel, 0, None, "symlink")
        elif not stat.S_ISREG(st.st_mode):
            yield SourceFile(rel, 0, None, "not-a-file")
        else:
            yield SourceFile(rel, st.st_size, _file_reader(path))


def _fingerprint(lines: list[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def _stat_line(path: Path, label: str) -> str:
    try:
        st = path.stat()
        return f"{label}\t{st.st_size}\t{st.st_mtime_ns}"
    except OSError:
        return f"{label}\t-"


# --- packages ---------------------------------------------------------------------------------


class Package(ABC):
    """One repository of the corpus."""

    ecosystem = "dir"  # python | npm | dir: one name means one package only within an ecosystem

    def __init__(self, name: str, key: str, version: str, origin: str, languages: frozenset[str]) -> None:
        self.name = name  # as the package spells it
        self.key = key  # directory name under repos/ and the manifest's package column
        self.version = version
        self.origin = origin  # the manifest's source column: kind and the exact path read
        self.languages = languages  # what this kind of package may contribute
        self.problem: str | None = None  # set when the package cannot or should not be read
        self.problem_reason = "bad-metadata"  # the report's reason when problem is set

    def load(self) -> None:
        """Read metadata that is too costly for discovery (wheels); a no-op elsewhere."""

    @abstractmethod
    def licence(self) -> LicenceVerdict: ...

    @abstractmethod
    def files(self, rules: FileRules) -> Iterator[SourceFile]:
        """Candidate source files in sorted relpath order (a generator: close it to release files)."""


def _parse_metadata(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    """Core metadata headers, the classifiers and License-File entries."""
    msg = HeaderParser().parsestr(text, headersonly=True)
    headers = {k: str(v) for k, v in msg.items() if k not in ("Classifier", "License-File")}
    return headers, [str(c) for c in msg.get_all("Classifier") or []], [str(f) for f in msg.get_all("License-File") or []]


def _python_evidence(headers: dict[str, str], classifiers: list[str], licence_files: list[tuple[str, str]]) -> LicenceEvidence:
    return LicenceEvidence(
        expression=headers.get("License-Expression"),
        declared=headers.get("License"),
        classifiers=[c for c in classifiers if c.startswith("License ::")],
        files=licence_files,
    )


class SitePackage(Package):
    """An installed distribution: files from its RECORD, metadata from its .dist-info."""
    ecosystem = "python"


    def __init__(self, root: Path, dist_info: Path) -> None:
        self.root = root
        self.dist_info = dist_info
        headers: dict[str, str] = {}
        self.classifiers: list[str] = []
        self.license_files: list[str] = []
        meta_path = dist_info / "METADATA"
        problem = None
        if meta_path.is_file():
            headers, self.classifiers, self.license_files = _parse_metadata(_read_text(meta_path, 4 * 1024 * 1024))
        else:
            problem = "no METADATA"
        stem_name, _, stem_version = dist_info.name[: -len(".dist-info")].partition("-")
        name = headers.get("Name") or stem_name
        super().__init__(
            name=name,
            key=safe_dir_name(canonical_python_name(name)),
            version=headers.get("Version") or stem_version or "-",
            origin=f"site-packages:{dist_info}",
            languages=PYTHON_LANGUAGES,
        )
        self.headers = headers
        self.problem = problem
        self.record: list[str] = []
        try:
            with open(dist_info / "RECORD", newline="", encoding="utf-8", errors="replace") as fh:
                self.record = [row[0] for row in csv.reader(fh) if row and row[0]]
        except OSError:
            self.problem = self.problem or "no RECORD"
        direct_url = _read_text(dist_info / "direct_url.json")
        if direct_url:
            try:
                editable = bool(json.loads(direct_url).get("dir_info", {}).get("editable"))
            except (ValueError, AttributeError):
                editable = False
            if editable:
                # Its code lives in a working tree elsewhere (maybe the project being evaluated);
                # site-packages holds only a generated import hook.
                self.problem = "editable install"
                self.problem_reason = "editable"

    def licence(self) -> LicenceVerdict:
        texts: list[tuple[str, str]] = []
        names: set[str] = set()
        # PEP 639 puts licence files under .dist-info/licenses/; older wheels at its top level.
        for path in sorted(self.dist_info.rglob("*")):
            rel = path.relative_to(self.dist_info).as_posix()
            if path.is_file() and (rel.startswith("licenses/") or is_licence_file_name(path.name)):
                names.add(rel)
                texts.append((rel, _read_text(path)))
        for entry in sorted(self.record):
            rel = safe_relpath(entry)
            if rel and ".dist-info/" not in rel and is_licence_file_name(rel.rsplit("/", 1)[-1]) and rel not in names:
                texts.append((rel, _read_text(self.root / rel)))
        return resolve_licence(_python_evidence(self.headers, self.classifiers, texts))

    def files(self, rules: FileRules) -> Iterator[SourceFile]:
        seen: set[str] = set()
        entries: list[tuple[str, Path]] = []
        for entry in self.record:
            if not rules.wants(entry):
                continue
            rel = safe_relpath(entry)
            if rel is None:
                # Scripts installed outside site-packages ("../../bin/x") are not the package's tree.
                continue
            if ".dist-info/" in rel or rel in seen:
                continue
            seen.add(rel)
            entries.append((rel, self.root / rel))
        entries.sort()
        yield from _fs_source_files(entries, rules)


class StdlibPackage(Package):
    ecosystem = "python"

    def __init__(self, root: Path) -> None:
        super().__init__(STDLIB_NAME, STDLIB_NAME, _stdlib_version(root), f"stdlib:{root}", PYTHON_LANGUAGES)
        self.root = root

    def licence(self) -> LicenceVerdict:
        text_path = self.root / "LICENSE.txt"
        if text_path.is_file():
            verdict = verdict_from_texts([("LICENSE.txt", _read_text(text_path))], origin="file:LICENSE.txt")
            if verdict is not None:
                return verdict
        # Distributions that strip LICENSE.txt from the library folder still ship Python under the PSF licence.
        return LicenceVerdict("PSF-2.0", True, "python-stdlib")

    def _prune(self, rel_dir: str, name: str) -> bool:
        return name.startswith(".") or name in _STDLIB_PRUNE or (rel_dir == "" and name.startswith("config-"))

    def files(self, rules: FileRules) -> Iterator[SourceFile]:
        entries = [
            (rel, path)
            for rel, path in _walk_files(self.root, self._prune)
            # Build-machine configuration, written by the build: not library code.
            if not rel.rsplit("/", 1)[-1].startswith("_sysconfigdata_")
        ]
        yield from _fs_source_files(entries, rules)


def _stdlib_version(root: Path) -> str:
    try:
        if root.resolve() == Path(sysconfig.get_paths()["stdlib"]).resolve():
            return platform.python_version()
    except OSError:
        pass
    text = str(root.resolve())
    found = re.search(r"(?:versions|python|Python)[/-]?(\d+\.\d+\.\d+)", text) or re.search(r"python(\d+\.\d+)", text)
    return found.group(1) if found else "-"


# --- wheels -----------------------------------------------------------------------------------

_VERSION = re.compile(
    r"^(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:(?:-(?P<post_n1>\d+))|(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d*)))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev_n>\d*))?"
    r"(?:\+(?P<local>[a-z0-9.]+))?$",
    re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(version: str) -> tuple:
    """PEP 440 ordering without the `packaging` dependency; unparsable versions sort first."""
    m = _VERSION.match(version.strip())
    if not m:
        return (-1, (), (0, 0), -1, (0, 0), version)
    release = tuple(int(p) for p in m.group("release").split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    pre_l, post, dev = m.group("pre_l"), m.group("post_n1") or m.group("post_n2"), m.group("dev_n")
    # An optional group that matched without digits is "" (1.0.post == 1.0.post0), one that did not is None.
    has_post = m.group("post_n1") is not None or m.group("post_n2") is not None
    has_dev = dev is not None
    if pre_l:
        pre = (_PRE_RANK[pre_l.lower()], int(m.group("pre_n") or 0))
    elif has_dev and not has_post:
        pre = (-1, 0)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (3, 0)
    post_key = int(post or 0) if has_post else -1
    dev_key = (0, int(dev or 0)) if has_dev else (1, 0)
    local = tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in (m.group("local") or "").split(".") if p)
    return (int(m.group("epoch") or 0), release, pre, post_key, dev_key, local)


def _wheel_name_version(path: Path) -> tuple[str, str] | None:
    parts = path.name[: -len(".whl")].split("-")
    if len(parts) < 5:
        return None
    return parts[0], parts[1]


def _is_symlink_entry(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


class WheelPackage(Package):
    ecosystem = "python"

    def __init__(self, path: Path, name: str, version: str) -> None:
        super().__init__(name, safe_dir_name(canonical_python_name(name)), version, f"wheels:{path}", PYTHON_LANGUAGES)
        self.path = path
        self._verdict: LicenceVerdict | None = None

    def load(self) -> None:
        """Read METADATA and the licence files now; the zip is closed again before the files are."""
        try:
            with zipfile.ZipFile(self.path) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
                dist_infos = sorted({n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")})
                if not dist_infos:
                    self.problem = "no .dist-info in wheel"
                    return
                dist_info = dist_infos[0]
                meta_name = f"{dist_info}/METADATA"
                if meta_name not in names:
                    self.problem = "no METADATA in wheel"
                    return
                headers, classifiers, _ = _parse_metadata(zf.read(meta_name).decode("utf-8", errors="replace"))
                self.name = headers.get("Name") or self.name
                self.version = headers.get("Version") or self.version
                texts: list[tuple[str, str]] = []
                for n in sorted(names):
                    base = n.rsplit("/", 1)[-1]
                    in_dist_info = n.startswith(dist_info + "/")
                    if (in_dist_info and (n.startswith(f"{dist_info}/licenses/") or is_licence_file_name(base))) or (
                        not in_dist_info and n.count("/") <= 1 and is_licence_file_name(base)
                    ):
                        with zf.open(n) as fh:
                            texts.append((n, fh.read(LICENCE_READ_LIMIT).decode("utf-8", errors="replace")))
                self._verdict = resolve_licence(_python_evidence(headers, classifiers, texts))
        except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            self.problem = f"unreadable wheel: {exc}"

    def licence(self) -> LicenceVerdict:
        if self._verdict is None:
            self.load()
        return self._verdict or LicenceVerdict("UNKNOWN", False, "none", self.problem or "no licence information")

    def files(self, rules: FileRules) -> Iterator[SourceFile]:
        with zipfile.ZipFile(self.path) as zf:
            chosen: dict[str, zipfile.ZipInfo] = {}
            unsafe: list[str] = []
            for info in zf.infolist():
                if info.is_dir() or not rules.wants(info.filename):
                    continue
                rel = safe_relpath(info.filename)
                if rel is None or _is_symlink_entry(info):
                    unsafe.append(info.filename)
                    continue
                top, _, rest = rel.partition("/")
                if top.endswith(".dist-info"):
                    continue
                if top.endswith(".data"):
                    # Only purelib/platlib are installed into the package tree; scripts and headers are not.
                    sub, _, rest2 = rest.partition("/")
                    if sub not in ("purelib", "platlib") or not rest2:
                        continue
                    rel = rest2
                chosen.setdefault(rel, info)  # a zip may repeat a name: the first one wins
            for name in sorted(unsafe):
                yield SourceFile(name, 0, None, "unsafe-path")
            for rel in sorted(chosen):
                info = chosen[rel]

                def read(limit: int, info: zipfile.ZipInfo = info) -> bytes:
                    # Read at most limit bytes: the header's size may lie (zip bombs).
                    with zf.open(info) as fh:
                        return fh.read(limit)

                yield SourceFile(rel, info.file_size, read)


# --- npm --------------------------------------------------------------------------------------


class NpmPackage(Package):
    ecosystem = "npm"

    def __init__(self, root: Path, manifest: dict | None, problem: str | None) -> None:
        manifest = manifest or {}
        fallback = root.name if not root.parent.name.startswith("@") else f"{root.parent.name}/{root.name}"
        name = manifest.get("name") if isinstance(manifest.get("name"), str) and manifest.get("name") else fallback
        version = manifest.get("version") if isinstance(manifest.get("version"), str) else "-"
        super().__init__(name, safe_dir_name(name), version or "-", f"npm:{root}", NPM_LANGUAGES)
        self.root = root
        self.manifest = manifest
        self.problem = problem

    def licence(self) -> LicenceVerdict:
        declared: str | None = None
        files: list[tuple[str, str]] = []
        lic = self.manifest.get("license")
        if isinstance(lic, dict):
            lic = lic.get("type")
        if isinstance(lic, str) and lic.strip():
            see = re.match(r"^\s*SEE LICEN[CS]E IN\s+(.+?)\s*$", lic, re.IGNORECASE)
            if see:
                rel = safe_relpath(see.group(1))
                if rel:
                    files.append((rel, _read_text(self.root / rel)))
            else:
                declared = lic
        elif isinstance(self.manifest.get("licenses"), list):
            # The deprecated array form lists licences the user may choose between.
            types = []
            for item in self.manifest["licenses"]:
                t = item.get("type") if isinstance(item, dict) else item
                if isinstance(t, str) and t.strip():
                    types.append(f"({t.strip()})")
            declared = " OR ".join(types) or None
        for rel, path in _walk_files(self.root, lambda d, n: True):  # top level only
            if is_licence_file_name(rel) and not any(rel == f for f, _ in files):
                files.append((rel, _read_text(path)))
        return resolve_licence(LicenceEvidence(expression=declared, files=files, expression_origin="package.json"))

    def files(self, rules: FileRules) -> Iterator[SourceFile]:
        # Nested node_modules are other packages (often other versions of them); hidden folders
        # are tooling (.github, .cache).
        entries = _walk_files(self.root, lambda d, n: n.startswith(".") or n in _WALK_PRUNE)
        yield from _fs_source_files(entries, rules)


# --- any folder -------------------------------------------------------------------------------


class DirPackage(Package):
    def __init__(self, root: Path) -> None:
        name = root.resolve().name or "dir"
        super().__init__(name, safe_dir_name(name), "-", f"dir:{root}", ALL_SOURCE_LANGUAGES)
        self.root = root

    def licence(self) -> LicenceVerdict:
        texts = [(rel, _read_text(path)) for rel, path in _walk_files(self.root, lambda d, n: True) if is_licence_file_name(rel)]
        return resolve_licence(LicenceEvidence(files=texts))

    def files(self, rules: FileRules) -> Iterator[SourceFile]:
        entries = _walk_files(self.root, lambda d, n: n.startswith(".") or n in _WALK_PRUNE or n in ("venv", "env"))
        yield from _fs_source_files(entries, rules)


# --- sources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSpec:
    kind: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.path}"


def _looks_like_stdlib(path: Path) -> bool:
    licence = path / "LICENSE.txt"
    return (path / "os.py").is_file() and licence.is_file() and "python software foundation" in _read_text(licence).lower()


def detect_kind(path: Path) -> str:
    if path.is_file() and path.suffix == ".whl":
        return "wheels"
    if not path.is_dir():
        raise FileNotFoundError(f"source folder not found: {path}")
    if path.name == "node_modules":
        return "npm"
    if _looks_like_stdlib(path):
        return "stdlib"
    with os.scandir(path) as it:
        names = [e.name for e in it]
    if any(n.endswith(".dist-info") for n in names):
        return "site-packages"
    if any(n.endswith(".whl") for n in names):
        return "wheels"
    return "dir"


def parse_source(text: str) -> SourceSpec:
    """ "kind:path" or a bare path whose kind is detected."""
    kind, sep, rest = text.partition(":")
    if sep and kind in KINDS + ("auto",):
        path = Path(rest).expanduser()
    else:
        kind, path = "auto", Path(text).expanduser()
    return resolve_spec(kind, path)


def resolve_spec(kind: str, path: Path | str) -> SourceSpec:
    path = Path(path)
    if kind in ("", "auto"):
        kind = detect_kind(path)
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r} (known: {', '.join(KINDS)})")
    if not path.exists():
        raise FileNotFoundError(f"source not found: {path}")
    return SourceSpec(kind, path)


def _is_pure_wheel(path: Path) -> bool:
    return path.name.endswith("-none-any.whl")


def discover(spec: SourceSpec) -> list[Package]:
    """The packages of one source, sorted by key (ties by path, so the order is total)."""
    path = spec.path
    packages: list[Package] = []
    if spec.kind == "site-packages":
        for dist in sorted(path.glob("*.dist-info")):
            if dist.is_dir():
                packages.append(SitePackage(path, dist))
    elif spec.kind == "stdlib":
        packages.append(StdlibPackage(path))
    elif spec.kind == "dir":
        packages.append(DirPackage(path))
    elif spec.kind == "wheels":
        wheel_files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix == ".whl" and p.is_file())
        newest: dict[str, tuple[tuple, Path, str, str]] = {}
        for wheel in wheel_files:
            parsed = _wheel_name_version(wheel)
            if parsed is None:
                continue
            name, version = parsed
            key = canonical_python_name(name)
            # Newest version; for one version a pure wheel, then the file name, so the pick is stable.
            rank = (version_key(version), _is_pure_wheel(wheel), wheel.name)
            if key not in newest or rank > newest[key][0]:
                newest[key] = (rank, wheel, name, version)
        for key in sorted(newest):
            _, wheel, name, version = newest[key]
            packages.append(WheelPackage(wheel, name, version))
    elif spec.kind == "npm":
        for entry in sorted(os.listdir(path)):
            if entry.startswith("."):
                continue
            full = path / entry
            if entry.startswith("@") and full.is_dir() and not full.is_symlink():
                packages.extend(_npm_package(full / sub) for sub in sorted(os.listdir(full)) if not sub.startswith("."))
            else:
                packages.append(_npm_package(full))
    packages.sort(key=lambda p: (p.key, p.origin))
    return packages


def _npm_package(root: Path) -> NpmPackage:
    if root.is_symlink():
        # Links are workspace packages (the user's own code, maybe an evaluation repository), not installed ones.
        return NpmPackage(root, None, "symlinked package")
    if not root.is_dir():
        return NpmPackage(root, None, "not a package folder")
    try:
        with open(root / "package.json", encoding="utf-8") as fh:
            manifest = json.load(fh)
        if not isinstance(manifest, dict):
            raise ValueError("package.json is not an object")
    except (OSError, ValueError) as exc:
        return NpmPackage(root, None, f"no readable package.json ({type(exc).__name__})")
    return NpmPackage(root, manifest, None)


def source_fingerprint(spec: SourceSpec) -> str:
    """Cheap evidence that a source has not changed since a build: names, sizes and times of what
    defines its packages (every candidate file for folders, the metadata for installed and packed
    packages, whose files change only with their RECORD or archive)."""
    path = spec.path
    lines: list[str] = [spec.label]
    if spec.kind == "wheels":
        wheels = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix == ".whl")
        lines += [_stat_line(w, w.name) for w in wheels]
    elif spec.kind == "site-packages":
        for dist in sorted(path.glob("*.dist-info")):
            lines += [_stat_line(dist / "METADATA", f"{dist.name}/METADATA"), _stat_line(dist / "RECORD", f"{dist.name}/RECORD")]
    elif spec.kind == "npm":
        for pkg in discover(spec):
            root = Path(pkg.origin.split(":", 1)[1])
            lines.append(_stat_line(root / "package.json", f"{pkg.key}/package.json"))
            lines += [_stat_line(p, f"{pkg.key}/{rel}") for rel, p in _walk_files(root, lambda d, n: n.startswith(".") or n in _WALK_PRUNE)]
    else:
        for rel, p in _walk_files(path, lambda d, n: n.startswith(".") or n in _WALK_PRUNE):
            lines.append(_stat_line(p, rel))
    return _fingerprint(lines)
