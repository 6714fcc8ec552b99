// The HEF adapter file: what training produces, in one GGUF (architecture "hef-adapter").
//
// Tensors are stored in ggml order (shape[0] = input features = the length of a row), which is the
// row-major layout of a PyTorch nn.Linear weight [out, in]:
//   projector (paper 3.5)  p = W2 · GELU(W1 · z + b1) + b2    (GELU: the exact erf form, as torch.nn.GELU())
//     proj.w1 [d, hidden]   proj.b1 [hidden]   proj.w2 [hidden, d_g]   proj.b2 [d_g]
//   fuser projections (paper 3.3), present when the adapter has a learned fuser
//     fuser.in.w [d, d_f]   fuser.in.b [d_f]   fuser.out.w [d_f, d]   (W_out has no bias in the paper)
// The fuser's transformer is a separate GGUF (a llama.cpp model, e.g. Qwen2.5-Coder-0.5B) named by
// hef.fuser.model, a path relative to the adapter file.

export const ADAPTER_ARCHITECTURE = "hef-adapter";
export const ADAPTER_VERSION = 1;

export const AdapterKey = {
  version: "hef.adapter.version",
  embedderName: "hef.embedder.name",
  /** Fingerprint of the embedder file (fingerprintFile), "" when trained for any file of that name. */
  embedderId: "hef.embedder.id",
  embedderDim: "hef.embedder.dim",
  generatorName: "hef.generator.name",
  generatorId: "hef.generator.id",
  generatorDim: "hef.generator.dim",
  projectorHidden: "hef.projector.hidden",
  k: "hef.k",
  b: "hef.b",
  /** Path of the fuser transformer GGUF relative to the adapter, "" = no learned fuser (mean fusion). */
  fuserModel: "hef.fuser.model",
  fuserId: "hef.fuser.id",
  fuserDim: "hef.fuser.dim",
} as const;

export const AdapterTensor = {
  w1: "proj.w1",
  b1: "proj.b1",
  w2: "proj.w2",
  b2: "proj.b2",
  fuserIn: "fuser.in.w",
  fuserInBias: "fuser.in.b",
  fuserOut: "fuser.out.w",
} as const;
