"""The generator's token layouts (sidecar/completion/promptAssembly.ts assembles the same pieces):

    PSM  <|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|> | middle <|endoftext|>
    SPM  <|fim_prefix|><|fim_suffix|> suffix <|fim_middle|> prefix | middle <|endoftext|>
    rag  (<|file_sep|>path\\n text)* <|file_sep|>path\\n, then one of the above

Pseudo-tokens come before all of it. The sidecar assembles PSM today; SPM (the FIM paper's
suffix-prefix-middle variant) puts the prefix right before the middle, so that typing at the cursor only
appends to the prompt and the suffix can stay in the KV cache: the generator is trained on both, for the
sidecar to switch when it assembles SPM (the generator GGUF says so: hef.fim.spm). Windows are cut at
line boundaries: at most 1,024 prefix tokens from the end, 256 suffix tokens from the start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from .tokenizer import CodeTokenizer

Layout = Literal["psm", "spm"]
P = TypeVar("P")
CHARS_PER_TOKEN = 4
PREFIX_BUDGET = 1024
SUFFIX_BUDGET = 256


def tail_text(text: str, max_chars: int) -> str:
    """The last max_chars characters, from the first line start inside them (all of text when it is shorter)."""
    if len(text) <= max_chars:
        return text
    tail = text[-max_chars:]
    newline = tail.find("\n")
    return tail[newline + 1 :] if 0 <= newline < len(tail) - 1 else tail


def prefix_window(tokenizer: CodeTokenizer, prefix: str, budget: int = PREFIX_BUDGET) -> list[int]:
    """The last lines of the prefix that fit the budget: a character window starting at a line, shrunk in
    proportion while it tokenizes to too many, then cut by tokens. Like the sidecar's prefixTokens, though
    its window start also moves only in steps (stableTail): training sees the same kinds of windows."""
    max_chars = budget * CHARS_PER_TOKEN
    ids: list[int] = []
    for _ in range(3):
        ids = tokenizer.encode(tail_text(prefix, max_chars))
        if len(ids) <= budget:
            return ids
        max_chars = max(2, int(max_chars * budget * 0.9 / len(ids)))
    return ids[-budget:]


def suffix_window(tokenizer: CodeTokenizer, suffix: str, budget: int = SUFFIX_BUDGET) -> list[int]:
    text = suffix
    if len(text) > budget * CHARS_PER_TOKEN:
        text = text[: budget * CHARS_PER_TOKEN]
        newline = text.rfind("\n")
        text = text[: newline + 1] if newline > 0 else text
    return tokenizer.encode(text)[:budget]


@dataclass(frozen=True)
class Sequence:
    """Token ids, and from which index on the loss counts (the middle and its end)."""

    ids: list[int]
    target_from: int


def fim_layout(tokenizer: CodeTokenizer, prefix: P, suffix: P, middle: P, layout: Layout) -> tuple[list[int | P], int]:
    """The pieces in the layout's order (special token ids among them) and the index of the middle piece:
    one definition of the layouts, for token lists (prompts) and for texts still to tokenize (lm_data)."""
    if layout == "psm":
        head: list[int | P] = [tokenizer.fim_prefix, prefix, tokenizer.fim_suffix, suffix, tokenizer.fim_middle]
    else:
        head = [tokenizer.fim_prefix, tokenizer.fim_suffix, suffix, tokenizer.fim_middle, prefix]
    return [*head, middle, tokenizer.eos], len(head)


def fim_sequence(tokenizer: CodeTokenizer, prefix: list[int], suffix: list[int], middle: list[int], layout: Layout, context: list[int] | None = None) -> Sequence:
    pieces, middle_at = fim_layout(tokenizer, prefix, suffix, middle, layout)
    ids = list(context or [])
    target_from = 0
    for i, piece in enumerate(pieces):
        if i == middle_at:
            target_from = len(ids)
        if isinstance(piece, int):
            ids.append(piece)
        else:
            ids += piece
    return Sequence(ids, target_from)


def rag_context(tokenizer: CodeTokenizer, path: str, snippets: list[tuple[str, str]], budget: int) -> list[int]:
    """Retrieved (path, text) pairs, most relevant first, as rag mode injects them: taken while they
    fit whole, emitted most relevant last (nearest the prefix), then the current file's separator."""
    trailer = [tokenizer.file_sep, *tokenizer.encode(f"{path}\n")]
    left = budget - len(trailer)
    chosen: list[list[int]] = []
    for snippet_path, text in snippets:
        body = text if text.endswith("\n") else f"{text}\n"
        piece = [tokenizer.file_sep, *tokenizer.encode(f"{snippet_path}\n{body}")]
        if len(piece) > left:
            continue
        chosen.append(piece)
        left -= len(piece)
    if not chosen:
        return []
    return [t for piece in reversed(chosen) for t in piece] + trailer
