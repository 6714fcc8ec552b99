"""The whole recipe, from raw repositories to the files the sidecar loads, one step after another. Every
step leaves its result under the output folder and is skipped when that result is there, and every
training stage resumes from its checkpoint, so `hef train` run again after a crash (or a SIGKILL)
continues where it stopped.

    0 tokenizer            (skipped with a user's generator: its tokenizer is used)
    - tasks, first export  `hef tasks` and `hef export` through the sidecar's own CLI; where the export has
                           cores of its own (a GPU machine) it runs beside the generator's pre-training
    1 generator            pre-training from scratch (with a user's generator: skipped, or continued when
                           generator.continue_pretraining is set); models/pretrained/generator.gguf
    2 embedder             contrastive (skipped with a user's embedder GGUF, which stays frozen), then
                           the export again with it
    3 fuser                contrastive InfoNCE on repository vectors
    4 warmup               projector by reconstruction
    - uwl                  utility-weighted likelihood filter of the line examples
    5 separate, 6 e2e      the paper's two regimes, each from the warmed-up state
    - models               GGUFs and adapter: models/ (the last regime), models/<regime>/ (each)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from .config import RecipeConfig, as_dict
from .examples import LineExample, line_examples, query_pairs
from .exports import RepoExport, load_exports
from .gguf_files import ModelIdentity, fingerprint_file, write_adapter, write_embedder, write_fuser_transformer, write_generator
from .hierarchy import RepoTree
from .lm_data import TokenWindows, build_stream, repo_files
from .modeling import Embedder, Fuser, Projector, new_generator, parameter_count
from .runtime import Device, StageReport, atomic_save, atomic_write_text, run_stage, seed_everything, setup_device
from .stages.embedder import embedder_stage
from .stages.fuser import fuser_stage
from .stages.hef import HefData, e2e_stage, separate_stage, warmup_stage
from .stages.pretrain import pretrain_stage
from .tokenizer import CodeTokenizer, sample_texts, train_tokenizer
from .user_models import load_user_generator
from .uwl import UwlCheckpoint, uwl_filter


class RecipeError(RuntimeError):
    pass


T = TypeVar("T")


STEPS = ("tokenizer", "generator", "embedder", "fuser", "warmup", "uwl", "separate", "e2e")


class _Reached(Exception):
    """Raised after the step --until names: the recipe stops there, and a later run continues."""


@dataclass
class TrainInputs:
    repos: list[Path]
    out: Path
    config: RecipeConfig
    generator: Path | None = None  # the user's, fine-tuned instead of trained from scratch
    embedder: Path | None = None  # the user's embedding GGUF, frozen
    device: str = "auto"
    # The sidecar's CLI as a command prefix (node + script); hef train passes its own.
    hef_cli: list[str] = field(default_factory=list)
    progress: bool = True
    # Stop after this step (one of STEPS): each stage as its own command.
    until: str | None = None


def default_hef_cli() -> list[str]:
    if os.environ.get("HEF_CLI"):
        return list(json.loads(os.environ["HEF_CLI"]))
    root = Path(__file__).resolve().parents[2]
    return [os.environ.get("HEF_NODE", "node"), str(root / "bin" / "hef.mjs")]


def _set_trainable(modules: list[nn.Module], trainable: list[nn.Module]) -> None:
    for module in modules:
        module.requires_grad_(any(module is t for t in trainable))


class Recipe:
    def __init__(self, inputs: TrainInputs) -> None:
        self.inputs = inputs
        self.config = inputs.config
        self.out = inputs.out
        self.device: Device = setup_device(inputs.device)
        self.record: dict[str, Any] = {"stages": {}}
        self.state = self.out / "state"
        self.started = time.monotonic()

    # ---- bookkeeping -------------------------------------------------------------------------

    def say(self, message: str) -> None:
        if self.inputs.progress and self.device.main:
            print(f"hef train: {message}", flush=True)

    def save_record(self) -> None:
        if not self.device.main:
            return
        path = self.out / "recipe.json"
        previous = json.loads(path.read_text()) if path.exists() else {}
        stages = {**previous.get("stages", {}), **self.record["stages"]}
        record = {**previous, **self.record, "stages": stages}
        record["seconds_this_run"] = round(time.monotonic() - self.started, 1)
        atomic_write_text(json.dumps(record, indent=2, default=str), path)

    def stage(self, stage, name: str) -> StageReport:
        report = run_stage(stage, self.device, self.out, self.config.checkpoint_every_s, self.inputs.progress)
        self.record["stages"][name] = dataclasses.asdict(report)
        self.save_record()
        held = ""
        if "gold_loss" in report.initial_diagnostics and "gold_loss" in report.diagnostics:
            held = f", held-out loss {report.initial_diagnostics['gold_loss']:.3f} -> {report.diagnostics['gold_loss']:.3f}"
        if report.kept_step < report.steps:
            held += f" (the weights of step {report.kept_step} of {report.steps}: the held-out loss was lowest there)"
        self.say(f"{name}: loss {report.first_loss:.3f} -> {report.last_loss:.3f}{held} in {report.seconds:.0f} s, {report.tokens_per_s:,.0f} tokens/s {report.diagnostics or ''}")
        return report

    def reached(self, step: str) -> None:
        if self.inputs.until == step:
            self.record["stopped_after"] = step
            raise _Reached(step)

    def save_module(self, name: str, module: nn.Module) -> None:
        if self.device.main:
            atomic_save(module.state_dict(), self.state / f"{name}.pt")

    def load_module(self, name: str, module: nn.Module) -> bool:
        path = self.state / f"{name}.pt"
        if not path.exists():
            return False
        try:
            module.load_state_dict(torch.load(path, map_location=self.device.device, weights_only=True))
        except RuntimeError as error:
            first = str(error).strip().splitlines()[-1].strip()
            raise RecipeError(f"{path} was trained with another configuration ({first}): use another --out, or delete it to train that step again") from error
        return True

    def on_main(self, work: Callable[[], None]) -> None:
        """Files every rank reads are written once, by rank 0, while the others wait for them."""
        if self.device.main:
            work()
        if self.device.world > 1:
            dist.barrier()

    def hef(self, *args: str) -> dict[str, Any]:
        return self.hef_at_once([list(args)])[0]

    def hef_at_once(self, calls: list[list[str]]) -> list[dict[str, Any]]:
        """Several `hef` commands as processes side by side; their JSON summaries in order."""
        with tempfile.TemporaryDirectory(prefix="hef-calls-") as logs, ExitStack() as files:
            running = []
            for i, args in enumerate(calls):
                backend = ["--backend", "cpu"] if self.inputs.device == "cpu" and args[0] == "export" else []
                # Files, not pipes: a process whose full pipe nobody reads yet would stop.
                stdout, stderr = (files.enter_context(open(Path(logs) / f"{i}.{kind}", "w+")) for kind in ("out", "err"))
                process = subprocess.Popen([*self.inputs.hef_cli, *args, *backend, "--json"], stdout=stdout, stderr=stderr, text=True)
                # Stopped when a later call fails to start: none writes on into a removed folder (a no-op once it ended).
                files.callback(process.kill)
                running.append((args[0], process, stdout, stderr))
            results = []
            failures = []
            for name, process, stdout, stderr in running:
                code = process.wait()
                stdout.seek(0)
                stderr.seek(0)
                if code != 0:
                    failures.append(f"hef {name} failed (exit {code}): {stderr.read().strip()}")
                else:
                    results.append(json.loads(stdout.read().strip().splitlines()[-1]))
        if failures:
            raise RecipeError("\n".join(failures))
        return results

    def export_processes(self) -> int:
        return self.config.export_processes or (max(1, (os.cpu_count() or 1) - 2) if self.device.cuda else 1)

    def ahead(self, work: Callable[[], T]) -> Callable[[], T]:
        """Starts the sidecar's export (CPU work in processes of its own) now, beside the generator's
        pre-training, where it has cores of its own (more than one export process, one training
        process); elsewhere it runs when its result is asked for. Returns what waits for that result."""
        if self.device.world > 1 or self.export_processes() <= 1:
            return work
        pool = ThreadPoolExecutor(1, thread_name_prefix="hef-export")
        future = pool.submit(work)
        pool.shutdown(wait=False)
        return future.result

    # ---- steps -------------------------------------------------------------------------------

    def link_repos(self) -> Path:
        """One folder holding the retrieval stages' repositories by name: how `hef tasks` and `hef export` take them."""
        folder = self.out / "repos"
        names: dict[str, Path] = {}
        for repo in self.retrieval_repos():
            name = repo.name
            n = 2
            while name in names and names[name] != repo:
                name, n = f"{repo.name}-{n}", n + 1
            names[name] = repo
        if len(names) < 2:
            raise RecipeError(f"the retrieval stages need at least 2 repositories of 3 or more source files, found {len(names)}: pass more --repos")

        def link() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for existing in folder.iterdir():
                if existing.name not in names:
                    existing.unlink() if existing.is_symlink() else shutil.rmtree(existing)
            for name, repo in names.items():
                path = folder / name
                if path.is_symlink() and path.resolve() == repo:
                    continue
                if path.is_symlink():
                    path.unlink()
                path.symlink_to(repo, target_is_directory=True)

        self.on_main(link)
        self.record["retrieval_repos"] = {name: str(path) for name, path in names.items()}
        return folder

    def retrieval_repos(self) -> list[Path]:
        repos = [r.resolve() for r in self.inputs.repos]
        for repo in repos:
            if not repo.is_dir():
                raise RecipeError(f"{repo}: not a directory")
        limit = self.config.regime.max_repos
        def fits(repo: Path) -> bool:
            files = repo_files(repo)
            return len(files) >= 3 and (not limit or sum(f.stat().st_size for f in files) <= self.config.regime.repo_max_bytes)

        candidates = [r for r in repos if fits(r)]
        if not limit or len(candidates) <= limit:
            return candidates
        random.Random(self.config.seed).shuffle(candidates)
        return sorted(candidates[:limit])

    def tokenizer(self) -> CodeTokenizer:
        path = self.out / "tokenizer.json"

        def train() -> None:
            self.say("training the tokenizer")
            files = [f for repo in self.inputs.repos for f in repo_files(repo)]
            random.Random(self.config.seed).shuffle(files)
            tokenizer = CodeTokenizer(train_tokenizer(sample_texts(files, self.config.tokenizer.sample_bytes), self.config.tokenizer.vocab_size))
            tokenizer.save(path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)

        if not path.exists():
            self.on_main(train)
        return CodeTokenizer.load(path)

    def generator(self, tokenizer: CodeTokenizer, start: nn.Module | None = None) -> nn.Module:
        """Pre-trains a new generator, or continues pre-training `start` (a loaded one, with its tokenizer)."""
        config = self.config.generator
        seed_everything(self.config.seed)
        model = start if start is not None else new_generator(config.shape, tokenizer.vocab_size, tokenizer.eos).to(self.device.device)
        if self.load_module("generator", model):
            return model
        stream = self.out / "data" / "lm-stream.npy"
        if not stream.exists():

            def tokenize() -> None:
                self.say("tokenizing the corpus")
                self.record["lm_stream_tokens"] = build_stream(self.inputs.repos, tokenizer, dataclasses.replace(config.data, seed=self.config.seed), stream)

            self.on_main(tokenize)
        self.say(f"{'continuing to pre-train' if start is not None else 'pre-training'} the generator ({parameter_count(model) / 1e6:.2f}M parameters)")
        windows = TokenWindows(stream, config.data.seq_len, self.config.seed)
        self.stage(pretrain_stage(model, windows, config.optim, self.device), "generator")
        self.save_module("generator", model)
        return model

    def tasks(self, repos: Path) -> Path:
        """Line-completion cursors, drawn again whenever what they are drawn from changed."""
        path = self.out / "tasks.jsonl"
        regime = self.config.regime
        inputs = {"repos": self.record["retrieval_repos"], "per_repo": regime.tasks_per_repo, "per_file": regime.tasks_per_file, "seed": self.config.seed}
        stamp = self.out / "tasks.inputs.json"
        if not path.exists() or not stamp.exists() or json.loads(stamp.read_text()) != inputs:

            def draw() -> None:
                summary = self.hef("tasks", str(repos), "--out", str(path), "--per-repo", str(regime.tasks_per_repo), "--per-file", str(regime.tasks_per_file), "--seed", str(self.config.seed))
                self.record["tasks"] = summary
                stamp.write_text(json.dumps(inputs))

            self.on_main(draw)
        return path

    def export(self, repos: Path, tasks: Path, embedder: Path, name: str) -> list[RepoExport]:
        """The sidecar's export, made again whenever the embedder, b, the tasks or the repositories changed."""
        folder = self.out / "exports" / name
        done = folder / "done.json"
        inputs = {"embedder": fingerprint_file(embedder), "b": self.config.regime.b, "tasks": hashlib.sha256(tasks.read_bytes()).hexdigest(), "repos": self.record["retrieval_repos"]}
        if not done.exists() or json.loads(done.read_text()).get("inputs") != inputs:

            def export() -> None:
                groups = self.repo_groups(repos, name)
                self.say(f"exporting the repositories' chunks and hierarchy ({name} embedder, {len(groups)} process{'es' if len(groups) > 1 else ''})")
                began = time.monotonic()
                common = ["--out", str(folder), "--tasks", str(tasks), "--embedder", str(embedder), "--b", str(self.config.regime.b)]
                summaries = self.hef_at_once([["export", str(group), *common] for group in groups])
                summary = {"out": str(folder), "repos": [r for s in summaries for r in s.get("repos", [])]}
                done.write_text(json.dumps({"inputs": inputs, "summary": summary, "processes": len(groups), "seconds": round(time.monotonic() - began, 1)}))

            self.on_main(export)
        exports = load_exports(folder)
        if any(e.b != self.config.regime.b for e in exports):
            raise RecipeError(f"{folder}: exported with another branching factor than b={self.config.regime.b}")
        return exports

    def repo_groups(self, repos: Path, name: str) -> list[Path]:
        """The repositories split among the export's processes, each group a folder of links, by size
        (largest first, to the lightest group) so that the processes end at about the same time."""
        count = min(self.export_processes(), len(self.record["retrieval_repos"]))
        if count <= 1:
            return [repos]
        sizes = {n: sum(f.stat().st_size for f in repo_files(Path(p))) for n, p in self.record["retrieval_repos"].items()}
        groups: list[list[str]] = [[] for _ in range(count)]
        loads = [0] * count
        for repo in sorted(sizes, key=lambda n: (-sizes[n], n)):
            lightest = loads.index(min(loads))
            groups[lightest].append(repo)
            loads[lightest] += sizes[repo]
        parts = self.out / "exports" / f"{name}-groups"
        shutil.rmtree(parts, ignore_errors=True)
        folders = []
        for i, group in enumerate(groups):
            folder = parts / str(i)
            folder.mkdir(parents=True)
            for repo in group:
                (folder / repo).symlink_to(Path(self.record["retrieval_repos"][repo]), target_is_directory=True)
            folders.append(folder)
        return folders

    def chunking_embedder(self, tokenizer: CodeTokenizer) -> Path:
        """What the chunks are cut with before an embedder is trained: an untrained one with the final
        tokenizer gives the chunks the trained one will index (chunks are cut by the tokenizer alone)."""
        path = self.out / "models" / "embedder-initial.gguf"

        def write() -> None:
            if not path.exists():
                seed_everything(self.config.seed + 2)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_embedder(path, Embedder(self.config.embedder.shape, tokenizer.vocab_size), tokenizer, weights="f32")

        self.on_main(write)
        return path

    def embedder(self, tokenizer: CodeTokenizer, chunked: Callable[[], list[RepoExport]]) -> Path:
        """The embedder GGUF the index is built with: the user's, or one trained here on the query/chunk
        pairs of `chunked` (the export made with the chunking embedder)."""
        if self.inputs.embedder is not None:
            return self.inputs.embedder
        models = self.out / "models"
        final = models / "embedder.gguf"
        config = self.config.embedder
        seed_everything(self.config.seed + 2)
        embedder = Embedder(config.shape, tokenizer.vocab_size).to(self.device.device)
        if not self.load_module("embedder", embedder):
            pairs = query_pairs(chunked(), tokenizer, config.max_tokens)
            random.Random(self.config.seed).shuffle(pairs)
            held, train = pairs[: min(64, len(pairs) // 10)], pairs[min(64, len(pairs) // 10) :]
            self.say(f"training the embedder on {len(train)} query/chunk pairs ({sum(p.cross_file for p in train)} cross-file)")
            self.stage(embedder_stage(embedder, train, held, config.optim, config.temperature, self.device, self.config.seed), "embedder")
            self.save_module("embedder", embedder)
        if not final.exists():
            self.on_main(lambda: write_embedder(final, embedder, tokenizer, weights=self.config.weights, name="HEF embedder", description=f"Trained by hef train (preset {self.config.preset})."))
        return final

    def fuser(self, trees: list[RepoTree], d: int) -> Fuser:
        config = self.config.fuser
        seed_everything(self.config.seed + 3)
        fuser = Fuser(d, config.shape).to(self.device.device)
        if not self.load_module("fuser", fuser):
            self.say("contrastive fuser pre-training")
            self.stage(fuser_stage(fuser, trees, config.optim, config.temperature, config.levels, self.config.seed), "fuser")
            self.save_module("fuser", fuser)
        return fuser

    def warmup(self, generator: nn.Module, trees: list[RepoTree], tokenizer: CodeTokenizer, d: int, d_g: int) -> Projector:
        config = self.config.projector
        seed_everything(self.config.seed + 4)
        projector = Projector(d, config.hidden, d_g).to(self.device.device)
        if not self.load_module("projector", projector):
            self.say("projector warm-up by reconstruction")
            _set_trainable([generator, projector], [projector])
            self.stage(warmup_stage(generator, projector, trees, tokenizer, config.reconstruct_tokens, config.optim, self.config.seed), "warmup")
            self.save_module("projector", projector)
        return projector

    def examples(self, generator: nn.Module, data: HefData, exports: list[RepoExport]) -> tuple[list[LineExample], list[LineExample]]:
        """Line examples that pass UWL (decided once, kept in uwl.json), and held-out ones for diagnostics."""
        examples = line_examples(exports, data.tokenizer, seed=self.config.seed)
        random.Random(self.config.seed).shuffle(examples)
        held = examples[: min(self.config.regime.diagnostic_examples, len(examples) // 10)]
        train = examples[len(held) :]
        key = lambda e: f"{exports[e.repo].name}/{exports[e.repo].tasks[e.task].task_id}"  # noqa: E731
        path = self.out / "uwl.json"
        if not path.exists():

            def score() -> None:
                self.say(f"UWL over {len(train)} line examples")
                context = self.config.regime.uwl_context_tokens
                # What the scores depend on: the examples' tokens (tasks, export, tokenizer), the budget and a given generator.
                scored = [context, self.record.get("generator"), [[key(e), e.prefix, e.suffix, e.gold] for e in train]]
                fingerprint = hashlib.sha256(json.dumps(scored).encode()).hexdigest()
                checkpoint = UwlCheckpoint(self.out / "uwl.partial.json", fingerprint)
                kept, _, report = uwl_filter(generator, data, train, self.config.regime.uwl_threshold, context, checkpoint=checkpoint)
                path.write_text(json.dumps({"report": dataclasses.asdict(report), "kept": [key(e) for e in kept]}))
                checkpoint.path.unlink(missing_ok=True)
                self.say(f"UWL kept {report.kept} of {report.total} examples (sigmoid(delta) >= {report.threshold})")

            self.on_main(score)
        saved = json.loads(path.read_text())
        self.record["uwl"] = saved["report"]
        self.save_record()
        kept_ids = set(saved["kept"])
        return [e for e in train if key(e) in kept_ids], held

    # ---- the whole recipe --------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        if self.inputs.until is not None and self.inputs.until not in STEPS:
            raise RecipeError(f"--until must name a step: {', '.join(STEPS)}")
        self.out.mkdir(parents=True, exist_ok=True)
        self.record |= {"config": as_dict(self.config), "hardware": hardware(self.device), "repos": len(self.inputs.repos), "stopped_after": None}
        try:
            self.run_steps()
        except _Reached:
            pass
        self.record["hours"] = round((time.monotonic() - self.started) / 3600, 3)
        self.save_record()
        return self.record

    def run_steps(self) -> None:
        config = self.config
        seed_everything(config.seed)
        repos = self.link_repos()
        user = None
        if self.inputs.generator is not None:
            user, tokenizer = load_user_generator(self.inputs.generator)
            self.record["generator"] = {"path": str(self.inputs.generator), "fingerprint": fingerprint_file(self.inputs.generator) if self.inputs.generator.is_file() else None}
        else:
            tokenizer = self.tokenizer()
            self.reached("tokenizer")
        tasks = self.tasks(repos)
        # The first export needs no generator: where it has cores of its own it runs during pre-training.
        exported_with = self.inputs.embedder or self.chunking_embedder(tokenizer)
        first_export = self.ahead(lambda: self.export(repos, tasks, exported_with, "final" if self.inputs.embedder else "initial"))
        if user is None or config.generator.continue_pretraining:
            generator = self.generator(tokenizer, user.to(self.device.device) if user is not None else None)
            self.on_main(lambda: self.write_pretrained(tokenizer, generator))
        else:
            generator = user.to(self.device.device)
        self.reached("generator")
        embedder_path = self.embedder(tokenizer, first_export)
        self.reached("embedder")
        # Exported again only when the index's embedder is not the one the first export cut and embedded with.
        exports = first_export() if embedder_path == exported_with else self.export(repos, tasks, embedder_path, "final")
        if not exports:
            raise RecipeError("no repository was exported")
        d = exports[0].dim
        d_g = generator.config.hidden_size
        trees = [RepoTree.of(e, self.device.device) for e in exports]
        fuser = self.fuser(trees, d)
        self.reached("fuser")
        _set_trainable([generator, fuser], [])
        projector = self.warmup(generator, trees, tokenizer, d, d_g)
        self.reached("warmup")
        data = HefData(tokenizer, trees, config.regime.k, config.regime.spm_share)
        kept, held = self.examples(generator, data, exports)
        self.reached("uwl")
        initial = {name: {k: v.detach().clone() for k, v in m.state_dict().items()} for name, m in (("generator", generator), ("fuser", fuser), ("projector", projector))}
        outputs: dict[str, dict[str, str]] = {}
        for regime in config.regime.regimes:
            for name, module in (("generator", generator), ("fuser", fuser), ("projector", projector)):
                module.load_state_dict(initial[name])
            self.run_regime(regime, generator, fuser, projector, data, kept, held)
            self.on_main(lambda: self.write_models(regime, tokenizer, generator, fuser, projector, embedder_path, d))
            outputs[regime] = self.model_files(regime, embedder_path)
            self.record["models"] = outputs
            self.reached(regime)

    def run_regime(self, regime: str, generator: nn.Module, fuser: Fuser, projector: Projector, data: HefData, kept: list[LineExample], held: list[LineExample]) -> None:
        config = self.config.regime
        names = {"generator": f"{regime}/generator", "fuser": f"{regime}/fuser", "projector": f"{regime}/projector"}
        if all(self.load_module(names[n], m) for n, m in (("generator", generator), ("fuser", fuser), ("projector", projector))):
            return
        seed_everything(self.config.seed + 5)
        if regime == "separate":
            self.say("separate regime: projector and generator, fuser frozen")
            _set_trainable([generator, fuser, projector], [generator, projector])
            stage = separate_stage(generator, projector, fuser, data, kept, held, config.separate, config.generator_lr_scale, config.diagnose_every, self.config.seed)
        elif regime == "e2e":
            self.say("end-to-end regime: fuser, projector and generator")
            _set_trainable([generator, fuser, projector], [generator, fuser, projector])
            stage = e2e_stage(generator, projector, fuser, data, kept, held, config.e2e, config.generator_lr_scale, config.diagnose_every, self.config.seed)
        else:
            raise RecipeError(f"unknown regime {regime!r} (separate, e2e)")
        self.stage(stage, regime)
        for name, module in (("generator", generator), ("fuser", fuser), ("projector", projector)):
            self.save_module(names[name], module)

    def write_pretrained(self, tokenizer: CodeTokenizer, generator: nn.Module) -> None:
        """The generator before any regime: the baseline the regimes are measured against, and what a
        run stopped in a later step still leaves (a device run sends it back when no regime finished)."""
        path = self.out / "models" / "pretrained" / "generator.gguf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_generator(path, generator, tokenizer, weights=self.config.weights, name="HEF generator", description=f"Pre-trained by hef train (preset {self.config.preset}), before the regimes.")

    def write_models(self, regime: str, tokenizer: CodeTokenizer, generator: nn.Module, fuser: Fuser, projector: Projector, embedder: Path, d: int) -> None:
        """The regime's files; the last regime's also at the top of models/, the sidecar's default layout."""
        folder = self.out / "models" / regime
        folder.mkdir(parents=True, exist_ok=True)
        weights = self.config.weights
        description = f"Trained by hef train (preset {self.config.preset}, {regime} regime)."
        write_generator(folder / "generator.gguf", generator, tokenizer, weights=weights, name="HEF generator", description=description)
        write_fuser_transformer(folder / "fuser.gguf", fuser, weights="f32")
        write_adapter(
            folder / "adapter.gguf",
            projector,
            embedder=ModelIdentity(embedder.name, fingerprint_file(embedder), d),
            generator=ModelIdentity("generator.gguf", fingerprint_file(folder / "generator.gguf"), generator.config.hidden_size),
            k=self.config.regime.k,
            b=self.config.regime.b,
            fuser=fuser,
            fuser_model=folder / "fuser.gguf",
            name=f"HEF adapter ({regime})",
        )
        if regime == self.config.regime.regimes[-1]:
            top = self.out / "models"
            for name in ("generator.gguf", "fuser.gguf", "adapter.gguf"):
                shutil.copyfile(folder / name, top / name)

    def model_files(self, regime: str, embedder: Path) -> dict[str, str]:
        folder = self.out / "models" / regime
        return {"generator": str(folder / "generator.gguf"), "fuser": str(folder / "fuser.gguf"), "adapter": str(folder / "adapter.gguf"), "embedder": str(embedder)}


def hardware(device: Device) -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__, "device": str(device.device), "world": device.world}
    if device.cuda:
        info["gpu"] = torch.cuda.get_device_name(device.device)
    return info


def train(inputs: TrainInputs) -> dict[str, Any]:
    if not inputs.hef_cli:
        inputs.hef_cli = default_hef_cli()
    return Recipe(inputs).run()
