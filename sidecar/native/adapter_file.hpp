// Reading a HEF adapter GGUF (sidecar/adapter/adapterFormat.ts): which tensors it must hold,
// in which shapes, checked before anything is allocated so that a wrong file gets one sentence.
#pragma once

#include "ggml.h"
#include "gguf.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hef {

struct AdapterDims {
  int64_t d = 0;       // embedder dimension (the projector's and the fuser's input)
  int64_t hidden = 0;  // projector hidden size
  int64_t dG = 0;      // generator input dimension
  int64_t dF = 0;      // fuser transformer dimension, 0 without a learned fuser
};

// The header of an adapter file: tensor descriptors in `meta` (no data), offsets in `gguf`.
struct AdapterFile {
  std::string path;
  gguf_context* gguf = nullptr;
  ggml_context* meta = nullptr;
  AdapterDims dims;

  AdapterFile() = default;
  AdapterFile(const AdapterFile&) = delete;
  AdapterFile& operator=(const AdapterFile&) = delete;
  ~AdapterFile();

  // Throws "<path>: <problem>" for a missing, truncated or foreign file, and for a tensor that is
  // missing or has the wrong shape or type.
  void open(const std::string& path);
  // Absolute file offset of a tensor's data.
  size_t dataOffset(const ggml_tensor* tensor) const;
};

}  // namespace hef
