"""The tokenizer's layout and the pre-training stream's documents."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from hef_training.config import override, smoke
from hef_training.lm_data import LmDataConfig, build_stream, file_documents, fim_document, pieces, repo_files, tokenize_documents
from hef_training.prompts import fim_sequence, prefix_window, rag_context, suffix_window
from hef_training.tokenizer import SPECIAL_TOKENS, CodeTokenizer, train_tokenizer

from paths import SHOP


def shop_tokenizer() -> CodeTokenizer:
    return CodeTokenizer(train_tokenizer([p.read_text() for p in repo_files(SHOP)], 600))


def test_added_tokens_follow_the_bpe_tokens_and_code_text_is_never_a_control_token() -> None:
    tokenizer = shop_tokenizer()
    assert tokenizer.vocab_size == 600
    ids = [tokenizer.special(text) for text, _ in SPECIAL_TOKENS]
    assert ids == list(range(600 - len(SPECIAL_TOKENS), 600))
    text = 'marker = "<|endoftext|>"\n'
    assert tokenizer.eos not in tokenizer.encode(text)
    assert tokenizer.decode(tokenizer.encode(text)) == text
    vocab = tokenizer.gguf_vocab(608)
    assert len(vocab.tokens) == 608 and vocab.tokens[-1] == "[PAD607]" and vocab.types[tokenizer.eos] == 3


def test_fim_layouts_and_windows() -> None:
    t = shop_tokenizer()
    psm = fim_sequence(t, [1, 2], [3], [4, 5], "psm")
    assert psm.ids == [t.fim_prefix, 1, 2, t.fim_suffix, 3, t.fim_middle, 4, 5, t.eos] and psm.target_from == 6
    spm = fim_sequence(t, [1, 2], [3], [4, 5], "spm", context=[9])
    assert spm.ids == [9, t.fim_prefix, t.fim_suffix, 3, t.fim_middle, 1, 2, 4, 5, t.eos] and spm.target_from == 7
    long = "".join(f"line_{i} = {i}\n" for i in range(2000))
    window = t.decode(prefix_window(t, long, budget=100))
    assert long.endswith(window) and len(prefix_window(t, long, budget=100)) <= 100 and window.startswith("line_")
    assert long.startswith(t.decode(suffix_window(t, long, budget=50)))


def test_rag_context_keeps_what_fits_most_relevant_last() -> None:
    t = shop_tokenizer()
    ids = rag_context(t, "a.py", [("best.py", "x = 1\n"), ("huge.py", "y = 2\n" * 500), ("next.py", "z = 3\n")], budget=60)
    text = t.decode(ids)
    assert "huge.py" not in text
    assert text.index("next.py") < text.index("best.py") < text.index("a.py")
    assert rag_context(t, "a.py", [("huge.py", "y = 2\n" * 500)], budget=20) == []


def test_pieces_and_fim_documents() -> None:
    text = "".join(f"def f{i}():\n    return {i}\n" for i in range(300))
    parts = list(pieces(text, 500))
    assert "".join(parts) == text and all(len(p) <= 500 for p in parts)
    t = shop_tokenizer()
    config = LmDataConfig(spm_share=0.5)
    rng = random.Random(1)
    layouts = set()
    for _ in range(20):
        ids = tokenize_documents(t, [fim_document(t, parts[0], rng, config)])
        assert ids[0] == t.fim_prefix and ids[-1] == t.eos and t.fim_middle in ids
        layouts.add("spm" if ids[1] == t.fim_suffix else "psm")
    assert layouts == {"psm", "spm"}


def test_the_end_of_text_token_ends_only_files_and_fim_middles() -> None:
    text = "".join(f"def f{i}():\n    return {i}\n" for i in range(300))
    t = shop_tokenizer()
    rng = random.Random(2)
    whole = file_documents(t, text, rng, LmDataConfig(fim_rate=0.0), max_chars=500)
    assert whole == [[text, t.eos]]
    assert file_documents(t, "", rng, LmDataConfig(fim_rate=0.0), max_chars=500) == []
    fim = file_documents(t, text, rng, LmDataConfig(fim_rate=1.0), max_chars=500)
    assert len(fim) == len(list(pieces(text, 500))) > 1
    for ids in (tokenize_documents(t, [doc]) for doc in fim):
        assert ids[0] == t.fim_prefix and ids.count(t.eos) == 1 and ids[-1] == t.eos
    # At a rate between, a file is one or the other, never plain pieces ending in the end-of-text token.
    mixed = [file_documents(t, text, rng, LmDataConfig(fim_rate=0.5), max_chars=500) for _ in range(20)]
    assert {docs == [[text, t.eos]] for docs in mixed} == {True, False}
    for docs in mixed:
        assert docs == [[text, t.eos]] or all(tokenize_documents(t, [doc])[0] == t.fim_prefix for doc in docs)


def test_stream_is_deterministic(tmp_path: Path) -> None:
    t = shop_tokenizer()
    config = LmDataConfig(seq_len=64, seed=3)
    n1 = build_stream([SHOP], t, config, tmp_path / "a.npy")
    n2 = build_stream([SHOP], t, config, tmp_path / "b.npy")
    assert n1 == n2 > 1000
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    assert t.file_sep in np.load(tmp_path / "a.npy")


def test_settings_override() -> None:
    config = smoke()
    override(config, "generator.optim.steps=7")
    override(config, 'generator.shape={"hidden": 96}')
    override(config, "regime.regimes=[\"e2e\"]")
    assert config.generator.optim.steps == 7 and config.generator.shape.hidden == 96 and config.generator.shape.layers == 2
    assert config.regime.regimes == ("e2e",)
