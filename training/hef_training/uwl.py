"""Utility-weighted likelihood (paper 3.7): a training example keeps its retrieved context only when that
context makes the gold completion more likely under a frozen reference model:

    delta = log p(y | x, c) - log p(y | x),   kept when sigmoid(delta) >= threshold (0.55).

c is the raw text of the chunks retrieval finds for the example, in the form rag mode injects it (with a
smaller budget, uwl_context_tokens), so the filter asks "would this repository context help here"."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel


from .examples import LineExample
from .prompts import fim_sequence, rag_context
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


def uwl_filter(reference: PreTrainedModel, data: HefData, examples: list[LineExample], threshold: float, context_tokens: int, batch: int = 16) -> tuple[list[LineExample], list[float], UwlReport]:
    reference.eval()
    cutoff = math.log(threshold / (1 - threshold))  # sigmoid(delta) >= threshold  <=>  delta >= logit(threshold)
    deltas: list[float] = []
    for start in range(0, len(examples), batch):
        chunk = examples[start : start + batch]
        deltas += uwl_deltas(reference, data.tokenizer, [UwlItem(e.prefix, e.suffix, e.gold, example_context(data, e, context_tokens)) for e in chunk])
    kept = [e for e, d in zip(examples, deltas) if d >= cutoff]
    totals = Counter(data.trees[e.repo].export.name for e in examples)
    passed = Counter(data.trees[e.repo].export.name for e in kept)
    report = UwlReport(threshold, len(kept), len(examples), {n: (passed[n], totals[n]) for n in sorted(totals)}, sum(deltas) / max(1, len(deltas)))
    return kept, deltas, report
