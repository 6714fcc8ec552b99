"""Continued pre-training: a generator GGUF (the shipped default, or any HEF-trained one) trains further
from its own weights, so CPU sessions on different machines add up instead of starting from scratch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hef_training.config import Optim, smoke
from hef_training.gguf_files import write_generator
from hef_training.modeling import new_generator
from hef_training.recipe import TrainInputs, train
from hef_training.tokenizer import CodeTokenizer
import torch

from paths import ROOT, SHOP

REPOS = [SHOP, ROOT / "training" / "hef_training"]


def _pretrain(out: Path, steps: int, generator: Path | None = None, continue_pretraining: bool = False) -> dict:
    config = smoke()
    config.generator.optim = dataclasses.replace(config.generator.optim, steps=steps, warmup=2)
    config.generator.continue_pretraining = continue_pretraining
    train(TrainInputs(repos=REPOS, out=out, config=config, generator=generator, device="cpu", progress=False, until="generator"))
    return json.loads((out / "recipe.json").read_text())


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """A smoke generator pre-trained from scratch, written as a GGUF the way the recipe ships it."""
    out = tmp_path_factory.mktemp("scratch")
    record = _pretrain(out, steps=40)
    tokenizer = CodeTokenizer.load(out / "tokenizer.json")
    model = new_generator(smoke().generator.shape, tokenizer.vocab_size, tokenizer.eos)
    model.load_state_dict(torch.load(out / "state" / "generator.pt", weights_only=True))
    write_generator(out / "generator.gguf", model, tokenizer, weights="f32")
    return record, out / "generator.gguf"


def test_a_generator_gguf_continues_from_its_own_weights(tmp_path: Path, scratch: tuple[dict, Path]) -> None:
    first_run, gguf = scratch
    before = first_run["stages"]["generator"]
    record = _pretrain(tmp_path / "continued", steps=10, generator=gguf, continue_pretraining=True)
    after = record["stages"]["generator"]
    assert after["steps"] == 10
    # The same stream and seed: a fresh model's first batch costs about ln(vocab); the loaded one starts where the
    # first run ended, not there.
    assert after["first_loss"] < before["first_loss"] - 0.8, (before, after)
    assert after["first_loss"] < before["last_loss"] + 0.5, (before, after)
    assert record["generator"]["path"] == str(gguf) and len(record["generator"]["fingerprint"]) == 64


def test_without_the_setting_a_given_generator_is_not_pretrained(tmp_path: Path, scratch: tuple[dict, Path]) -> None:
    record = _pretrain(tmp_path / "given", steps=10, generator=scratch[1])
    assert "generator" not in record["stages"]
    assert record["stopped_after"] == "generator"
