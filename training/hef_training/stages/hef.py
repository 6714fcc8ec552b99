"""Stages 4 to 6, where the generator meets pseudo-tokens:

4. projector warm-up by reconstruction: the frozen generator must continue a chunk's text from that
   chunk's one pseudo-token (not in the paper; how xRAG, ICAE and 500xCompressor make soft tokens usable);
5. separate regime: fuser frozen, projector and generator trained on the gold completion (paper 3.6);
6. end-to-end regime: fuser, projector and generator together, retrieval recomputed with the fuser
   being trained; gradients reach the fuser through the retrieved nodes' vectors.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from transformers import PreTrainedModel

from ..examples import LineExample
from ..exports import TaskView
from ..hierarchy import FuseFn, RepoTree, pseudo_token_order, retrieve
from ..modeling import Fuser, Projector
from ..prompts import Sequence, fim_sequence
from ..runtime import Optim, Stage, StepResult
from ..tokenizer import CodeTokenizer
from .pseudo import mean_loss, pseudo_token_use


@dataclass(frozen=True)
class HefData:
    tokenizer: CodeTokenizer
    trees: list[RepoTree]
    k: int
    # Share of examples laid out suffix-prefix-middle (the rest prefix-suffix-middle, what the sidecar
    # assembles today): the generator keeps both layouts for when the sidecar switches.
    spm_share: float = 0.5

    def task(self, example: LineExample) -> TaskView:
        return self.trees[example.repo].export.tasks[example.task]

    def query(self, example: LineExample) -> Tensor:
        tree = self.trees[example.repo]
        return tree.chunk_vectors.new_tensor(tree.export.query_vectors[self.task(example).query_row])

    def retrieved(self, examples: list[LineExample], base_table: Tensor, fuse: FuseFn) -> list[Tensor]:
        """Per example (all of one repository, whose base table is given) the vectors of the K nodes the
        sidecar would retrieve for it, in pseudo-token order; their views are fused together."""
        tree = self.trees[examples[0].repo]
        table, views = tree.views([self.task(e) for e in examples], base_table, fuse)
        out = []
        for example, (nodes, rows) in zip(examples, views):
            hits = pseudo_token_order(retrieve(self.query(example), table.detach(), nodes, rows, self.k))
            out.append(table[torch.tensor([row for _, row, _ in hits], dtype=torch.long, device=table.device)])
        return out

    def sequence(self, example: LineExample, rng: random.Random) -> Sequence:
        return fim_sequence(self.tokenizer, example.prefix, example.suffix, example.gold, "spm" if rng.random() < self.spm_share else "psm")


def by_repo(examples: list[LineExample]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for i, example in enumerate(examples):
        groups.setdefault(example.repo, []).append(i)
    return groups


def retrieved_for(data: HefData, examples: list[LineExample], fuse: FuseFn) -> list[Tensor]:
    """data.retrieved for examples of any repositories: each repository's hierarchy fused once."""
    out: list[Tensor | None] = [None] * len(examples)
    for repo, indices in by_repo(examples).items():
        vectors = data.retrieved([examples[i] for i in indices], data.trees[repo].fuse(fuse), fuse)
        for i, v in zip(indices, vectors):
            out[i] = v
    assert all(t is not None for t in out)
    return out  # type: ignore[return-value]


def frozen_retrieval(data: HefData, examples: list[LineExample], fuser: Fuser) -> list[Tensor]:
    """With the fuser frozen retrieval never changes: computed once."""
    with torch.no_grad():
        return retrieved_for(data, examples, fuser)


def _diagnose(generator: PreTrainedModel, data: HefData, examples: list[LineExample], pseudo: Callable[[], list[Tensor]], seed: int) -> Callable[[], dict[str, float]]:
    """Pseudo-token use on held-out examples; flags a generator that ignores them."""

    def run() -> dict[str, float]:
        rng = random.Random(f"{seed}/diagnose")
        figures = pseudo_token_use(generator, [data.sequence(e, rng) for e in examples], pseudo())
        if figures and max(figures["rise_shuffled"], figures["rise_zeroed"]) < 0.01:
            figures["not_using_pseudo_tokens"] = 1.0
        return figures

    return run


