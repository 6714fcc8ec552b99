"""`npm run bench:train`: tokens per second of every stage of a preset, at the preset's real model sizes,
on this machine. It runs the recipe itself with a few steps per stage on the project's own small
repositories (samples/shop and three folders of TypeScript and JavaScript), so what it times is
exactly what `hef train` runs; only the step counts and the data are small.

    python -m hef_training.bench [--preset cpu] [--steps 6] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from .config import preset
from .recipe import TrainInputs, train

ROOT = Path(__file__).resolve().parents[2]
REPOS = [ROOT / "samples" / "shop", ROOT / "sidecar" / "completion", ROOT / "sidecar" / "cache", ROOT / "node_modules" / "vscode-jsonrpc" / "lib" / "common"]
STAGES = ("generator", "embedder", "fuser", "warmup", "separate", "e2e")


def bench_config(name: str, steps: int):
    config = preset(name)
    for optim in (config.generator.optim, config.embedder.optim, config.fuser.optim, config.projector.optim, config.regime.separate, config.regime.e2e):
        optim.steps = steps
        optim.warmup = 1
    config.tokenizer.sample_bytes = 2_000_000
    config.regime.tasks_per_repo = 40
    config.regime.max_repos = 0
    config.regime.diagnose_every = 0
    return config


def table(record: dict, name: str) -> str:
    rows = [("stage", "steps", "tokens/step", "tokens/s", "s/step")]
    for stage in STAGES:
        report = record["stages"].get(stage)
        if report is None:
            continue
        steps = report["steps"] - report["resumed_from"]
        rows.append((stage, str(steps), f"{report['tokens'] / max(1, report['steps']):,.0f}", f"{report['tokens_per_s']:,.0f}", f"{report['seconds'] / max(1, steps):.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    hardware = record.get("hardware", {})
    machine = hardware.get("gpu") or f"{hardware.get('cpus')} CPUs"
    return f"preset {name} on {machine} (torch {hardware.get('torch')})\n" + "\n".join([lines[0], "-+-".join("-" * w for w in widths), *lines[1:]])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench:train")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary folder)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu"))
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="hef-bench-train-"))
    try:
        record = train(TrainInputs(repos=[r for r in REPOS if r.is_dir()], out=out, config=bench_config(args.preset, args.steps), device=args.device, progress=False))
        print(table(record, args.preset))
        print(json.dumps({s: record["stages"][s]["tokens_per_s"] for s in STAGES if s in record["stages"]}))
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
