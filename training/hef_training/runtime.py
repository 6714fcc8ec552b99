"""Where and how a stage runs: the device and precision (CPU float32, CUDA bf16), data parallelism under
torchrun, the optimisation loop (AdamW, warm-up then cosine decay, gradient accumulation, clipping),
checkpoints that a run killed at any moment resumes from, a progress line and a JSON-lines log."""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class Device:
    device: torch.device
    rank: int
    world: int

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def main(self) -> bool:
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        # bf16 on GPUs keeps float32's range: no loss scaling; the CPU trains in float32.
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.cuda else contextlib.nullcontext()


def setup_device(prefer: str = "auto") -> Device:
    """The GPU of this rank under torchrun (one process per GPU), else the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = prefer != "cpu" and torch.cuda.is_available()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        torch.backends.cuda.matmul.allow_tf32 = True
        return Device(torch.device("cuda", local), rank, world)
    return Device(torch.device("cpu"), rank, world)


@dataclass
class Optim:
    """Table 3 of the paper by default: AdamW (0.9, 0.999), warm-up, cosine decay, effective batch 32."""

    steps: int
    lr: float
    warmup: int = 0
    batch: int = 32
    micro_batch: int = 8
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    clip: float = 1.0
    min_lr_ratio: float = 0.1
    # A time budget (0 = none): after a few steps the stage measures its pace and ends at the step that
    # fits, so one script sizes itself to a machine it never ran on. The schedule follows the new end.
    seconds: float = 0.0

    def accumulation(self, world: int) -> int:
        return max(1, self.batch // (self.micro_batch * world))

    def lr_at(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.steps - self.warmup)
        floor = self.lr * self.min_lr_ratio
        return floor + (self.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class RunLog:
    """Every event of a run as one JSON object per line (appended, so a resumed run continues its log)."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record: Any) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"time": round(time.time(), 3), **record}) + "\n")


class Progress:
    """One line per update on a terminal (rewritten in place), or every few seconds in a log file."""

    def __init__(self, stage: str, total: int, enabled: bool = True, every_s: float = 10.0) -> None:
        self.stage = stage
        self.total = total
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.every_s = 0.2 if self.tty else every_s
        self.last = 0.0

    def update(self, step: int, loss: float, tokens_per_s: float, elapsed_s: float, first_step: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < self.every_s):
            return
        self.last = now
        done = step - first_step
        left = elapsed_s / done * (self.total - step) if done > 0 else float("nan")
        line = f"[{self.stage}] step {step}/{self.total}  loss {loss:.4f}  {tokens_per_s:,.0f} tok/s  {format_seconds(left)} left"
        sys.stderr.write(f"\r{line}\x1b[K" if self.tty else f"{line}\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Written beside and renamed: a process killed mid-write leaves the previous file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save, atomically (a checkpoint, a module's state)."""
    atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: Path) -> None:
    """A text file (a record, JSON), atomically."""
    atomic_write(path, lambda f: f.write(text.encode()))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class StepResult:
    loss: Tensor
    tokens: int
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Stage:
    """One training stage: what it trains, from which batches, with which loss."""

    name: str
    modules: dict[str, nn.Module]
    # (parameters, learning-rate scale): a pretrained generator wants a smaller rate than a new projector.
    param_groups: Sequence[tuple[Sequence[nn.Parameter], float]]
    optim: Optim
    # micro-batch `index` of step `step` for this rank: deterministic, so a resumed run sees the same data.
    batch: Callable[[int, int], Any]
    loss: Callable[[Any], StepResult]
    # Called every `diagnose_every` steps and at the end: extra figures for the log (e.g. pseudo-token use).
    diagnose: Callable[[], dict[str, float]] | None = None
    diagnose_every: int = 0
    # A diagnostic figure to minimise (a held-out loss): the stage ends with the weights of the
    # diagnosed step where it was lowest, the start included, not with the last step's. A regime on
    # a few hundred examples overfits them (train loss 4.1 -> 1.9 while held-out 4.28 -> 4.44).
    keep_best: str | None = None


@dataclass
class StageReport:
    name: str
    steps: int
    resumed_from: int
    first_loss: float
    last_loss: float
    tokens: int
    seconds: float
    tokens_per_s: float
    diagnostics: dict[str, float]
    # The same figures before the first step: a stage's effect on a fixed held-out batch, which the
    # per-step loss (a new random batch each step) shows only through its noise.
    initial_diagnostics: dict[str, float]
    # The step whose weights the stage ended with (steps, unless keep_best chose an earlier one).
    kept_step: int = 0


