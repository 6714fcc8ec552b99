"""Token counts with a `tokenizers` tokenizer.json: the budget the trainers plan with is in tokens."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

BATCH_FILES = 64  # texts per encode_batch call: parallel enough, without holding a whole package's encodings


class TokenCounter:
    def __init__(self, path: Path) -> None:
        # Imported here so that building a corpus without token counts needs no native library.
        from tokenizers import Tokenizer

        self.path = Path(path)
        self._tokenizer = Tokenizer.from_file(str(self.path))

    def count(self, texts: Sequence[str]) -> int:
        total = 0
        for start in range(0, len(texts), BATCH_FILES):
            batch = list(texts[start : start + BATCH_FILES])
            # No special tokens: the count is of the code itself, whatever framing training adds.
            total += sum(len(enc.ids) for enc in self._tokenizer.encode_batch(batch, add_special_tokens=False))
        return total


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
