"""The optimisation loop: the schedule, and a run SIGKILLed mid-stage resumes to the same weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hef_training.runtime import Optim

TRAIN_SCRIPT = """
import sys, time, torch
from pathlib import Path
from hef_training.runtime import Optim, Stage, StepResult, run_stage, setup_device
out = Path(sys.argv[1]); slow = float(sys.argv[2])
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 1))
target = torch.nn.Linear(8, 1)
def batch(step, index):
    g = torch.Generator().manual_seed(step * 100 + index)
    return torch.randn(4, 8, generator=g)
def loss(x):
    time.sleep(slow)
    return StepResult(((model(x) - target(x).detach()) ** 2).mean(), x.shape[0])
stage = Stage("toy", {"model": model}, [(list(model.parameters()), 1.0)], Optim(steps=40, lr=1e-2, warmup=5, batch=8, micro_batch=4), batch, loss)
report = run_stage(stage, setup_device("cpu"), out, checkpoint_every_s=0.0, progress=False)
torch.save(model.state_dict(), out / "final.pt")
print(report.resumed_from)
"""


def run_toy(out: Path, slow: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, str(out), str(slow)], stdout=subprocess.PIPE, text=True)


def test_warmup_then_cosine_decay() -> None:
    optim = Optim(steps=100, lr=1.0, warmup=10, min_lr_ratio=0.1)
    assert optim.lr_at(0) == pytest.approx(0.1)
    assert optim.lr_at(9) == pytest.approx(1.0)
    assert optim.lr_at(10) == pytest.approx(1.0)
    assert optim.lr_at(55) == pytest.approx(0.55)
    assert optim.lr_at(100) == pytest.approx(0.1)
    assert Optim(steps=1, lr=1.0, batch=32, micro_batch=8).accumulation(world=2) == 2


def test_sigkill_mid_stage_resumes_to_the_same_weights(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    assert run_toy(clean, 0.0).wait(timeout=120) == 0

    killed = tmp_path / "killed"
    process = run_toy(killed, 0.05)
    checkpoint = killed / "checkpoints" / "toy.pt"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not checkpoint.exists():
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    step = torch.load(checkpoint, weights_only=False)["step"]
    assert 0 < step < 40, step

    resumed = run_toy(killed, 0.0)
    out, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0
    assert int(out.strip()) >= step
    for key, value in torch.load(clean / "final.pt").items():
        assert torch.equal(value, torch.load(killed / "final.pt")[key]), key
    log = [json.loads(line) for line in (killed / "logs" / "toy.jsonl").read_text().splitlines()]
    assert any(r.get("event") == "resume" for r in log)
    assert log[-1]["event"] == "done" and log[-1]["steps"] == 40


DDP_SCRIPT = """
import os, sys, torch
from pathlib import Path
from hef_training.runtime import Optim, Stage, StepResult, run_stage, setup_device
out = Path(sys.argv[1])
device = setup_device("cpu")
torch.manual_seed(0)
model = torch.nn.Linear(8, 1)
def batch(step, index):
    g = torch.Generator().manual_seed(step * 100 + index)
    return torch.randn(4, 8, generator=g)
def loss(x):
    return StepResult(((model(x) - x.sum(1, keepdim=True)) ** 2).mean(), x.shape[0])
stage = Stage("ddp", {"model": model}, [(list(model.parameters()), 1.0)], Optim(steps=30, lr=5e-2, batch=8, micro_batch=4), batch, loss)
report = run_stage(stage, device, out, progress=False)
torch.save(model.state_dict(), out / f"final-{device.rank}.pt")
if device.main:
    print(device.world, report.first_loss, report.last_loss)