def warmup_stage(generator: PreTrainedModel, projector: Projector, trees: list[RepoTree], tokenizer: CodeTokenizer, reconstruct_tokens: int, optim: Optim, seed: int) -> Stage:
    chunks = [(t, row) for t, tree in enumerate(trees) for row in range(tree.export.base_chunks)]
    if not chunks:
        raise ValueError("projector warm-up needs exported chunks, found none")

    def sequence(t: int, row: int) -> Sequence:
        ids = tokenizer.encode(trees[t].export.chunks[row].text)[:reconstruct_tokens]
        return Sequence(ids, 0)

    def pseudo(batch: list[tuple[int, int]]) -> list[Tensor]:
        return [projector(trees[t].chunk_vectors[row][None]) for t, row in batch]

    def batch(step: int, index: int) -> list[tuple[int, int]]:
        rng = random.Random(f"{seed}/{step}/{index}")
        return [rng.choice(chunks) for _ in range(optim.micro_batch)]

    def loss(chosen: list[tuple[int, int]]) -> StepResult:
        value, _, positions = mean_loss(generator, [sequence(t, r) for t, r in chosen], pseudo(chosen))
        return StepResult(value, positions)

    held = batch(-1, 0)

    def diagnose() -> dict[str, float]:
        return pseudo_token_use(generator, [sequence(t, r) for t, r in held], pseudo(held))

    return Stage("warmup", {"projector": projector}, [(list(projector.parameters()), 1.0)], optim, batch, loss, diagnose)


def separate_stage(generator: PreTrainedModel, projector: Projector, fuser: Fuser, data: HefData, examples: list[LineExample], held_out: list[LineExample], optim: Optim, generator_lr_scale: float, diagnose_every: int, seed: int) -> Stage:
    if not examples:
        raise ValueError("the separate regime has no training examples (no tasks, or UWL kept none)")
    retrieved = frozen_retrieval(data, examples, fuser)
    held_retrieved = frozen_retrieval(data, held_out, fuser)

    def batch(step: int, index: int) -> tuple[list[int], random.Random]:
        rng = random.Random(f"{seed}/{step}/{index}")
        return [rng.randrange(len(examples)) for _ in range(optim.micro_batch)], rng

    def loss(chosen: tuple[list[int], random.Random]) -> StepResult:
        indices, rng = chosen
        value, _, positions = mean_loss(generator, [data.sequence(examples[i], rng) for i in indices], [projector(retrieved[i]) for i in indices])
        return StepResult(value, positions)

    diagnose = _diagnose(generator, data, held_out, lambda: [projector(r) for r in held_retrieved], seed)
    return Stage(
        "separate",
        {"projector": projector, "generator": generator},
        [(list(projector.parameters()), 1.0), (list(generator.parameters()), generator_lr_scale)],
        optim,
        batch,
        loss,
        diagnose if len(held_out) >= 2 else None,
        diagnose_every,
        keep_best="gold_loss",
    )


def e2e_stage(generator: PreTrainedModel, projector: Projector, fuser: Fuser, data: HefData, examples: list[LineExample], held_out: list[LineExample], optim: Optim, generator_lr_scale: float, diagnose_every: int, seed: int) -> Stage:
    if not examples:
        raise ValueError("the end-to-end regime has no training examples (no tasks, or UWL kept none)")
    groups = by_repo(examples)
    repos = sorted(groups)
    weights = [len(groups[r]) for r in repos]

    def batch(step: int, index: int) -> tuple[int, list[int], random.Random]:
        # One repository per micro-batch: its hierarchy is fused once for all of the micro-batch's examples.
        rng = random.Random(f"{seed}/{step}/{index}")
        repo = rng.choices(repos, weights)[0]
        return repo, [rng.choice(groups[repo]) for _ in range(optim.micro_batch)], rng

    def pseudo(chosen: list[LineExample]) -> list[Tensor]:
        return [projector(v) for v in retrieved_for(data, chosen, fuser)]

    def loss(chosen: tuple[int, list[int], random.Random]) -> StepResult:
        _, indices, rng = chosen
        picked = [examples[i] for i in indices]
        value, _, positions = mean_loss(generator, [data.sequence(e, rng) for e in picked], pseudo(picked))
        return StepResult(value, positions)

    diagnose = _diagnose(generator, data, held_out, lambda: pseudo(held_out), seed)
    modules: dict[str, nn.Module] = {"fuser": fuser, "projector": projector, "generator": generator}
    return Stage(
        "e2e",
        modules,
        [(list(fuser.parameters()) + list(projector.parameters()), 1.0), (list(generator.parameters()), generator_lr_scale)],
        optim,
        batch,
        loss,
        diagnose if len(held_out) >= 2 else None,
        diagnose_every,
        keep_best="gold_loss",
    )
