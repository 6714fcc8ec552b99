"""UWL (paper 3.7): delta = log p(y | x, c) - log p(y | x) under a frozen reference model."""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch
from torch import nn

from hef_training.tokenizer import CodeTokenizer, train_tokenizer
from hef_training.uwl import UwlItem, uwl_deltas
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
