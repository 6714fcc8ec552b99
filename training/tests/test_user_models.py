"""A user's own generator, fine-tuned instead of trained from scratch: read back from a GGUF exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hef_training.gguf_files import write_embedder, write_generator
from hef_training.modeling import Embedder, TransformerShape, new_generator
from hef_training.tokenizer import CodeTokenizer, train_tokenizer
from hef_training.user_models import UserModelError, load_user_generator
from paths import SHOP


@pytest.fixture(scope="module")
def tokenizer() -> CodeTokenizer:
    return CodeTokenizer(train_tokenizer([p.read_text() for p in sorted(SHOP.rglob("*.py"))], 700))


def test_a_generator_gguf_loads_with_its_weights_and_tokenizer(tmp_path: Path, tokenizer: CodeTokenizer) -> None:
    torch.manual_seed(0)
    model = new_generator(TransformerShape(64, 2, 4, 2, 96), tokenizer.vocab_size, tokenizer.eos).eval()
    write_generator(tmp_path / "mine.gguf", model, tokenizer, weights="f32")
    loaded, loaded_tokenizer = load_user_generator(tmp_path / "mine.gguf")
    text = (SHOP / "shop" / "cart.py").read_text()[:500]
    ids = tokenizer.encode(text)
    assert loaded_tokenizer.encode(text) == ids
    assert loaded_tokenizer.fim_middle == tokenizer.fim_middle
    with torch.no_grad():
        expected = model(input_ids=torch.tensor([ids])).logits
        actual = loaded.eval()(input_ids=torch.tensor([ids])).logits
    assert (expected - actual).abs().max().item() < 1e-4


def test_what_cannot_be_a_generator_is_named(tmp_path: Path, tokenizer: CodeTokenizer) -> None:
    with pytest.raises(UserModelError, match="generator not found"):
        load_user_generator(tmp_path / "missing.gguf")
    write_embedder(tmp_path / "embedder.gguf", Embedder(TransformerShape(32, 1, 2, 1, 64), tokenizer.vocab_size), tokenizer, weights="f32")
    with pytest.raises(UserModelError, match="qwen3 model; HEF's generator export writes Qwen2"):
        load_user_generator(tmp_path / "embedder.gguf")
    (tmp_path / "folder").mkdir()
    with pytest.raises(UserModelError, match="needs config.json and tokenizer.json"):
        load_user_generator(tmp_path / "folder")
    (tmp_path / "junk.gguf").write_bytes(b"GGUF" + b"\0" * 20)
    with pytest.raises(UserModelError, match="cannot load the generator"):
        load_user_generator(tmp_path / "junk.gguf")
