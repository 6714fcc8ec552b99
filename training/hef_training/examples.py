"""Training examples from exported repositories:

- line completions (repository, file, cursor, prefix, suffix, gold line or lines) at the cursors the
  task builder drew (`hef tasks`, drawn as line-completion benchmarks draw them), each with the index
  view `hef export` made for it, in which the target file's future does not exist;
- query/chunk pairs for the embedder: the query window before a cursor and the chunk it needs.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .exports import RepoExport, TaskView
from .prompts import CHARS_PER_TOKEN, prefix_window, suffix_window, tail_text
from .tokenizer import CodeTokenizer


@dataclass(frozen=True)
class LineExample:
    repo: int  # index into the exports
    task: int  # index into that export's tasks
    path: str
    prefix: list[int]
    suffix: list[int]
    gold: list[int]


def read_source(path: Path) -> str:
    """A file as the sidecar reads it: UTF-8, a byte order mark dropped, line ends as they are."""
    text = path.read_bytes().decode("utf-8")
    return text[1:] if text.startswith("\ufeff") else text


def split_at_line(text: str, line_no: int, lines: int) -> tuple[str, str, str]:
    """Text before 0-based line line_no, the next `lines` lines, the rest; lines end at "\n" alone, as
    the sidecar counts them (futureExcluded), so the prefix is exactly what the task's index view holds."""
    parts = re.split(r"(?<=\n)", text)
    prefix = "".join(parts[:line_no])
    gold = "".join(parts[line_no : line_no + lines])
    if gold and not gold.endswith("\n"):
        gold += "\n"
    return prefix, gold, "".join(parts[line_no + lines :])


def line_examples(
    exports: list[RepoExport],
    tokenizer: CodeTokenizer,
    *,
    seed: int,
    multi_line_share: float = 0.2,
    empty_suffix_share: float = 0.5,
) -> list[LineExample]:
    """One example per exported task. Some golds run over 2-3 lines; some have no suffix, as `hef eval` asks."""
    rng = random.Random(seed)
    out: list[LineExample] = []
    for r, export in enumerate(exports):
        texts: dict[str, str] = {}
        for t, task in enumerate(export.tasks):
            if task.path not in texts:
                texts[task.path] = read_source(export.root / task.path)
            lines = rng.choice((2, 3)) if rng.random() < multi_line_share else 1
            prefix, gold, suffix = split_at_line(texts[task.path], task.line_no, lines)
            if not gold.strip():
                continue
            if rng.random() < empty_suffix_share:
                suffix = ""
            out.append(LineExample(r, t, task.path, prefix_window(tokenizer, prefix), suffix_window(tokenizer, suffix), tokenizer.encode(gold)))
    return out


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True)
class QueryPair:
    query: list[int]
    chunk: list[int]
    cross_file: bool


def _needed_chunk(export: RepoExport, task: TaskView, gold: str, idf: dict[str, float], chunk_ids: list[Counter[str]]) -> tuple[int, bool] | None:
    """The chunk of another file that shares the rarest names with the gold lines, else the chunk the cursor is in."""
    names = set(IDENTIFIER.findall(gold))
    best, best_score = -1, 0.0
    for row in range(export.base_chunks):
        chunk = export.chunks[row]
        if chunk.path == task.path:
            continue
        score = sum(idf.get(n, 0.0) for n in names if chunk_ids[row][n])
        if score > best_score:
            best, best_score = row, score
    if best >= 0:
        return best, True
    for row in range(export.base_chunks):
        chunk = export.chunks[row]
        if chunk.path == task.path and chunk.start_line <= task.line_no + 1 <= chunk.end_line:
            return row, False
    return None


def query_pairs(exports: list[RepoExport], tokenizer: CodeTokenizer, max_tokens: int = 512) -> list[QueryPair]:
    """For each task: its query window and the chunk it needs (cross-file by shared rare names, else in-file)."""
    pairs: list[QueryPair] = []
    for export in exports:
        chunk_ids = [Counter(IDENTIFIER.findall(c.text)) for c in export.chunks[: export.base_chunks]]
        documents = Counter(n for ids in chunk_ids for n in ids)
        idf = {n: math.log(len(chunk_ids) / df) for n, df in documents.items()}
        texts: dict[str, str] = {}
        for task in export.tasks:
            if task.path not in texts:
                texts[task.path] = read_source(export.root / task.path)
            prefix, gold, after = split_at_line(texts[task.path], task.line_no, 1)
            needed = _needed_chunk(export, task, gold + "".join(after.splitlines(keepends=True)[:2]), idf, chunk_ids)
            if needed is None:
                continue
            row, cross = needed
            query = tokenizer.encode(tail_text(prefix, max_tokens * CHARS_PER_TOKEN))[-max_tokens:]
            chunk = tokenizer.encode(export.chunks[row].text)[:max_tokens]
            if query and chunk:
                pairs.append(QueryPair(query, chunk, cross))
    return pairs