CALIBRATION_STEPS = 6


def _sync_gradients(params: Sequence[nn.Parameter], world: int) -> None:
    # Gradients are averaged by hand rather than through DistributedDataParallel: a stage trains
    # several modules (fuser, projector, generator) with frozen parts in between, and one all-reduce
    # per parameter after accumulation is all DDP would do here.
    for p in params:
        # A parameter one rank's micro-batches never reached still takes part: every rank must call
        # all_reduce for the same parameters in the same order, or the job hangs.
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad.div_(world)


def run_stage(stage: Stage, device: Device, out: Path, checkpoint_every_s: float = 300.0, progress: bool = True) -> StageReport:
    """Trains to stage.optim.steps, resuming from out/checkpoints/<stage>.pt when a previous run left one."""
    ckpt_path = out / "checkpoints" / f"{stage.name}.pt"
    log = RunLog(out / "logs" / f"{stage.name}.jsonl", enabled=device.main)
    groups = [{"params": list(params), "scale": scale} for params, scale in stage.param_groups if params]
    trainable = [p for group in groups for p in group["params"]]
    optimizer = torch.optim.AdamW(groups, lr=stage.optim.lr, betas=stage.optim.betas, weight_decay=stage.optim.weight_decay)
    start = 0
    history: dict[str, Any] = {"first_loss": None, "last_loss": float("nan"), "tokens": 0, "seconds": 0.0}
    # keep_best's candidate: {"step", "value", "modules", "diagnostics"}.
    best: dict[str, Any] | None = None
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device.device, weights_only=False)
        for name, module in stage.modules.items():
            module.load_state_dict(state["modules"][name])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        start, history = state["step"], state["history"]
        best = state.get("best")
        stage.optim.steps = history.get("steps", stage.optim.steps)
        stage.optim.warmup = history.get("warmup", stage.optim.warmup)
        log.write(event="resume", stage=stage.name, step=start)
    accumulate = stage.optim.accumulation(device.world)
    bar = Progress(stage.name, stage.optim.steps, enabled=progress and device.main)
    last_save = time.monotonic()
    began = time.monotonic() - history["seconds"]
    run_began = time.monotonic()
    tokens_this_run = 0
    loss_value = float("nan")
    diagnostics: dict[str, float] = {}

    def diagnose(step: int) -> dict[str, float]:
        nonlocal best
        figures = run_diagnostics(stage, log, step)
        value = figures.get(stage.keep_best) if stage.keep_best else None
        if value is not None and (best is None or value < best["value"]):
            modules = {n: {k: v.detach().clone() for k, v in m.state_dict().items()} for n, m in stage.modules.items()}
            best = {"step": step, "value": value, "modules": modules, "diagnostics": figures}
        return figures

    def save(step: int) -> None:
        if device.main:
            history["seconds"] = time.monotonic() - began
            atomic_save(
                {"step": step, "modules": {n: m.state_dict() for n, m in stage.modules.items()}, "optimizer": optimizer.state_dict(), "rng": torch.get_rng_state(), "history": history, "best": best},
                ckpt_path,
            )
            log.write(event="checkpoint", stage=stage.name, step=step)

    if stage.diagnose and start == 0:
        history["initial_diagnostics"] = diagnose(0)
    for module in stage.modules.values():
        module.train()
    calibration_began = time.monotonic()
    step = start
    while step < stage.optim.steps:
        lr = stage.optim.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["scale"]
        optimizer.zero_grad(set_to_none=True)
        total_loss = 0.0
        step_tokens = 0
        extra: dict[str, float] = {}
        for micro in range(accumulate):
            batch = stage.batch(step, micro * device.world + device.rank)
            with device.autocast():
                result = stage.loss(batch)
            (result.loss / accumulate).backward()
            total_loss += result.loss.item() / accumulate
            step_tokens += result.tokens
            for key, value in result.extra.items():
                extra[key] = extra.get(key, 0.0) + value / accumulate
        if device.world > 1:
            _sync_gradients(trainable, device.world)
            # The log reports the loss of the whole step, every rank's micro-batches, as one process would.
            reduced = torch.tensor([total_loss], device=device.device)
            dist.all_reduce(reduced)
            total_loss = reduced.item() / device.world
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, stage.optim.clip).item() if stage.optim.clip > 0 else 0.0
        optimizer.step()
        loss_value = total_loss
        history["last_loss"] = loss_value
        if history["first_loss"] is None:
            history["first_loss"] = loss_value
        step_tokens *= device.world
        history["tokens"] += step_tokens
        tokens_this_run += step_tokens
        elapsed = time.monotonic() - run_began
        tokens_per_s = tokens_this_run / elapsed if elapsed > 0 else 0.0
        log.write(stage=stage.name, step=step + 1, loss=round(loss_value, 5), lr=lr, grad_norm=round(grad_norm, 4), tokens=step_tokens, tokens_per_s=round(tokens_per_s, 1), **{k: round(v, 5) for k, v in extra.items()})
        bar.update(step + 1, loss_value, tokens_per_s, elapsed, start, force=step + 1 == stage.optim.steps)
        if stage.diagnose and stage.diagnose_every and (step + 1) % stage.diagnose_every == 0 and step + 1 < stage.optim.steps:
            diagnostics = diagnose(step + 1)
        if stage.optim.seconds > 0 and "steps" not in history and step + 1 - start == CALIBRATION_STEPS:
            # The first step pays for warm-up (allocations, kernel choice): the pace is taken after it.
            pace = (time.monotonic() - calibration_began) / (CALIBRATION_STEPS - 1)
            fit = step + 1 + int((stage.optim.seconds - (time.monotonic() - began)) / pace)
            if device.world > 1:  # every rank must stop at the same step: rank 0's pace decides
                agreed = torch.tensor([fit], device=device.device)
                dist.broadcast(agreed, 0)
                fit = int(agreed.item())
            history["steps"] = stage.optim.steps = max(step + 1, min(stage.optim.steps, fit))
            # A warm-up longer than a tenth of the fitted stage would leave the peak rate unreached.
            history["warmup"] = stage.optim.warmup = min(stage.optim.warmup, max(CALIBRATION_STEPS, stage.optim.steps // 10))
            bar.total = stage.optim.steps
            log.write(event="steps", stage=stage.name, steps=stage.optim.steps, seconds_per_step=round(pace, 4), budget_s=stage.optim.seconds)
        if step + 1 - start == 1:
            calibration_began = time.monotonic()
        if time.monotonic() - last_save >= checkpoint_every_s and step + 1 < stage.optim.steps:
            save(step + 1)
            last_save = time.monotonic()
        step += 1
    bar.end()
    if stage.diagnose:
        diagnostics = diagnose(stage.optim.steps) if start < stage.optim.steps else run_diagnostics(stage, log, stage.optim.steps)
    kept_step = stage.optim.steps
    if best is not None and best["step"] < stage.optim.steps:
        # The checkpoint saved below holds these weights, so a resumed run ends with them too.
        for name, module in stage.modules.items():
            module.load_state_dict(best["modules"][name])
        kept_step, diagnostics = best["step"], best["diagnostics"]
        log.write(event="kept_best", stage=stage.name, step=kept_step, value=best["value"])
    if start < stage.optim.steps:
        save(stage.optim.steps)
    seconds = time.monotonic() - began
    report = StageReport(
        name=stage.name,
        steps=stage.optim.steps,
        resumed_from=start,
        first_loss=float(history["first_loss"] if history["first_loss"] is not None else loss_value),
        last_loss=float(history["last_loss"]),
        tokens=int(history["tokens"]),
        seconds=round(seconds, 2),
        tokens_per_s=round(tokens_this_run / max(1e-9, time.monotonic() - run_began), 1),
        diagnostics=diagnostics,
        initial_diagnostics=history.get("initial_diagnostics", {}),
        kept_step=kept_step,
    )
    log.write(event="done", **asdict(report))
    return report


def run_diagnostics(stage: Stage, log: RunLog, step: int) -> dict[str, float]:
    assert stage.diagnose is not None
    for module in stage.modules.values():
        module.eval()
    with torch.no_grad():
        figures = stage.diagnose()
    for module in stage.modules.values():
        module.train()
    log.write(event="diagnostic", stage=stage.name, step=step, **figures)
    return figures


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
