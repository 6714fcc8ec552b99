"""Writes small models through the training package's exporters, plus what PyTorch computes for fixed
inputs, so that test/training/parity.test.ts can load the files in the sidecar and compare.

    python training/tests/parity_fixture.py OUT_DIR FILE [FILE ...]

FILEs are real source files: the tokenizer is trained on them and must tokenize them as llama.cpp does.
Every parameter, norms included, is drawn at random so that a transposed or misnamed tensor shows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from hef_training.gguf_files import ModelIdentity, fingerprint_file, write_adapter, write_embedder, write_fuser_transformer, write_generator
from hef_training.modeling import Embedder, Fuser, Projector, TransformerShape, new_generator
from hef_training.tokenizer import CodeTokenizer, train_tokenizer


def perturb(module: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, p in module.named_parameters():
            base = torch.ones_like(p) if name.endswith("norm.weight") else torch.zeros_like(p)
            p.copy_(base + 0.08 * torch.randn(p.shape, generator=generator))


def main(out: Path, files: list[Path]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = torch.Generator().manual_seed(7)
    texts = [f.read_text(encoding="utf-8") for f in files]
    tokenizer = CodeTokenizer(train_tokenizer(texts, 768))
    tokenizer.save(out / "tokenizer.json")

    generator = new_generator(TransformerShape(64, 2, 4, 2, 96), tokenizer.vocab_size, tokenizer.eos).eval()
    embedder = Embedder(TransformerShape(48, 2, 4, 2, 64), tokenizer.vocab_size).eval()
    fuser = Fuser(embedder.dim, TransformerShape(32, 2, 2, 1, 48)).eval()
    projector = Projector(embedder.dim, 40, 64).eval()
    for module in (generator, embedder, fuser, projector):
        perturb(module, rng)

    write_generator(out / "generator.gguf", generator, tokenizer, weights="f32")
    write_embedder(out / "embedder.gguf", embedder, tokenizer, weights="f32")
    write_fuser_transformer(out / "fuser.gguf", fuser, weights="f32")
    write_adapter(
        out / "adapter.gguf",
        projector,
        embedder=ModelIdentity("embedder.gguf", fingerprint_file(out / "embedder.gguf"), embedder.dim),
        generator=ModelIdentity("generator.gguf", fingerprint_file(out / "generator.gguf"), 64),
        k=4,
        b=3,
        fuser=fuser,
        fuser_model=out / "fuser.gguf",
    )

    with torch.no_grad():
        prompt = tokenizer.encode(texts[0][:600])
        pseudo = torch.randn(4, 64, generator=rng)
        token_rows = generator.model.embed_tokens(torch.tensor(prompt))
        logits_plain = generator(input_ids=torch.tensor([prompt])).logits[0, -1]
        logits_pseudo = generator(inputs_embeds=torch.cat([pseudo, token_rows])[None]).logits[0, -1]

        embed_inputs = [tokenizer.encode(t[:900]) for t in texts[:3]]
        vectors = [embedder(torch.tensor([ids]), torch.ones(1, len(ids))).squeeze(0) for ids in embed_inputs]

        z = torch.randn(5, embedder.dim, generator=rng)
        projected = projector(z)
        lengths = [3, 1, 2]
        children = torch.zeros(len(lengths), max(lengths), embedder.dim)
        for g, n in enumerate(lengths):
            children[g, :n] = torch.randn(n, embedder.dim, generator=rng)
        parents = fuser(children, torch.tensor(lengths))

    reference = {
        "files": [str(f) for f in files],
        "tokens": [tokenizer.encode(t) for t in texts],
        "generator": {"prompt": prompt, "pseudo": pseudo.tolist(), "logitsPlain": logits_plain.tolist(), "logitsPseudo": logits_pseudo.tolist()},
        "embedder": {"inputs": embed_inputs, "vectors": [v.tolist() for v in vectors]},
        "projector": {"z": z.tolist(), "out": projected.tolist()},
        "fuser": {"children": [children[g, :n].tolist() for g, n in enumerate(lengths)], "parents": parents.tolist()},
    }
    (out / "reference.json").write_text(json.dumps(reference))


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
