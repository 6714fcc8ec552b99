"""The generator conditioned on pseudo-tokens, as the sidecar feeds it: K projected vectors first, then the
prompt's tokens, loss on the completion only. Shared by the warm-up, the two regimes and UWL."""

from __future__ import annotations

from collections.abc import Sequence as Seq

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers import PreTrainedModel

from ..prompts import Sequence

IGNORE = -100


def completion_losses(generator: PreTrainedModel, sequences: Seq[Sequence], pseudo: Seq[Tensor | None]) -> tuple[Tensor, Tensor]:
    """Summed negative log-likelihood of each sequence's target tokens, and their count, per sequence."""
    embed = generator.get_input_embeddings()
    device = embed.weight.device
    rows: list[Tensor] = []
    labels: list[Tensor] = []
    for sequence, p in zip(sequences, pseudo, strict=True):
        ids = torch.tensor(sequence.ids, device=device)
        tokens = embed(ids)
        k = 0 if p is None else p.shape[0]
        rows.append(tokens if p is None else torch.cat([p.to(tokens.dtype), tokens]))
        label = torch.full((k + len(ids),), IGNORE, device=device)
        label[k + sequence.target_from :] = ids[sequence.target_from :]
        labels.append(label)
    width = max(len(r) for r in rows)
    d = rows[0].shape[1]
    inputs = torch.zeros(len(rows), width, d, device=device, dtype=rows[0].dtype)
    mask = torch.zeros(len(rows), width, device=device, dtype=torch.long)
    target = torch.full((len(rows), width), IGNORE, device=device)
    for i, (r, label) in enumerate(zip(rows, labels)):
        inputs[i, : len(r)] = r
        mask[i, : len(r)] = 1
        target[i, : len(label)] = label
    logits = generator(inputs_embeds=inputs, attention_mask=mask).logits[:, :-1]
    shifted = target[:, 1:]
    nll = F.cross_entropy(logits.flatten(0, 1).float(), shifted.flatten(), ignore_index=IGNORE, reduction="none").view(shifted.shape)
    return nll.sum(1), (shifted != IGNORE).sum(1)


def mean_loss(generator: PreTrainedModel, sequences: Seq[Sequence], pseudo: Seq[Tensor | None]) -> tuple[Tensor, int, int]:
    """Token-weighted mean loss over the batch, the target tokens, and every position decoded."""
    nll, count = completion_losses(generator, sequences, pseudo)
    positions = sum(len(s.ids) + (0 if p is None else p.shape[0]) for s, p in zip(sequences, pseudo))
    return nll.sum() / count.sum().clamp_min(1), int(count.sum()), positions


def pseudo_token_use(generator: PreTrainedModel, sequences: Seq[Sequence], pseudo: Seq[Tensor]) -> dict[str, float]:
    """Does the generator use its pseudo-tokens? The gold loss with them, shuffled across examples, and zeroed."""
    if len(sequences) < 2:
        return {}
    real, _, _ = mean_loss(generator, sequences, pseudo)
    shuffled, _, _ = mean_loss(generator, sequences, [pseudo[(i + 1) % len(pseudo)] for i in range(len(pseudo))])
    zeroed, _, _ = mean_loss(generator, sequences, [torch.zeros_like(p) for p in pseudo])
    return {
        "gold_loss": real.item(),
        "rise_shuffled": (shuffled - real).item(),
        "rise_zeroed": (zeroed - real).item(),
    }
