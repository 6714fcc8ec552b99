"""The recipe's configuration as dataclasses, and the presets `hef train --preset` names. Every field can
be overridden from the command line (`--set generator.optim.steps=2000`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .lm_data import LmDataConfig
from .modeling import TransformerShape
from .runtime import Optim


@dataclass
class TokenizerConfig:
    vocab_size: int = 8192
    sample_bytes: int = 64_000_000


@dataclass
class GeneratorConfig:
    shape: TransformerShape = field(default_factory=lambda: TransformerShape(256, 6, 8, 2, 768))
    data: LmDataConfig = field(default_factory=LmDataConfig)
    optim: Optim = field(default_factory=lambda: Optim(steps=4000, lr=1e-3, warmup=200, batch=32, micro_batch=8, weight_decay=0.1))
    # With --generator: pre-train that generator further on the corpus (its own shape and tokenizer) before
    # the later stages, instead of only fine-tuning it there. How CPU sessions on different machines add
    # up: each continues from the shipped models/default/generator.gguf, not from scratch.
    continue_pretraining: bool = False


@dataclass
class EmbedderConfig:
    shape: TransformerShape = field(default_factory=lambda: TransformerShape(256, 2, 4, 2, 512))
    max_tokens: int = 512
    temperature: float = 0.05
    optim: Optim = field(default_factory=lambda: Optim(steps=1500, lr=1e-3, warmup=100, batch=64, micro_batch=32, weight_decay=0.01))


@dataclass
class FuserConfig:
    shape: TransformerShape = field(default_factory=lambda: TransformerShape(128, 2, 4, 2, 256, max_positions=64))
    # Paper 3.6: InfoNCE at tau 0.07, positive = the query chunk's own repository vector.
    temperature: float = 0.07
    # Levels whose vectors the contrastive objective trains: the paper's "repo", optionally "file" too
    # (a chunk against its own file's vector, the other files of its repository as negatives).
    levels: tuple[str, ...] = ("repo",)
    optim: Optim = field(default_factory=lambda: Optim(steps=600, lr=1e-3, warmup=50, batch=16, micro_batch=16, weight_decay=0.01))


@dataclass
class ProjectorConfig:
    hidden: int = 1024
    # Warm-up by reconstruction: the frozen generator reproduces a chunk's first tokens from its pseudo-token.
    reconstruct_tokens: int = 128
    optim: Optim = field(default_factory=lambda: Optim(steps=400, lr=1e-3, warmup=40, batch=32, micro_batch=16, weight_decay=0.0))


@dataclass
class RegimeConfig:
    """The separate and end-to-end regimes (paper 3.6) and their data."""

    k: int = 32
    b: int = 8
    regimes: tuple[str, ...] = ("separate", "e2e")
    # Share of line examples in the suffix-prefix-middle layout (the sidecar assembles prefix-suffix-middle).
    spm_share: float = 0.5
    # UWL (paper 3.7): keep an example when sigmoid(log p(y|x,c) - log p(y|x)) >= threshold.
    uwl_threshold: float = 0.55
    uwl_context_tokens: int = 1024
    tasks_per_repo: int = 400
    tasks_per_file: int = 20
    # The retrieval stages (tasks, exports, fuser onwards) use at most this many repositories (0 = all),
    # drawn by seed among those with at least 3 source files and at most repo_max_bytes of them:
    # exporting means embedding every chunk, and the pre-training corpus may hold thousands.
    max_repos: int = 0
    repo_max_bytes: int = 400_000
    # Learning-rate scale of the generator against the adapter's (it is already trained).
    generator_lr_scale: float = 0.3
    separate: Optim = field(default_factory=lambda: Optim(steps=800, lr=5e-4, warmup=50, batch=32, micro_batch=8, weight_decay=0.01))
    e2e: Optim = field(default_factory=lambda: Optim(steps=800, lr=5e-4, warmup=50, batch=32, micro_batch=8, weight_decay=0.01))
    diagnose_every: int = 200
    diagnostic_examples: int = 64


@dataclass
class RecipeConfig:
    preset: str = "cpu"
    seed: int = 0
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    fuser: FuserConfig = field(default_factory=FuserConfig)
    projector: ProjectorConfig = field(default_factory=ProjectorConfig)
    regime: RegimeConfig = field(default_factory=RegimeConfig)
    # Weights of the shipped GGUFs; the parity tests use f32.
    weights: str = "q8_0"
    checkpoint_every_s: float = 300.0
    # Processes of the sidecar's export (`hef export`: CPU, one llama.cpp thread each for a small embedder).
    # More than one: the repositories are split among them, and the first export runs beside the
    # generator's pre-training. 0 = the spare cores of a GPU machine (all but two), 1 on a CPU.
    export_processes: int = 0


def smoke() -> RecipeConfig:
    """Every stage on the CPU in a few minutes: tiny sizes, few steps. Proves the pipeline, not quality."""
    return RecipeConfig(
        preset="smoke",
        tokenizer=TokenizerConfig(vocab_size=1024, sample_bytes=4_000_000),
        generator=GeneratorConfig(
            shape=TransformerShape(64, 2, 4, 2, 128, max_positions=2048),
            data=LmDataConfig(seq_len=256, max_tokens=400_000),
            optim=Optim(steps=60, lr=3e-3, warmup=6, batch=16, micro_batch=8),
        ),
        embedder=EmbedderConfig(
            shape=TransformerShape(64, 1, 4, 2, 128, max_positions=1024),
            optim=Optim(steps=30, lr=3e-3, warmup=3, batch=16, micro_batch=16, weight_decay=0.0),
        ),
        fuser=FuserConfig(
            shape=TransformerShape(32, 1, 2, 1, 64, max_positions=64),
            optim=Optim(steps=30, lr=3e-3, warmup=3, batch=8, micro_batch=8, weight_decay=0.0),
        ),
        projector=ProjectorConfig(hidden=64, reconstruct_tokens=64, optim=Optim(steps=30, lr=3e-3, warmup=3, batch=8, micro_batch=8, weight_decay=0.0)),
        regime=RegimeConfig(
            k=16,
            tasks_per_repo=60,
            tasks_per_file=6,
            separate=Optim(steps=30, lr=2e-3, warmup=3, batch=8, micro_batch=8, weight_decay=0.0),
            e2e=Optim(steps=30, lr=2e-3, warmup=3, batch=8, micro_batch=8, weight_decay=0.0),
            diagnose_every=0,
            diagnostic_examples=16,
        ),
        weights="f16",
        checkpoint_every_s=60.0,
    )


def gpu() -> RecipeConfig:
    """The whole recipe on one lent GPU (H100/H200) inside the device tool's ten minutes (training/device/):
    every stage has a time budget, so its step count fits whatever pace the machine shows. The device
    run passes the shipped embedder (--embedder): its export then runs once, beside the generator's
    pre-training on the spare cores, instead of twice around an embedder stage."""
    return RecipeConfig(
        preset="gpu",
        tokenizer=TokenizerConfig(vocab_size=16384, sample_bytes=32_000_000),
        generator=GeneratorConfig(
            # 20M parameters: both regimes' generators (Q8_0) come back within the device tool's 64 MiB.
            shape=TransformerShape(384, 8, 6, 2, 1152, max_positions=4096),
            data=LmDataConfig(seq_len=2048, max_tokens=150_000_000),
            optim=Optim(steps=20_000, lr=1e-3, warmup=100, batch=64, micro_batch=32, weight_decay=0.1, seconds=160),
        ),
        embedder=EmbedderConfig(
            # The width the CPU can index with at over 10,000 tokens/s: the embedder runs on the user's machine.
            shape=TransformerShape(256, 2, 4, 2, 512, max_positions=1024),
            optim=Optim(steps=5_000, lr=1e-3, warmup=50, batch=256, micro_batch=256, weight_decay=0.01, seconds=40),
        ),
        fuser=FuserConfig(levels=("repo", "file"), optim=Optim(steps=5_000, lr=1e-3, warmup=50, batch=32, micro_batch=32, weight_decay=0.01, seconds=25)),
        projector=ProjectorConfig(hidden=1024, optim=Optim(steps=5_000, lr=1e-3, warmup=50, batch=64, micro_batch=64, weight_decay=0.0, seconds=20)),
        regime=RegimeConfig(
            # The regimes lacked examples on the CPU (30 x 30 tasks, a quarter kept by UWL): 100 x 60 here.
            max_repos=100,
            repo_max_bytes=250_000,
            tasks_per_repo=60,
            tasks_per_file=8,
            separate=Optim(steps=5_000, lr=3e-4, warmup=20, batch=32, micro_batch=16, weight_decay=0.01, seconds=30),
            e2e=Optim(steps=5_000, lr=3e-4, warmup=20, batch=32, micro_batch=16, weight_decay=0.01, seconds=50),
            # keep_best chooses among these steps (and the start): a regime can overfit its examples.
            diagnose_every=40,
            diagnostic_examples=64,
        ),
        checkpoint_every_s=120.0,
    )


def cpu() -> RecipeConfig:
    """What two CPU cores train in a few hours: the embedded default models (README "Trained default models")."""
    return RecipeConfig(
        preset="cpu",
        tokenizer=TokenizerConfig(vocab_size=8192, sample_bytes=32_000_000),
        generator=GeneratorConfig(
            # Trained at 2,048 positions: the sidecar's prompts (pseudo-tokens, 1,024 prefix and 256 suffix
            # tokens) fit, and attention at that length costs little at this width (measured).
            shape=TransformerShape(256, 4, 8, 2, 768, max_positions=4096),
            data=LmDataConfig(seq_len=2048),
            optim=Optim(steps=600, lr=1e-3, warmup=50, batch=8, micro_batch=4, weight_decay=0.1),
        ),
        embedder=EmbedderConfig(
            shape=TransformerShape(256, 2, 4, 2, 512, max_positions=1024),
            optim=Optim(steps=200, lr=1e-3, warmup=20, batch=64, micro_batch=32, weight_decay=0.01),
        ),
        # File vectors trained too: retrieval returns file nodes only where they sit near the queries' space.
        fuser=FuserConfig(levels=("repo", "file"), optim=Optim(steps=200, lr=1e-3, warmup=20, batch=16, micro_batch=16, weight_decay=0.01)),
        projector=ProjectorConfig(hidden=512, optim=Optim(steps=200, lr=1e-3, warmup=20, batch=32, micro_batch=16, weight_decay=0.0)),
        regime=RegimeConfig(
            max_repos=100,
            tasks_per_repo=60,
            tasks_per_file=8,
            separate=Optim(steps=60, lr=5e-4, warmup=6, batch=16, micro_batch=4, weight_decay=0.01),
            e2e=Optim(steps=100, lr=5e-4, warmup=10, batch=16, micro_batch=4, weight_decay=0.01),
            diagnose_every=50,
            diagnostic_examples=32,
        ),
    )


PRESETS = {"smoke": smoke, "cpu": cpu, "gpu": gpu}


def preset(name: str) -> RecipeConfig:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return PRESETS[name]()


def override(config: Any, assignment: str) -> None:
    """Applies `a.b.c=value` (value parsed as JSON when it parses, else taken as a string)."""
    key, _, raw = assignment.partition("=")
    if not _:
        raise ValueError(f"--set wants key=value, got {assignment!r}")
    *path, last = key.split(".")
    target = config
    for part in path:
        target = getattr(target, part)
    if not hasattr(target, last):
        raise KeyError(f"no setting {key}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    current = getattr(target, last)
    if isinstance(current, tuple) and isinstance(value, list):
        value = tuple(value)
    if dataclasses.is_dataclass(current) and dataclasses.is_dataclass(target) and isinstance(value, dict):
        value = dataclasses.replace(current, **value)
    if dataclasses.is_dataclass(target) and getattr(type(target), "__dataclass_params__").frozen:
        raise KeyError(f"{key}: set the whole {'.'.join(path)} instead")
    setattr(target, last, value)


def as_dict(config: RecipeConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)
