"""Build the corpus: walk the sources in order, keep permissive, non-held-out packages, write each
kept file once, and publish the result atomically with a manifest and a report.

Output layout (all deterministic, so the same sources give the same bytes):
  repos/<package>/<relative path>   kept files, one directory tree per package
  corpus-manifest.tsv               one row per kept package, sorted by package
  corpus-report.json                totals, every left-out package with its reason, skipped-file counts
  .corpus-state.json                options + source fingerprints; written last, so it marks a complete build
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from collections import Counter
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .filters import ALL_LANGUAGES, MAX_FILE_BYTES, FileRules, extensions_for, normalise_languages
from .sources import Package, SourceSpec, discover, match_key, resolve_spec, source_fingerprint
from .tokens import TokenCounter, file_sha256

# Bump when a rule changes what a build keeps, so old outputs are rebuilt instead of reused.
FORMAT_VERSION = 1
STATE_FILE = ".corpus-state.json"
MANIFEST_FILE = "corpus-manifest.tsv"
REPORT_FILE = "corpus-report.json"
REPOS_DIR = "repos"
MANIFEST_COLUMNS: tuple[str, ...] = ("package", "version", "licence", "files", "bytes", "tokens", "source")


@dataclass(frozen=True)
class CorpusLimits:
    max_files_per_package: int | None = None
    max_package_bytes: int | None = None
    # Total bytes of kept files. Packages are added in the deterministic order until it is reached;
    # the package that reaches it is cut short, the ones after it are left out ("budget").
    max_total_bytes: int | None = None


@dataclass
class CorpusConfig:
    sources: list[tuple[str, str | Path]]  # (kind, path); kind "auto" (or "") detects it
    out_dir: Path
    languages: tuple[str, ...] = ALL_LANGUAGES
    held_out: tuple[str, ...] = ()  # evaluation repositories, by package name
    # When given, only these packages are kept (how the evaluation repositories themselves are built).
    only: tuple[str, ...] = ()
    limits: CorpusLimits = field(default_factory=CorpusLimits)
    tokenizer: Path | None = None  # tokenizer.json for the manifest's token counts


@dataclass(frozen=True)
class Progress:
    source_index: int  # 1-based
    source_count: int
    source: str
    package: str
    packages_seen: int
    packages_kept: int
    files: int
    bytes: int


@dataclass(frozen=True)
class CorpusSummary:
    out_dir: Path
    packages_kept: int
    packages_left_out: dict[str, int]  # reason -> packages
    files: int
    bytes: int
    tokens: int | None
    files_skipped: dict[str, int]  # reason -> files
    reused: bool = False  # an identical complete build was already there

    @property
    def total_left_out(self) -> int:
        return sum(self.packages_left_out.values())


@dataclass
class _Kept:
    package: str
    name: str
    version: str
    licence: str
    licence_from: str
    files: int
    bytes: int
    tokens: int | None
    source: str


@dataclass
class _LeftOut:
    package: str
    name: str
    version: str
    source: str
    reason: str  # held-out | not-selected | licence | duplicate-package | bad-metadata | editable | no-sources | budget
    detail: str


class BuildAborted(RuntimeError):
    pass


def _state_for(config: CorpusConfig, specs: list[SourceSpec], languages: tuple[str, ...]) -> dict:
    return {
        "format": FORMAT_VERSION,
        "options": {
            "sources": [[s.kind, str(s.path)] for s in specs],
            "languages": list(languages),
            "held_out": sorted({match_key(h) for h in config.held_out if h.strip()}),
            "only": sorted({match_key(h) for h in config.only if h.strip()}),
            "limits": asdict(config.limits),
            "max_file_bytes": MAX_FILE_BYTES,
            "tokenizer_sha256": file_sha256(config.tokenizer) if config.tokenizer else None,
        },
        "source_fingerprints": [source_fingerprint(s) for s in specs],
    }


def _read_json(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _dump_json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path) -> None:
    """Remove half-built or half-swapped folders that a killed build left beside the output."""
    if not out.parent.is_dir():
        return
    for prefix in (f".{out.name}.building-", f".{out.name}.old-"):
        for candidate in out.parent.glob(prefix + "*"):
            suffix = candidate.name[len(prefix) :]
            if suffix.isdigit() and not _pid_alive(int(suffix)):
                shutil.rmtree(candidate, ignore_errors=True)


def _check_replaceable(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory")
    looks_like_corpus = (out / STATE_FILE).exists() or (out / MANIFEST_FILE).exists() or (out / REPOS_DIR).exists()
    if any(out.iterdir()) and not looks_like_corpus:
        # Never swap away a folder that holds something else: the user may have mistyped --out.
        raise FileExistsError(f"{out} exists, is not empty and is not a corpus; refusing to replace it")


def _manifest_text(kept: Iterable[_Kept]) -> str:
    def cell(value: object) -> str:
        return "-" if value is None else str(value).replace("\t", " ").replace("\n", " ")

    lines = ["\t".join(MANIFEST_COLUMNS)]
    for k in sorted(kept, key=lambda k: k.package):
        lines.append("\t".join(cell(v) for v in (k.package, k.version, k.licence, k.files, k.bytes, k.tokens, k.source)))
    return "\n".join(lines) + "\n"


class _Build:
    def __init__(self, config: CorpusConfig, specs: list[SourceSpec], languages: tuple[str, ...], on_progress: Callable[[Progress], None] | None) -> None:
        self.config = config
        self.specs = specs
        self.languages = frozenset(languages)
        self.held_out = {match_key(h) for h in config.held_out if h.strip()}
        self.only = {match_key(h) for h in config.only if h.strip()}
        self.on_progress = on_progress
        self.counter = TokenCounter(config.tokenizer) if config.tokenizer else None
        self.seen_hashes: set[bytes] = set()
        # Contents of the held-out packages' files: a copy of one inside another package (cytoolz ships
        # toolz's compatibility.py) is evaluation code too, and is left out like the package itself.
        self.held_hashes: set[bytes] = set()
        self.kept: list[_Kept] = []
        self.left_out: list[_LeftOut] = []
        self.skipped: Counter[str] = Counter()
        self.total_files = 0
        self.total_bytes = 0
        self.budget_exhausted = False
        self.packages_seen = 0

    def run(self, root: Path) -> None:
        repos = root / REPOS_DIR
        repos.mkdir()
        taken: dict[str, tuple[str, str]] = {}  # key -> (ecosystem, origin) of kept packages
        if self.held_out:
            self._collect_held_out()
        for index, spec in enumerate(self.specs, start=1):
            for pkg in discover(spec):
                self.packages_seen += 1
                if self.on_progress:
                    self.on_progress(
                        Progress(index, len(self.specs), spec.label, pkg.key, self.packages_seen, len(self.kept), self.total_files, self.total_bytes)
                    )
                self._package(pkg, repos, taken)

    def _collect_held_out(self) -> None:
        rules = FileRules(extensions_for(self.languages))
        for spec in self.specs:
            for pkg in discover(spec):
                if match_key(pkg.name) not in self.held_out and match_key(pkg.key) not in self.held_out:
                    continue
                if pkg.problem is None:
                    pkg.load()
                if pkg.problem is not None:
                    continue
                with closing(pkg.files(rules)) as candidates:
                    for cand in candidates:
                        if cand.skip is None and cand.read is not None:
                            try:
                                self.held_hashes.add(hashlib.sha256(cand.read(rules.max_file_bytes + 1)).digest())
                            except (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile):
                                continue

    def _leave(self, pkg: Package, reason: str, detail: str = "") -> None:
        self.left_out.append(_LeftOut(pkg.key, pkg.name, pkg.version, pkg.origin, reason, detail))

    def _package(self, pkg: Package, repos: Path, taken: dict[str, tuple[str, str]]) -> None:
        if match_key(pkg.name) in self.held_out or match_key(pkg.key) in self.held_out:
            self._leave(pkg, "held-out", "named in held_out")
            return
        if self.only and match_key(pkg.name) not in self.only and match_key(pkg.key) not in self.only:
            self._leave(pkg, "not-selected", "not named in only")
            return
        if pkg.key in taken:
            ecosystem, origin = taken[pkg.key]
            if ecosystem == pkg.ecosystem and ecosystem != "dir":
                # The same package from an earlier source (say site-packages, then the wheel mirror).
                self._leave(pkg, "duplicate-package", f"already taken from {origin}")
                return
            # A different package that happens to share the name (npm "argparse" after PyPI's, two
            # folders called "src"): it gets its own directory.
            pkg.key = _free_key(pkg.key, pkg.ecosystem, taken)
        if pkg.problem is None:
            pkg.load()
        if pkg.problem is not None:
            self._leave(pkg, pkg.problem_reason, pkg.problem)
            return
        verdict = pkg.licence()
        if not verdict.permissive:
            self._leave(pkg, "licence", verdict.reason())
            return
        languages = pkg.languages & self.languages
        if not languages:
            self._leave(pkg, "no-sources", "none of the selected languages apply to this kind of package")
            return
        limits = self.config.limits
        if self.budget_exhausted or (limits.max_total_bytes is not None and self.total_bytes >= limits.max_total_bytes):
            self.budget_exhausted = True
            self._leave(pkg, "budget", "total byte budget reached")
            return

        rules = FileRules(extensions_for(languages))
        pkg_dir = repos / pkg.key
        local_skips: Counter[str] = Counter()
        files = 0
        nbytes = 0
        stopped: str | None = None
        texts: list[str] = []
        tokens = 0
        budget_left = None if limits.max_total_bytes is None else limits.max_total_bytes - self.total_bytes
        with closing(pkg.files(rules)) as candidates:
            for cand in candidates:
                if stopped is None and limits.max_files_per_package is not None and files >= limits.max_files_per_package:
                    stopped = "package-limit"
                if stopped is not None:
                    # The rest of the package is counted, not read.
                    local_skips[stopped] += 1
                    continue
                if cand.skip is not None or cand.read is None:
                    local_skips[cand.skip or "unreadable"] += 1
                    continue
                reason = rules.path_reason(cand.relpath) or rules.size_reason(cand.size)
                if reason is None:
                    try:
                        data = cand.read(rules.max_file_bytes + 1)
                    except (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile):
                        # A corrupt archive member or a file that vanished: lose the file, not the build.
                        local_skips["unreadable"] += 1
                        continue
                    reason = rules.content_reason(data)
                if reason is not None:
                    local_skips[reason] += 1
                    continue
                digest = hashlib.sha256(data).digest()
                if digest in self.held_hashes:
                    local_skips["held-out-copy"] += 1
                    continue
                if digest in self.seen_hashes:
                    local_skips["duplicate"] += 1
                    continue
                if budget_left is not None and nbytes + len(data) > budget_left:
                    stopped = "budget"
                elif limits.max_package_bytes is not None and nbytes + len(data) > limits.max_package_bytes:
                    stopped = "package-limit"
                if stopped is not None:
                    local_skips[stopped] += 1
                    continue
                if not self._write(pkg_dir, cand.relpath, data):
                    local_skips["unwritable-path"] += 1
                    continue
                self.seen_hashes.add(digest)
                files += 1
                nbytes += len(data)
                if self.counter is not None:
                    texts.append(data.decode("utf-8"))
                    if len(texts) >= 256:
                        tokens += self.counter.count(texts)
                        texts.clear()
        if self.counter is not None and texts:
            tokens += self.counter.count(texts)
        self.skipped.update(local_skips)
        if stopped == "budget":
            self.budget_exhausted = True
        if files == 0:
            if stopped == "budget":
                self._leave(pkg, "budget", "total byte budget reached")
            else:
                why = ", ".join(f"{r}: {n}" for r, n in sorted(local_skips.items())) or "no files of the selected languages"
                self._leave(pkg, "no-sources", why)
            return
        taken[pkg.key] = (pkg.ecosystem, pkg.origin)
        self.total_files += files
        self.total_bytes += nbytes
        self.kept.append(
            _Kept(pkg.key, pkg.name, pkg.version, verdict.expression, verdict.origin, files, nbytes, tokens if self.counter else None, pkg.origin)
        )

    @staticmethod
    def _write(pkg_dir: Path, relpath: str, data: bytes) -> bool:
        dest = pkg_dir / relpath
        # relpath was checked by safe_relpath; this is the last guard before touching the disk.
        if os.path.commonpath([os.path.normpath(dest), os.path.normpath(pkg_dir)]) != os.path.normpath(pkg_dir):
            return False
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "xb") as fh:
                fh.write(data)
        except OSError:
            return False
        return True

    def report(self, state: dict) -> dict:
        by_reason = Counter(l.reason for l in self.left_out)
        tokens = sum(k.tokens or 0 for k in self.kept) if self.counter else None
        return {
            "format": FORMAT_VERSION,
            "options": state["options"],
            "totals": {
                "packages_kept": len(self.kept),
                "packages_left_out": len(self.left_out),
                "files": self.total_files,
                "bytes": self.total_bytes,
                "tokens": tokens,
            },
            "left_out_by_reason": dict(sorted(by_reason.items())),
            "files_skipped": dict(sorted(self.skipped.items())),
            "kept": [
                {k: v for k, v in asdict(kept).items() if k != "tokens"} for kept in sorted(self.kept, key=lambda k: k.package)
            ],
            # In build order (sources as given, packages by name), which is what the budget follows.
            "left_out": [asdict(l) for l in self.left_out],
        }


def _free_key(key: str, ecosystem: str, taken: dict[str, tuple[str, str]]) -> str:
    candidate = f"{key}.{ecosystem}"
    n = 2
    while candidate in taken:
        candidate = f"{key}.{ecosystem}{n}"
        n += 1
    return candidate


def _summary(out: Path, report: dict, reused: bool) -> CorpusSummary:
    totals = report.get("totals", {})
    return CorpusSummary(
        out_dir=out,
        packages_kept=int(totals.get("packages_kept", 0)),
        packages_left_out=dict(report.get("left_out_by_reason", {})),
        files=int(totals.get("files", 0)),
        bytes=int(totals.get("bytes", 0)),
        tokens=totals.get("tokens"),
        files_skipped=dict(report.get("files_skipped", {})),
        reused=reused,
    )


def build_corpus(config: CorpusConfig, on_progress: Callable[[Progress], None] | None = None) -> CorpusSummary:
    """Build (or reuse) the corpus that config describes. on_progress is called before each
    package; an exception from it aborts the build and leaves the previous output as it was."""
    specs = [resolve_spec(kind, path) for kind, path in config.sources]
    if not specs:
        raise ValueError("no sources given")
    languages = normalise_languages(config.languages)
    if not languages:
        raise ValueError("no languages selected")
    out = Path(config.out_dir).absolute()
    state = _state_for(config, specs, languages)

    old_state = _read_json(out / STATE_FILE)
    old_report = _read_json(out / REPORT_FILE)
    if old_state == state and old_report is not None and (out / MANIFEST_FILE).is_file():
        return _summary(out, old_report, reused=True)

    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    # Beside the output, so the final rename stays on one file system.
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build = _Build(config, specs, languages, on_progress)
        build.run(tmp)
        report = build.report(state)
        _write_text(tmp / MANIFEST_FILE, _manifest_text(build.kept))
        _write_text(tmp / REPORT_FILE, _dump_json(report))
        _write_text(tmp / STATE_FILE, _dump_json(state))
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _summary(out, report, reused=False)


def _publish(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)  # ours: left by an earlier call of this process that failed mid-swap
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    if old.exists():
        shutil.rmtree(old)


# --- recount ----------------------------------------------------------------------------------


def read_manifest(corpus_dir: Path) -> list[dict[str, str]]:
    with open(Path(corpus_dir) / MANIFEST_FILE, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    if not lines or tuple(lines[0].split("\t")) != MANIFEST_COLUMNS:
        raise ValueError(f"{corpus_dir / MANIFEST_FILE} does not have the corpus manifest header")
    return [dict(zip(MANIFEST_COLUMNS, line.split("\t"))) for line in lines[1:] if line]


def package_files(corpus_dir: Path, package: str) -> list[Path]:
    """The kept files of one package, in the order the builder wrote them."""
    root = Path(corpus_dir) / REPOS_DIR / package
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found += [Path(dirpath, f) for f in filenames]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def recount_tokens(corpus_dir: Path, tokenizer: Path, on_package: Callable[[str], None] | None = None) -> CorpusSummary:
    """Count tokens of an existing corpus with a (new) tokenizer and rewrite the manifest and the
    report's token total. The tokenizer is trained on the corpus itself, hence a second pass."""
    corpus_dir = Path(corpus_dir).absolute()
    counter = TokenCounter(tokenizer)
    rows = read_manifest(corpus_dir)
    total = 0
    for row in rows:
        if on_package:
            on_package(row["package"])
        texts = [p.read_bytes().decode("utf-8") for p in package_files(corpus_dir, row["package"])]
        row["tokens"] = str(counter.count(texts))
        total += int(row["tokens"])
    lines = ["\t".join(MANIFEST_COLUMNS)] + ["\t".join(row[c] for c in MANIFEST_COLUMNS) for row in sorted(rows, key=lambda r: r["package"])]
    _replace_file(corpus_dir / MANIFEST_FILE, "\n".join(lines) + "\n")
    report = _read_json(corpus_dir / REPORT_FILE) or {}
    report.setdefault("totals", {})["tokens"] = total
    report["tokens_counted_with"] = file_sha256(tokenizer)
    _replace_file(corpus_dir / REPORT_FILE, _dump_json(report))
    return _summary(corpus_dir, report, reused=True)


def _replace_file(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _write_text(tmp, text)
    os.replace(tmp, path)
