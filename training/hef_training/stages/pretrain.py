"""Stage 1: the generator learns code from scratch (next-token prediction over the corpus stream,
fill-in-the-middle in both layouts, repositories in rag's format)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import Qwen2ForCausalLM

from ..lm_data import TokenWindows
from ..runtime import Device, Optim, Stage, StepResult


def pretrain_stage(generator: Qwen2ForCausalLM, windows: TokenWindows, optim: Optim, device: Device) -> Stage:
    def batch(step: int, index: int) -> torch.Tensor:
        return windows.batch(step, index, optim.micro_batch).to(device.device)

    def loss(tokens: torch.Tensor) -> StepResult:
        logits = generator(input_ids=tokens[:, :-1]).logits
        return StepResult(F.cross_entropy(logits.flatten(0, 1).float(), tokens[:, 1:].flatten()), tokens[:, :-1].numel())

    return Stage("generator", {"generator": generator}, [(list(generator.parameters()), 1.0)], optim, batch, loss)
