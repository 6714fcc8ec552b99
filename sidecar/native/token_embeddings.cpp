#include "token_embeddings.hpp"

#include "common.hpp"

#include "gguf.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace hef {

void TokenEmbeddingTable::readLayout() {
  if (read_) return;
  gguf_init_params params{true, nullptr};
  gguf_context* g = gguf_init_from_file(path_.c_str(), params);
  if (!g) throw std::runtime_error(withLlamaReason("cannot read the GGUF header of " + path_));
  int64_t id = gguf_find_tensor(g, "token_embd.weight");
  if (id < 0) {
    gguf_free(g);
    throw std::runtime_error(path_ + " has no token_embd.weight tensor");
  }
  type_ = gguf_get_tensor_type(g, id);
  offset_ = gguf_get_data_offset(g) + gguf_get_tensor_offset(g, id);
  rowBytes_ = ggml_row_size(type_, nEmbd_);
  size_t bytes = gguf_get_tensor_size(g, id);
  gguf_free(g);
  if (rowBytes_ == 0 || bytes % rowBytes_ != 0) throw std::runtime_error("token_embd.weight rows do not match n_embd");
  rowCount_ = static_cast<int64_t>(bytes / rowBytes_);
  if (type_ != GGML_TYPE_F32 && ggml_get_type_traits(type_)->to_float == nullptr) {
    throw std::runtime_error(std::string("cannot dequantize token_embd.weight of type ") + ggml_type_name(type_));
  }
  read_ = true;
}

std::vector<float> TokenEmbeddingTable::rows(const std::vector<llama_token>& ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  readLayout();
  FILE* f = std::fopen(path_.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path_);
  std::unique_ptr<FILE, int (*)(FILE*)> closer(f, &std::fclose);
  std::vector<float> out(ids.size() * static_cast<size_t>(nEmbd_));
  std::vector<uint8_t> raw(rowBytes_);
  const ggml_type_traits* traits = ggml_get_type_traits(type_);
  for (size_t i = 0; i < ids.size(); i++) {
    llama_token t = ids[i];
    if (t >= rowCount_) throw std::runtime_error("token id outside token_embd.weight");
    if (fseeko(f, static_cast<off_t>(offset_ + static_cast<size_t>(t) * rowBytes_), SEEK_SET) != 0 ||
        std::fread(raw.data(), 1, raw.size(), f) != raw.size()) {
      throw std::runtime_error("cannot read token_embd.weight from " + path_);
    }
    float* dst = out.data() + i * static_cast<size_t>(nEmbd_);
    if (type_ == GGML_TYPE_F32) {
      std::memcpy(dst, raw.data(), sizeof(float) * nEmbd_);
    } else {
      traits->to_float(raw.data(), dst, nEmbd_);
    }
  }
  return out;
}

}  // namespace hef
