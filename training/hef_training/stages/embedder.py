"""Stage 2: the embedder learns to put a query window near the chunk it needs (InfoNCE with in-batch
negatives), from pairs the exported repositories give without labels (examples.query_pairs)."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import Tensor

from ..examples import QueryPair
from ..modeling import Embedder
from ..runtime import Device, Optim, Stage, StepResult


def pad(sequences: list[list[int]], device: torch.device) -> tuple[Tensor, Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), width, dtype=torch.long)
    mask = torch.zeros(len(sequences), width)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids.to(device), mask.to(device)


def info_nce(queries: Tensor, keys: Tensor, temperature: float, targets: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Loss and accuracy of matching query i to key targets[i] (default: key i) among all keys, by cosine / tau."""
    logits = F.normalize(queries.float(), dim=-1) @ F.normalize(keys.float(), dim=-1).T / temperature
    target = torch.arange(len(queries), device=queries.device) if targets is None else targets
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean()


def embedder_stage(embedder: Embedder, pairs: list[QueryPair], held_out: list[QueryPair], optim: Optim, temperature: float, device: Device, seed: int) -> Stage:
    if len(pairs) < 2:
        raise ValueError(f"embedder training needs at least 2 query/chunk pairs, found {len(pairs)}")

    def batch(step: int, index: int) -> list[QueryPair]:
        rng = random.Random(f"{seed}/{step}/{index}")
        return rng.sample(pairs, min(optim.micro_batch, len(pairs)))

    def encode(sequences: list[list[int]]) -> Tensor:
        ids, mask = pad(sequences, device.device)
        return embedder(ids, mask)

    def loss(chosen: list[QueryPair]) -> StepResult:
        value, accuracy = info_nce(encode([p.query for p in chosen]), encode([p.chunk for p in chosen]), temperature)
        return StepResult(value, sum(len(p.query) + len(p.chunk) for p in chosen), {"accuracy": accuracy.item()})

    def diagnose() -> dict[str, float]:
        # Retrieval among the held-out chunks: does each query find its own chunk first?
        _, accuracy = info_nce(encode([p.query for p in held_out]), encode([p.chunk for p in held_out]), temperature)
        return {"held_out_top1": accuracy.item(), "held_out_pairs": float(len(held_out))}

    return Stage("embedder", {"embedder": embedder}, [(list(embedder.parameters()), 1.0)], optim, batch, loss, diagnose if len(held_out) >= 2 else None)
