"""UWL (paper 3.7): delta = log p(y | x, c) - log p(y | x) under a frozen reference model."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

import torch
from torch import nn

from hef_training.tokenizer import CodeTokenizer, train_tokenizer
from hef_training.uwl import UwlCheckpoint, UwlItem, scored_deltas, uwl_deltas
from paths import SHOP


class CopyModel(nn.Module):
    """A reference model that only copies (an induction head): after token a, it expects what followed
    a's previous occurrence, and knows nothing else."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, vocab)
        with torch.no_grad():
            self.embed.weight.copy_(torch.eye(vocab))

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        ids = inputs_embeds.argmax(-1)
        logits = torch.zeros_like(inputs_embeds)
        for b in range(ids.shape[0]):
            last: dict[int, int] = {}
            for t in range(int(attention_mask[b].sum())):
                token = int(ids[b, t])
                if token in last:
                    logits[b, t, ids[b, last[token] + 1]] = 8.0
                last[token] = t
        return SimpleNamespace(logits=logits)


def test_a_context_holding_the_gold_line_scores_above_one_that_does_not() -> None:
    tokenizer = CodeTokenizer(train_tokenizer([p.read_text() for p in sorted(SHOP.rglob("*.py"))], 500))
    model = CopyModel(tokenizer.vocab_size)
    prefix = tokenizer.encode("def total(cart):\n")
    gold = tokenizer.encode("    return sum_prices(cart.items)\n")
    helpful = tokenizer.encode("def sum_prices(items):\n    return sum(i.price for i in items)\n")
    unrelated = tokenizer.encode("class Warehouse:\n    shelves = []\n")
    with_gold, without = uwl_deltas(model, tokenizer, [UwlItem(prefix, [], gold, helpful + gold), UwlItem(prefix, [], gold, unrelated)])
    assert with_gold > without
    assert 1 / (1 + math.exp(-with_gold)) >= 0.55 > 1 / (1 + math.exp(-without))


def test_deltas_are_scored_in_batches_of_similar_size_and_saved_after_each() -> None:
    sizes = [30, 10, 20, 10, 40]
    batches: list[list[int]] = []
    saves: list[dict[int, float]] = []

    def score(indices: list[int]) -> list[float]:
        batches.append(indices)
        return [float(sizes[i]) for i in indices]

    deltas = scored_deltas(score, sizes, 2, {}, lambda known: saves.append(dict(known)))
    assert batches == [[1, 3], [2, 0], [4]], "smallest first, ties in order"
    assert deltas == [30.0, 10.0, 20.0, 10.0, 40.0], "in the items' own order"
    assert [sorted(s) for s in saves] == [[1, 3], [0, 1, 2, 3], [0, 1, 2, 3, 4]]


def test_a_killed_scoring_resumes_from_its_checkpoint_and_a_changed_list_starts_again(tmp_path: Path) -> None:
    sizes = [5, 6, 7, 8]
    first = UwlCheckpoint(tmp_path / "uwl.partial.json", "examples-a")

    def dies_after_one_batch(indices: list[int]) -> list[float]:
        if first.load():
            raise KeyboardInterrupt
        return [float(i) for i in indices]

    with pytest.raises(KeyboardInterrupt):
        scored_deltas(dies_after_one_batch, sizes, 2, first.load(), first.save)
    assert first.load() == {0: 0.0, 1: 1.0}
    scored: list[int] = []

    def score(indices: list[int]) -> list[float]:
        scored.extend(indices)
        return [float(i) for i in indices]

    assert scored_deltas(score, sizes, 2, first.load(), first.save) == [0.0, 1.0, 2.0, 3.0]
    assert scored == [2, 3], "only what the killed run had not scored"
    assert UwlCheckpoint(tmp_path / "uwl.partial.json", "examples-b").load() == {}, "another list of examples"
