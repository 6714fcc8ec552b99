"""Utility-weighted likelihood (paper 3.7): a training example keeps its retrieved context only when that
context makes the gold completion more likely under a frozen reference model:

    delta = log p(y | x, c) - log p(y | x),   kept when sigmoid(delta) >= threshold (0.55).

c is the raw text of the chunks retrieval finds for the example, in the form rag mode injects it, so
the filter asks exactly "would this repository context help here"."""

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


def uwl_deltas(reference: PreTrainedModel, tokenizer: CodeTokenizer, prefix: list[int], suffix: list[int], gold: list[int], contexts: list[list[int]]) -> list[float]:
    """log p(gold | context, prompt) - log p(gold | prompt) for each context."""
    plain = fim_sequence(tokenizer, prefix, suffix, gold, "psm")
    sequences = [plain] + [fim_sequence(tokenizer, prefix, suffix, gold, "psm", context=c) for c in contexts]
    with torch.no_grad():
        nll, _ = completion_losses(reference, sequences, [None] * len(sequences))
    return [float(nll[0] - n) for n in nll[1:]]


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
        contexts = [example_context(data, e, context_tokens) for e in chunk]
        # Both sequences of every example in one forward pass; an example without context gains nothing.
        sequences = [fim_sequence(data.tokenizer, e.prefix, e.suffix, e.gold, "psm", context=c) for e, c in zip(chunk, contexts)]
        sequences += [fim_sequence(data.tokenizer, e.prefix, e.suffix, e.gold, "psm") for e in chunk]
        with torch.no_grad():
            nll, _ = completion_losses(reference, sequences, [None] * len(sequences))
        deltas += [float(nll[len(chunk) + i] - nll[i]) if contexts[i] else 0.0 for i in range(len(chunk))]
    kept = [e for e, d in zip(examples, deltas) if d >= cutoff]
    totals = Counter(data.trees[e.repo].export.name for e in examples)
    passed = Counter(data.trees[e.repo].export.name for e in kept)
    report = UwlReport(threshold, len(kept), len(examples), {n: (passed[n], totals[n]) for n in sorted(totals)}, sum(deltas) / max(1, len(deltas)))
    return kept, deltas, report