"""


def test_torchrun_data_parallel_ranks_stay_identical(tmp_path: Path) -> None:
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533", str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    world, first, last = result.stdout.split("\n")[0].split()
    assert world == "2" and float(last) < float(first)
    rank0, rank1 = torch.load(tmp_path / "final-0.pt"), torch.load(tmp_path / "final-1.pt")
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    # Two ranks with one micro-batch each train as one process accumulating both.
    alone = tmp_path / "alone"
    alone.mkdir()
    alone_out = subprocess.run([sys.executable, str(script), str(alone)], check=True, capture_output=True, text=True, timeout=300).stdout.split()
    assert float(alone_out[1]) == pytest.approx(float(first)) and float(alone_out[2]) == pytest.approx(float(last), rel=1e-4)
    single = torch.load(alone / "final-0.pt")
    assert all(torch.allclose(rank0[k], single[k], atol=1e-5) for k in rank0)
    # Each rank took one of the two micro-batches per step; only rank 0 logs.
    assert len([line for line in (tmp_path / "logs" / "ddp.jsonl").read_text().splitlines() if '"step"' in line and '"loss"' in line]) == 30


def test_a_time_budget_ends_the_stage_at_the_step_that_fits(tmp_path: Path) -> None:
    from hef_training.runtime import Stage, StepResult, run_stage, setup_device

    model = torch.nn.Linear(4, 1)

    def loss(x: torch.Tensor) -> StepResult:
        time.sleep(0.05)
        return StepResult((model(x) ** 2).mean(), 1)

    optim = Optim(steps=1000, lr=1e-2, batch=2, micro_batch=1, seconds=1.5)
    stage = Stage("budget", {"model": model}, [(list(model.parameters()), 1.0)], optim, lambda step, i: torch.ones(2, 4), loss)
    report = run_stage(stage, setup_device("cpu"), tmp_path, progress=False)
    assert 8 <= report.steps <= 16, report.steps  # 0.1 s a step in 1.5 s
    assert report.seconds < 3.0
    events = [json.loads(line) for line in (tmp_path / "logs" / "budget.jsonl").read_text().splitlines()]
    assert [e["steps"] for e in events if e.get("event") == "steps"] == [report.steps]
    assert optim.lr_at(report.steps - 1) < 0.2 * optim.lr, "the schedule decays to the new end"


def test_keep_best_ends_with_the_weights_where_the_held_out_figure_was_lowest(tmp_path: Path) -> None:
    from hef_training.runtime import Stage, StepResult, run_stage, setup_device

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1, bias=False)
    # Training pulls the weights to `pulled`; the held-out figure is the distance to `wanted`, which
    # the path passes near early on and then leaves: the overfitting a regime on few examples shows.
    pulled = torch.tensor([[4.0, 4.0, 4.0, 4.0]])
    wanted = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    with torch.no_grad():
        model.weight.zero_()

    def loss(x: torch.Tensor) -> StepResult:
        return StepResult(((model.weight - pulled) ** 2).sum(), 1)

    def diagnose() -> dict[str, float]:
        return {"gold_loss": float(((model.weight - wanted) ** 2).sum())}

    optim = Optim(steps=60, lr=0.05, warmup=1, batch=1, micro_batch=1, weight_decay=0.0, min_lr_ratio=1.0)
    stage = Stage("best", {"model": model}, [(list(model.parameters()), 1.0)], optim, lambda step, i: torch.ones(1, 4), loss, diagnose, 5, keep_best="gold_loss")
    report = run_stage(stage, setup_device("cpu"), tmp_path, progress=False)
    events = [json.loads(line) for line in (tmp_path / "logs" / "best.jsonl").read_text().splitlines()]
    figures = {e["step"]: e["gold_loss"] for e in events if e.get("event") == "diagnostic"}
    best_step = min(figures, key=figures.__getitem__)
    assert 0 < best_step < 60, figures
    assert report.kept_step == best_step
    assert report.diagnostics["gold_loss"] == pytest.approx(figures[best_step])
    assert float(((model.weight.detach() - wanted) ** 2).sum()) == pytest.approx(figures[best_step], rel=1e-5)
    # A resumed run of the finished stage ends with the same weights.
    kept = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.fill_(9.0)
    again = run_stage(stage, setup_device("cpu"), tmp_path, progress=False)
    assert again.kept_step == best_step
    assert torch.equal(model.weight.detach(), kept)
