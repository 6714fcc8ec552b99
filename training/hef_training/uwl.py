"""Utility-weighted likelihood (paper 3.7): a training example keeps its retrieved context only when that
context makes the gold completion more likely under a frozen reference model:

    delta = log p(y | x, c) - log p(y | x),   kept when sigmoid(delta) >= threshold (0.55).

c is the raw text of the chunks retrieval finds for the example, in the form rag mode injects it (with a
smaller budget, uwl_context_tokens), so the filter asks "would this repository context help here"."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel


from .examples import LineExample
from .prompts import fim_sequence, rag_context
from .runtime import atomic_write_text
from .stages.hef import HefData
from .stages.pseudo import completion_losses
from .tokenizer import CodeTokenizer


@dataclass(frozen=True)
class UwlItem:
    prefix: list[int]
    suffix: list[int]
    gold: list[int]
    context: list[int]


def uwl_deltas(reference: PreTrainedModel, tokenizer: CodeTokenizer, items: list[UwlItem]) -> list[float]:
    """log p(gold | context, prompt) - log p(gold | prompt) of each item, all in one forward pass; an item
    without context gains nothing (0)."""
    with_context = [fim_sequence(tokenizer, i.prefix, i.suffix, i.gold, "psm", context=i.context) for i in items]
    plain = [fim_sequence(tokenizer, i.prefix, i.suffix, i.gold, "psm") for i in items]
    with torch.no_grad():
        nll, _ = completion_losses(reference, with_context + plain, [None] * (2 * len(items)))
    return [float(nll[len(items) + n] - nll[n]) if item.context else 0.0 for n, item in enumerate(items)]


def example_context(data: HefData, example: LineExample, budget: int) -> list[int]:
    tree = data.trees[example.repo]
    nodes, vectors = tree.chunks_in_view(data.task(example))
    if not nodes:
        return []
    scores = F.cosine_similarity(vectors.float(), data.query(example).float()[None], dim=-1)
    ranked = torch.argsort(scores, descending=True)[: data.k].tolist()
    snippets = [(nodes[i].path, tree.export.chunks[nodes[i].chunk].text) for i in ranked]  # type: ignore[index]
    return rag_context(data.tokenizer, example.path, snippets, budget)


@dataclass(frozen=True)
class UwlReport:
    threshold: float
    kept: int
    total: int
    per_repo: dict[str, tuple[int, int]]  # repository: (kept, total)
    mean_delta: float


def scored_deltas(score: Callable[[list[int]], list[float]], sizes: list[int], batch: int, known: dict[int, float], save: Callable[[dict[int, float]], None]) -> list[float]:
    """Every item's delta: the `known` ones as they are, the others scored `batch` at a time in order of
    size (one forward pass pads to its longest sequence: similar sizes waste least), `save`d after each
    batch so that a killed run resumes there (a CPU run of the 20M-parameter generator scores about one
    example in 3-6 s)."""
    todo = [i for i in sorted(range(len(sizes)), key=lambda i: (sizes[i], i)) if i not in known]
    known = dict(known)
    for start in range(0, len(todo), batch):
        indices = todo[start : start + batch]
        known.update(zip(indices, score(indices)))
        save(known)
    return [known[i] for i in range(len(sizes))]


class UwlCheckpoint:
    """The deltas scored so far, in a JSON file, for one list of examples (named by `fingerprint`)."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint

    def load(self) -> dict[int, float]:
        if not self.path.exists():
            return {}
        saved = json.loads(self.path.read_text())
        return {int(i): d for i, d in saved["deltas"].items()} if saved.get("fingerprint") == self.fingerprint else {}

    def save(self, deltas: dict[int, float]) -> None:
        atomic_write_text(json.dumps({"fingerprint": self.fingerprint, "deltas": deltas}), self.path)


def uwl_filter(reference: PreTrainedModel, data: HefData, examples: list[LineExample], threshold: float, context_tokens: int, batch: int = 16, checkpoint: UwlCheckpoint | None = None) -> tuple[list[LineExample], list[float], UwlReport]:
    reference.eval()
    cutoff = math.log(threshold / (1 - threshold))  # sigmoid(delta) >= threshold  <=>  delta >= logit(threshold)

    def score(indices: list[int]) -> list[float]:
        chunk = [examples[i] for i in indices]
        return uwl_deltas(reference, data.tokenizer, [UwlItem(e.prefix, e.suffix, e.gold, example_context(data, e, context_tokens)) for e in chunk])

    sizes = [len(e.prefix) + len(e.suffix) + len(e.gold) for e in examples]
    deltas = scored_deltas(score, sizes, batch, checkpoint.load() if checkpoint else {}, checkpoint.save if checkpoint else lambda _: None)
    kept = [e for e, d in zip(examples, deltas) if d >= cutoff]
    totals = Counter(data.trees[e.repo].export.name for e in examples)
    passed = Counter(data.trees[e.repo].export.name for e in kept)
    report = UwlReport(threshold, len(kept), len(examples), {n: (passed[n], totals[n]) for n in sorted(totals)}, sum(deltas) / max(1, len(deltas)))
    return kept, deltas, report
