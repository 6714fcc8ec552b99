"""Writing what training makes into the files the sidecar loads: llama.cpp GGUFs for the generator,
the embedder and the fuser's transformer (keys and tensor names as llama.cpp's converter writes them
for qwen2 / qwen3, through gguf-py's own name map), and the HEF adapter GGUF whose layout
sidecar/adapter/adapterFormat.ts declares."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gguf
import numpy as np
import torch
from torch import Tensor, nn

from .modeling import Embedder, Fuser, Projector, TransformerShape, shape_of
from .tokenizer import CONTROL, NORMAL, CodeTokenizer, GgufVocab

WeightType = Literal["f32", "f16", "q8_0"]

_QTYPE = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0}
_FILE_TYPE = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}

# sidecar/adapter/adapterFormat.ts
ADAPTER_ARCHITECTURE = "hef-adapter"
ADAPTER_VERSION = 1
# Generator GGUF keys of HEF's own: which FIM layouts the generator was trained on.
KEY_FIM_PSM = "hef.fim.psm"
KEY_FIM_SPM = "hef.fim.spm"


def fingerprint_file(path: str | Path) -> str:
    """sidecar/models/embedder.ts fingerprintFile: sha256 of the size and the first and last MiB."""
    window = 1 << 20
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for start in (0, max(0, size - window)):
            f.seek(start)
            digest.update(f.read(min(window, size)))
    return digest.hexdigest()


def _array(t: Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy()


def _add_weight(writer: gguf.GGUFWriter, name: str, data: np.ndarray, weights: WeightType) -> None:
    # Norms and biases stay F32 (llama.cpp requires it); Q8_0 needs rows in whole blocks of 32.
    kind: WeightType = weights if data.ndim == 2 else "f32"
    if kind == "q8_0" and data.shape[-1] % 32:
        kind = "f16"
    qtype = _QTYPE[kind]
    if kind == "f32":
        writer.add_tensor(name, data.astype(np.float32))
    elif kind == "f16":
        writer.add_tensor(name, data.astype(np.float16))
    else:
        writer.add_tensor(name, gguf.quants.quantize(data.astype(np.float32), qtype), raw_dtype=qtype)


@dataclass(frozen=True)
class SpecialIds:
    eos: int
    fim_prefix: int | None = None
    fim_suffix: int | None = None
    fim_middle: int | None = None
    fim_pad: int | None = None
    repo_name: int | None = None
    file_sep: int | None = None


def _special_ids(tokenizer: CodeTokenizer) -> SpecialIds:
    return SpecialIds(
        eos=tokenizer.eos,
        fim_prefix=tokenizer.fim_prefix,
        fim_suffix=tokenizer.fim_suffix,
        fim_middle=tokenizer.fim_middle,
        fim_pad=tokenizer.special("<|fim_pad|>"),
        repo_name=tokenizer.repo_name,
        file_sep=tokenizer.file_sep,
    )


def _write_transformer(
    path: str | Path,
    arch: Literal["qwen2", "qwen3"],
    shape: TransformerShape,
    tensors: Iterable[tuple[str, Tensor]],
    vocab: GgufVocab,
    special: SpecialIds,
    *,
    weights: WeightType,
    name: str,
    description: str,
    pooling: gguf.PoolingType | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    model_arch = gguf.MODEL_ARCH.QWEN3 if arch == "qwen3" else gguf.MODEL_ARCH.QWEN2
    names = gguf.get_tensor_name_map(model_arch, shape.layers)
    tmp = Path(f"{path}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(tmp, arch)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_description(description)
    writer.add_file_type(_FILE_TYPE[weights])
    if weights == "q8_0":
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(shape.max_positions)
    writer.add_embedding_length(shape.hidden)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(shape.rms_eps)
    if arch == "qwen3":
        writer.add_key_length(shape.head_dim)
        writer.add_value_length(shape.head_dim)
    if pooling is not None:
        writer.add_pooling_type(pooling)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    writer.add_eos_token_id(special.eos)
    writer.add_bos_token_id(special.eos)
    writer.add_pad_token_id(special.eos)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    for key, value in (
        ("tokenizer.ggml.fim_pre_token_id", special.fim_prefix),
        ("tokenizer.ggml.fim_suf_token_id", special.fim_suffix),
        ("tokenizer.ggml.fim_mid_token_id", special.fim_middle),
        ("tokenizer.ggml.fim_pad_token_id", special.fim_pad),
        ("tokenizer.ggml.fim_rep_token_id", special.repo_name),
        ("tokenizer.ggml.fim_sep_token_id", special.file_sep),
    ):
        if value is not None:
            writer.add_uint32(key, value)
    for key, value in (extra or {}).items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_string(key, str(value))
    for hf_name, tensor in tensors:
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"no GGUF name for tensor {hf_name}")
        _add_weight(writer, gguf_name, _array(tensor), weights)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, path)


def write_generator(
    path: str | Path,
    model: nn.Module,
    tokenizer: CodeTokenizer,
    *,
    weights: WeightType = "f16",
    name: str = "HEF generator",
    description: str = "",
    fim_layouts: tuple[str, ...] = ("psm", "spm"),
) -> None:
    """A Qwen2ForCausalLM; with tied embeddings there is no output.weight and llama.cpp reuses token_embd."""
    tied = model.config.tie_word_embeddings
    state = {k: v for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
    _write_transformer(
        path,
        "qwen2",
        shape_of(model.config),
        state.items(),
        tokenizer.gguf_vocab(model.config.vocab_size),
        _special_ids(tokenizer),
        weights=weights,
        name=name,
        description=description,
        extra={KEY_FIM_PSM: "psm" in fim_layouts, KEY_FIM_SPM: "spm" in fim_layouts},
    )


def write_embedder(
    path: str | Path,
    embedder: Embedder,
    tokenizer: CodeTokenizer,
    *,
    weights: WeightType = "f16",
    name: str = "HEF embedder",
    description: str = "",
) -> None:
    """A Qwen3 model with pooling type MEAN: llama.cpp's embedding output then equals Embedder.forward."""
    state = {f"model.{k}": v for k, v in embedder.transformer.state_dict().items()}
    _write_transformer(
        path,
        "qwen3",
        embedder.shape,
        state.items(),
        tokenizer.gguf_vocab(embedder.transformer.config.vocab_size),
        _special_ids(tokenizer),
        weights=weights,
        name=name,
        description=description,
        pooling=gguf.PoolingType.MEAN,
    )


