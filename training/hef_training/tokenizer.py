"""The code tokenizer: byte-level BPE trained with `tokenizers`, pre-tokenized exactly as llama.cpp's
"qwen2" pre-tokenizer splits text, with Qwen2.5-Coder's added tokens (FIM, file separator) after the
BPE tokens. The GGUF files written from it (gguf_files.py) carry the same tokens and merges, so
llama.cpp turns a text into the same ids as training did."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

# llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN2 expression (src/llama-vocab.cpp), the one GGUF
# "tokenizer.ggml.pre" = "qwen2" selects; the case-insensitive group is spelled out as llama.cpp does.
QWEN2_PRETOKENIZER = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen2.5(-Coder)'s added tokens in id order, as the sidecar's own vocabularies have them
# (sidecar/syntheticModels/vocab.ts); True = control token, False = user-defined.
SPECIAL_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", True),
    ("<|fim_middle|>", True),
    ("<|fim_suffix|>", True),
    ("<|fim_pad|>", True),
    ("<|repo_name|>", True),
    ("<|file_sep|>", True),
)


def new_tokenizer() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZER), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """BPE over the texts up to vocab_size tokens in all (the added tokens included, after the BPE ones)."""
    bpe_size = vocab_size - len(SPECIAL_TOKENS)
    if bpe_size <= 256:
        raise ValueError(f"vocab_size {vocab_size} leaves no room for merges beyond the 256 byte tokens")
    tokenizer = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_size,
        min_frequency=min_frequency,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    for text, control in SPECIAL_TOKENS:  # one at a time: ids follow this order
        token = AddedToken(text, special=control, normalized=False)
        tokenizer.add_special_tokens([token]) if control else tokenizer.add_tokens([token])
    # Text that happens to contain "<|endoftext|>" is code, not a control token: llama.cpp
    # tokenizes it as text too (parse_special false), and so must training.
    tokenizer.encode_special_tokens = True
    return tokenizer


@dataclass(frozen=True)
class CodeTokenizer:
    """The trained tokenizer with the ids the prompt formats need."""

    tokenizer: Tokenizer

    @staticmethod
    def load(path: str | Path) -> CodeTokenizer:
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.encode_special_tokens = True
        return CodeTokenizer(tokenizer)

    def save(self, path: str | Path) -> None:
        self.tokenizer.save(str(path))

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def special(self, text: str) -> int:
        token_id = self.tokenizer.token_to_id(text)
        if token_id is None:
            raise KeyError(f"the tokenizer has no {text}")
        return token_id

    @property
    def eos(self) -> int:
        return self.special("<|endoftext|>")

    @property
    def fim_prefix(self) -> int:
        return self.special("<|fim_prefix|>")

    @property
    def fim_suffix(self) -> int:
        return self.special("<|fim_suffix|>")

    @property
    def fim_middle(self) -> int:
        return self.special("<|fim_middle|>")

    @property
    def file_sep(self) -> int:
        return self.special("<|file_sep|>")

    @property
    def repo_name(self) -> int:
        return self.special("<|repo_name|>")

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def gguf_vocab(self, size: int | None = None) -> GgufVocab:
        """Tokens by id, their llama token types and the merges, as GGUF's tokenizer.ggml.* keys hold them;
        ids up to `size` (a model's embedding rows) that no token has are filled as llama.cpp's converter does."""
        model = json.loads(self.tokenizer.to_str())["model"]
        by_id: dict[int, tuple[str, int]] = {token_id: (token, NORMAL) for token, token_id in model["vocab"].items()}
        for token_id, added in self.tokenizer.get_added_tokens_decoder().items():
            by_id[token_id] = (added.content, CONTROL if added.special else USER_DEFINED)
        total = max(size or 0, max(by_id) + 1)
        tokens, types = [], []
        for i in range(total):
            token, kind = by_id.get(i, (f"[PAD{i}]", UNUSED))
            tokens.append(token)
            types.append(kind)
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        return GgufVocab(tokens, types, merges)


# llama_token_type values (tokenizer.ggml.token_type).
NORMAL = 1
CONTROL = 3
USER_DEFINED = 4
UNUSED = 5


@dataclass(frozen=True)
class GgufVocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]


def sample_texts(files: Iterable[Path], max_bytes: int) -> Iterator[str]:
    """File texts up to a byte budget: a BPE needs a representative sample, not the whole corpus."""
    total = 0
    for path in files:
        if total >= max_bytes:
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        total += len(text)
        yield text
