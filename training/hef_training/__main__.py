"""`python -m hef_training train ...`: the recipe from the command line (`hef train` runs this).

    python -m hef_training train --repos DIR [DIR ...] --out DIR [--preset smoke|cpu|gpu]
        [--generator GGUF|DIR] [--embedder GGUF] [--set key=value ...] [--device auto|cpu] [--until STEP] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import override, preset
from .recipe import STEPS, RecipeError, TrainInputs, train
from .user_models import UserModelError


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hef train", description="Train HEF's models and adapter on repositories.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="run the whole recipe")
    t.add_argument("--repos", nargs="+", required=True, type=Path, help="repository folders")
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--preset", default="cpu", help="smoke, cpu or gpu")
    t.add_argument("--generator", type=Path, help="your generator (GGUF, or a folder with config.json, tokenizer.json and safetensors) to fine-tune")
    t.add_argument("--embedder", type=Path, help="your embedding GGUF, used frozen")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting, e.g. generator.optim.steps=2000")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", default="auto", choices=("auto", "cpu"))
    t.add_argument("--until", choices=STEPS, help="stop after this step; run again without it to continue")
    t.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    config = preset(args.preset)
    for assignment in args.set:
        override(config, assignment)
    if args.seed is not None:
        config.seed = args.seed
    inputs = TrainInputs(repos=args.repos, out=args.out, config=config, generator=args.generator, embedder=args.embedder, device=args.device, progress=not args.quiet, until=args.until)
    record = train(inputs)
    print(json.dumps({"out": str(args.out), "stoppedAfter": record.get("stopped_after"), "models": record.get("models", {}), "hours": record.get("hours")}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (RecipeError, UserModelError, KeyError, ValueError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"hef train: {message}", file=sys.stderr)
        sys.exit(1)
