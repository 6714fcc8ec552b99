"""Generator pre-training data: the corpus's files as one token stream from which fixed-length windows
are drawn. A file is a document of its own, or, at a given rate, pieces that each become a PSM or SPM
FIM example (a piece fits a window, so an example is never cut in two); some documents are whole
repositories in the `<|file_sep|>path` format rag mode injects, so the generator learns to use
context from other files both ways the sidecar gives it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .prompts import CHARS_PER_TOKEN, fim_layout
from .runtime import atomic_write
from .tokenizer import CodeTokenizer

SOURCE_SUFFIXES = (".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts")


@dataclass(frozen=True)
class LmDataConfig:
    seq_len: int = 512
    fim_rate: float = 0.5
    # Of FIM examples, the share in suffix-prefix-middle order (the rest prefix-suffix-middle).
    spm_share: float = 0.5
    # Of FIM examples, the share whose middle is whole lines (the sidecar completes lines).
    line_middle_share: float = 0.5
    # Share of files after which a document of several files of their repository follows, in rag's format.
    repo_share: float = 0.15
    max_tokens: int = 0  # 0 = the whole corpus
    seed: int = 0


def repo_files(repo: Path) -> list[Path]:
    return sorted(p for p in repo.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES)


def pieces(text: str, max_chars: int) -> Iterator[str]:
    """Consecutive pieces of at most max_chars, cut after a newline where one is near."""
    start = 0
    while start < len(text):
        end = min(len(text), start + max_chars)
        if end < len(text):
            newline = text.rfind("\n", start + max_chars // 2, end)
            end = newline + 1 if newline != -1 else end
        yield text[start:end]
        start = end


# A document before tokenization: texts, and special token ids between them.
Document = list[int | str]


def file_documents(tokenizer: CodeTokenizer, text: str, rng: random.Random, config: LmDataConfig, max_chars: int) -> list[Document]:
    """A file whole (windows cut it anywhere), or at the FIM rate every piece of it a FIM example. The end-of-text
    token comes only where a file or a FIM middle ends: after a piece cut from a file's middle it taught the
    generator that a line's end is likely the text's end, and in SPM with no suffix (the layout ends with the
    prefix) it then ended at once on most empty lines."""
    if not text:
        return []  # an empty __init__.py is no document
    if rng.random() >= config.fim_rate:
        return [[text, tokenizer.eos]]
    return [fim_document(tokenizer, piece, rng, config) for piece in pieces(text, max_chars)]


def fim_document(tokenizer: CodeTokenizer, text: str, rng: random.Random, config: LmDataConfig) -> Document:
    if len(text) < 16:  # only a file's last piece is this short: its end is the file's
        return [text, tokenizer.eos]
    if rng.random() < config.line_middle_share and text.count("\n") >= 3:
        lines = text.splitlines(keepends=True)
        start = rng.randrange(1, len(lines))
        end = min(len(lines), start + rng.choice((1, 1, 1, 2, 3)))
        prefix, middle, suffix = "".join(lines[:start]), "".join(lines[start:end]), "".join(lines[end:])
        if rng.random() < 0.5:
            suffix = ""  # as `hef eval` and the end of a file ask: no text after the cursor
    else:
        a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        prefix, middle, suffix = text[:a], text[a:b], text[b:]
    layout = "spm" if rng.random() < config.spm_share else "psm"
    return fim_layout(tokenizer, prefix, suffix, middle, layout)[0]


def repo_document(tokenizer: CodeTokenizer, repo: Path, files: list[Path], rng: random.Random, max_chars: int) -> Document:
    chosen = rng.sample(files, min(len(files), rng.randint(2, 6)))
    parts: Document = []
    used = 0
    for path in chosen:
        text = path.read_text(encoding="utf-8", errors="replace")[: max_chars // 2]
        parts += [tokenizer.file_sep, f"{path.relative_to(repo).as_posix()}\n{text}"]
        used += len(text)
        if used >= max_chars:
            break
    return parts + [tokenizer.eos]


def documents(repos: list[Path], tokenizer: CodeTokenizer, config: LmDataConfig) -> Iterator[Document]:
    rng = random.Random(config.seed)
    max_chars = int(config.seq_len * CHARS_PER_TOKEN * 0.8)
    for repo in repos:
        files = repo_files(repo)
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            yield from file_documents(tokenizer, text, rng, config, max_chars)
            if len(files) > 1 and rng.random() < config.repo_share:
                yield repo_document(tokenizer, repo, files, rng, max_chars * 2)


def tokenize_documents(tokenizer: CodeTokenizer, docs: list[Document]) -> list[int]:
    """All texts of many documents in one encode_batch call: the tokenizer's threads do the work."""
    texts = [part for doc in docs for part in doc if isinstance(part, str)]
    encoded = iter(tokenizer.encode_batch(texts))
    ids: list[int] = []
    for doc in docs:
        for part in doc:
            if isinstance(part, int):
                ids.append(part)
            else:
                ids += next(encoded)
    return ids


def build_stream(repos: list[Path], tokenizer: CodeTokenizer, config: LmDataConfig, out: Path, batch: int = 4096) -> int:
    """Writes the token stream to `out` (.npy) and returns its length. Deterministic for a seed."""
    dtype = np.uint16 if tokenizer.vocab_size <= 65536 else np.int32
    arrays: list[np.ndarray] = []
    total = 0
    pending: list[Document] = []
    for doc in documents(repos, tokenizer, config):
        pending.append(doc)
        if len(pending) == batch:
            arrays.append(np.asarray(tokenize_documents(tokenizer, pending), dtype=dtype))
            total += len(arrays[-1])
            pending = []
            if config.max_tokens and total >= config.max_tokens:
                break
    arrays.append(np.asarray(tokenize_documents(tokenizer, pending), dtype=dtype))
    stream = np.concatenate(arrays)
    if config.max_tokens:
        stream = stream[: config.max_tokens]
    atomic_write(out, lambda f: np.save(f, stream))
    return len(stream)


class TokenWindows:
    """Windows of seq_len + 1 tokens drawn at offsets that depend only on (seed, step, index)."""

    def __init__(self, stream: Path, seq_len: int, seed: int) -> None:
        self.tokens = np.load(stream, mmap_mode="r")
        self.seq_len = seq_len
        self.seed = seed
        if len(self.tokens) <= seq_len + 1:
            raise ValueError(f"{stream}: {len(self.tokens)} tokens, fewer than one window of {seq_len + 1}")

    def batch(self, step: int, index: int, size: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, step, index])
        starts = rng.integers(0, len(self.tokens) - self.seq_len - 1, size=size)
        return torch.from_numpy(np.stack([np.asarray(self.tokens[s : s + self.seq_len + 1], dtype=np.int64) for s in starts]))
