"""Command line: `python -m hef_training.corpus --source KIND:PATH ... --out DIR` builds a corpus,
`python -m hef_training.corpus recount --corpus DIR --tokenizer tokenizer.json` recounts its tokens."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Sequence, TextIO

from .builder import CorpusConfig, CorpusLimits, CorpusSummary, Progress, build_corpus, recount_tokens
from .filters import ALL_LANGUAGES
from .sources import KINDS, parse_source

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_size(text: str) -> int:
    """Bytes, with an optional unit: 300M / 300MiB (binary) or 300MB (decimal)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1000000, 300M, 2G)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _human(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


class _ProgressLine:
    """One line that rewrites itself on a terminal; an occasional plain line in a log file."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 10.0):
            return
        self.last = now
        line = (
            f"[{p.source_index}/{p.source_count}] {p.package[:40]:<40} "
            f"packages {p.packages_seen} (kept {p.packages_kept}), files {p.files}, {_human(p.bytes)}"
        )
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty and self.last:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def format_summary(summary: CorpusSummary, seconds: float) -> str:
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(summary.packages_left_out.items())) or "none"
    tokens = "-" if summary.tokens is None else f"{summary.tokens:,}"
    head = "corpus (unchanged, reused)" if summary.reused else "corpus"
    return (
        f"{head}: {summary.packages_kept} packages kept, {summary.total_left_out} left out ({reasons}); "
        f"{summary.files:,} files, {_human(summary.bytes)} ({summary.bytes:,} bytes), tokens {tokens}; "
        f"{seconds:.1f} s -> {summary.out_dir}"
    )


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m hef_training.corpus",
        description="Build a licence-checked, de-duplicated training corpus (one repository per package). "
        "Subcommand: `recount --corpus DIR --tokenizer tokenizer.json`.",
    )
    ap.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="KIND:PATH",
        help=f"a source, in order of precedence; KIND is one of {', '.join(KINDS)} or left out to detect it",
    )
    ap.add_argument("--out", required=True, type=Path, help="output directory (replaced atomically)")
    ap.add_argument("--held-out", default="", help="comma-separated package names to exclude (evaluation repositories)")
    ap.add_argument("--only", default="", help="comma-separated package names: keep only these (the evaluation repositories themselves)")
    ap.add_argument("--max-bytes", type=parse_size, default=None, help="total byte budget for kept files")
    ap.add_argument("--max-package-bytes", type=parse_size, default=None)
    ap.add_argument("--max-files-per-package", type=int, default=None)
    ap.add_argument("--tokenizer", type=Path, default=None, help="tokenizer.json to count tokens with")
    ap.add_argument("--languages", default=",".join(ALL_LANGUAGES), help="comma-separated: python,javascript,typescript")
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    return ap


def _recount_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m hef_training.corpus recount", description="Recount tokens of a built corpus.")
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--tokenizer", required=True, type=Path)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    start = time.monotonic()
    if argv and argv[0] == "recount":
        args = _recount_parser().parse_args(argv[1:])
        summary = recount_tokens(args.corpus, args.tokenizer)
        print(f"recounted: {summary.packages_kept} packages, {summary.files:,} files, tokens {summary.tokens:,}; {time.monotonic() - start:.1f} s")
        return 0
    if argv and argv[0] == "build":
        argv = argv[1:]
    args = _build_parser().parse_args(argv)
    try:
        specs = [parse_source(s) for s in args.source]
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = CorpusConfig(
        sources=[(s.kind, s.path) for s in specs],
        out_dir=args.out,
        languages=tuple(x for x in args.languages.split(",") if x.strip()),
        held_out=tuple(x.strip() for x in args.held_out.split(",") if x.strip()),
        only=tuple(x.strip() for x in args.only.split(",") if x.strip()),
        limits=CorpusLimits(args.max_files_per_package, args.max_package_bytes, args.max_bytes),
        tokenizer=args.tokenizer,
    )
    progress = None if args.quiet else _ProgressLine(sys.stderr)
    try:
        summary = build_corpus(config, on_progress=progress)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        if progress:
            progress.done()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if progress:
        progress.done()
    print(format_summary(summary, time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