def _minimal_vocab() -> GgufVocab:
    """The fuser transformer reads vectors, never text; llama.cpp still wants a BPE vocabulary with a merge."""
    tokens = [chr(c) for c in _byte_unicode()] + ["ĠĠ", "<|endoftext|>"]
    return GgufVocab(tokens, [NORMAL] * 257 + [CONTROL], ["Ġ Ġ"])


def _byte_unicode() -> list[int]:
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = iter(range(256, 512))
    return [b if b in printable else next(extra) for b in range(256)]


def write_fuser_transformer(path: str | Path, fuser: Fuser, *, weights: WeightType = "f32", name: str = "HEF fuser transformer") -> None:
    vocab = _minimal_vocab()
    state = {f"model.{k}": v for k, v in fuser.transformer.state_dict().items()}
    state["model.embed_tokens.weight"] = torch.zeros(len(vocab.tokens), fuser.shape.hidden)
    _write_transformer(
        path,
        "qwen2",
        fuser.shape,
        state.items(),
        vocab,
        SpecialIds(eos=len(vocab.tokens) - 1),
        weights=weights,
        name=name,
        description="The transformer of a HEF fuser (paper 3.3): it reads projected child vectors, never tokens.",
    )


@dataclass(frozen=True)
class ModelIdentity:
    name: str
    id: str
    dim: int


def write_adapter(
    path: str | Path,
    projector: Projector,
    *,
    embedder: ModelIdentity,
    generator: ModelIdentity,
    k: int,
    b: int,
    fuser: Fuser | None = None,
    fuser_model: str | Path | None = None,
    name: str = "HEF adapter",
) -> None:
    """The adapter GGUF (sidecar/adapter/adapterFormat.ts). fuser_model: the fuser transformer GGUF, stored relative to the adapter."""
    if (fuser is None) != (fuser_model is None):
        raise ValueError("a learned fuser needs both its projections and its transformer GGUF")
    tmp = Path(f"{path}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(tmp, ADAPTER_ARCHITECTURE)
    writer.add_name(name)
    writer.add_uint32("hef.adapter.version", ADAPTER_VERSION)
    writer.add_string("hef.embedder.name", embedder.name)
    writer.add_string("hef.embedder.id", embedder.id)
    writer.add_uint32("hef.embedder.dim", embedder.dim)
    writer.add_string("hef.generator.name", generator.name)
    writer.add_string("hef.generator.id", generator.id)
    writer.add_uint32("hef.generator.dim", generator.dim)
    writer.add_uint32("hef.projector.hidden", projector.w1.out_features)
    writer.add_uint32("hef.k", k)
    writer.add_uint32("hef.b", b)
    relative = os.path.relpath(fuser_model, Path(path).parent) if fuser_model is not None else ""
    writer.add_string("hef.fuser.model", relative)
    writer.add_string("hef.fuser.id", fingerprint_file(fuser_model) if fuser_model is not None else "")
    writer.add_uint32("hef.fuser.dim", fuser.shape.hidden if fuser is not None else 0)
    # nn.Linear keeps weight as [out, in]: exactly ggml's order with shape[0] = in (a row).
    tensors = {
        "proj.w1": projector.w1.weight,
        "proj.b1": projector.w1.bias,
        "proj.w2": projector.w2.weight,
        "proj.b2": projector.w2.bias,
    }
    if fuser is not None:
        tensors |= {"fuser.in.w": fuser.w_in.weight, "fuser.in.b": fuser.w_in.bias, "fuser.out.w": fuser.w_out.weight}
    for tensor_name, tensor in tensors.items():
        writer.add_tensor(tensor_name, _array(tensor))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, path)
