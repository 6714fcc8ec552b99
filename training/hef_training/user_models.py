"""A user's own generator, to be fine-tuned instead of trained from scratch: a GGUF (dequantised by
transformers' GGUF loader) or a Hugging Face folder / safetensors file with config.json and
tokenizer.json beside it. The generator must be a Qwen2 model (the architecture the sidecar's
generator export writes) whose tokenizer has Qwen2.5-Coder's FIM tokens."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from .tokenizer import CodeTokenizer

REQUIRED_TOKENS = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>")


class UserModelError(ValueError):
    pass


def load_user_generator(path: str | Path) -> tuple[PreTrainedModel, CodeTokenizer]:
    path = Path(path)
    if not path.exists():
        raise UserModelError(f"{path}: generator not found")
    try:
        if path.suffix == ".gguf":
            model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
            backend = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name).backend_tokenizer
        else:
            folder = path if path.is_dir() else path.parent
            if not (folder / "config.json").exists() or not (folder / "tokenizer.json").exists():
                raise UserModelError(f"{folder}: a safetensors generator needs config.json and tokenizer.json beside it")
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
            backend = AutoTokenizer.from_pretrained(folder).backend_tokenizer
    except UserModelError:
        raise
    except Exception as error:  # transformers raises many kinds for a file it cannot read
        raise UserModelError(f"{path}: cannot load the generator ({type(error).__name__}: {error})") from error
    if model.config.model_type != "qwen2":
        raise UserModelError(f"{path}: a {model.config.model_type} model; HEF's generator export writes Qwen2 models (e.g. Qwen2.5-Coder)")
    tokenizer = CodeTokenizer(backend)
    tokenizer.tokenizer.encode_special_tokens = True
    missing = [t for t in REQUIRED_TOKENS if backend.token_to_id(t) is None]
    if missing:
        raise UserModelError(f"{path}: the tokenizer lacks {', '.join(missing)} (HEF's prompts need Qwen2.5-Coder's FIM and file-separator tokens)")
    return model, tokenizer
