"""The four trainable parts of HEF as PyTorch modules, shaped exactly as the sidecar runs them:

- generator G: a Qwen2 causal LM (transformers' Qwen2ForCausalLM); pseudo-tokens are rows fed in
  place of token embeddings at the head of the sequence (paper 3.5, "Injection");
- embedder E: a Qwen3 transformer whose final hidden states are mean-pooled, as llama.cpp pools an
  embedding GGUF that declares pooling type MEAN;
- fuser F: W_in, a small Qwen2 transformer, its final (normed) hidden state at the last child, W_out
  (paper 3.3); llama.cpp runs the transformer, the adapter file holds W_in / W_out;
- projector pi: W2 GELU(W1 z + b1) + b2 with the exact erf GELU (paper 3.5).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Model, Qwen3Config, Qwen3Model


@dataclass(frozen=True)
class TransformerShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    max_positions: int = 4096
    rope_theta: float = 10_000.0
    rms_eps: float = 1e-6

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def check(self, what: str) -> None:
        if self.hidden % self.heads or self.heads % self.kv_heads:
            raise ValueError(f"{what}: hidden {self.hidden} must divide into {self.heads} heads, and heads into {self.kv_heads} kv heads")


def _common(shape: TransformerShape) -> dict[str, object]:
    return dict(
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        intermediate_size=shape.ffn,
        max_position_embeddings=shape.max_positions,
        rms_norm_eps=shape.rms_eps,
        rope_parameters={"rope_type": "default", "rope_theta": shape.rope_theta},
        attention_dropout=0.0,
    )


def qwen2_config(shape: TransformerShape, vocab_size: int, eos: int | None = None) -> Qwen2Config:
    shape.check("qwen2")
    return Qwen2Config(vocab_size=vocab_size, tie_word_embeddings=True, eos_token_id=eos, bos_token_id=eos, pad_token_id=eos, **_common(shape))


def new_generator(shape: TransformerShape, vocab_size: int, eos: int) -> Qwen2ForCausalLM:
    return Qwen2ForCausalLM(qwen2_config(shape, vocab_size, eos))


def shape_of(config: Qwen2Config | Qwen3Config) -> TransformerShape:
    rope = getattr(config, "rope_parameters", None) or {}
    return TransformerShape(
        hidden=config.hidden_size,
        layers=config.num_hidden_layers,
        heads=config.num_attention_heads,
        kv_heads=config.num_key_value_heads,
        ffn=config.intermediate_size,
        max_positions=config.max_position_embeddings,
        rope_theta=float(rope.get("rope_theta", getattr(config, "rope_theta", 10_000.0))),
        rms_eps=config.rms_norm_eps,
    )


class Embedder(nn.Module):
    """E: token ids to one vector per text, the mean of the final hidden states over its tokens."""

    def __init__(self, shape: TransformerShape, vocab_size: int) -> None:
        super().__init__()
        shape.check("embedder")
        self.shape = shape
        config = Qwen3Config(vocab_size=vocab_size, head_dim=shape.head_dim, tie_word_embeddings=True, **_common(shape))
        self.transformer = Qwen3Model(config)

    @property
    def dim(self) -> int:
        return self.shape.hidden

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        """ids, mask: [B, T], right-padded; returns [B, d] (not normalised, as llama.cpp returns it)."""
        # Causal attention: real tokens never see the padding after them, so no mask is needed inside.
        hidden = self.transformer(input_ids=ids).last_hidden_state
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class Fuser(nn.Module):
    """F: b child vectors to one parent, W_out · Transformer([W_in h_i + b_in])_last (paper 3.3)."""

    def __init__(self, d: int, shape: TransformerShape, vocab_size: int = 2) -> None:
        super().__init__()
        self.d = d
        self.shape = shape
        self.w_in = nn.Linear(d, shape.hidden)
        self.transformer = Qwen2Model(qwen2_config(shape, vocab_size))
        self.w_out = nn.Linear(shape.hidden, d, bias=False)

    def forward(self, children: Tensor, lengths: Tensor) -> Tensor:
        """children: [G, L, d] right-padded groups, lengths: [G]; returns [G, d]."""
        hidden = self.transformer(inputs_embeds=self.w_in(children)).last_hidden_state
        last = hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths - 1]
        return self.w_out(last)


class Projector(nn.Module):
    """pi: one retrieved vector to one pseudo-token of the generator's width (paper 3.5)."""

    def __init__(self, d: int, hidden: int, d_g: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d, hidden)
        self.w2 = nn.Linear(hidden, d_g)
        self.act = nn.GELU()  # the exact (erf) form, as the sidecar's ggml graph computes it

    def forward(self, z: Tensor) -> Tensor:
        return self.w2(self.act(self.w1(z)))


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def shape_dict(shape: TransformerShape) -> dict[str, object]:
    return asdict(shape)
