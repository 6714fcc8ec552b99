// Rows of a model's token_embd.weight, read from its GGUF file and dequantized with ggml's own
// to_float (what ggml_get_rows does when the model embeds a token): the vectors a pseudo-token
// must resemble.
#pragma once

#include "llama.h"

#include "ggml.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace hef {

class TokenEmbeddingTable {
 public:
  TokenEmbeddingTable(std::string path, int nEmbd) : path_(std::move(path)), nEmbd_(nEmbd) {}
  // ids.size() x nEmbd floats; blocking (file reads), safe to call from several threads.
  std::vector<float> rows(const std::vector<llama_token>& ids);

 private:
  void readLayout();

  std::string path_;
  int nEmbd_;
  std::mutex mutex_;
  bool read_ = false;
  size_t offset_ = 0;
  size_t rowBytes_ = 0;
  int64_t rowCount_ = 0;
  ggml_type type_ = GGML_TYPE_F32;
};

}  // namespace hef
