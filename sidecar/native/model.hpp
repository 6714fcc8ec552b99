// One llama.cpp model as the addon's handles use it: loading it with readable errors, its
// vocabulary (tokenize / detokenize on the JS thread), and the info fields every handle reports.
#pragma once

#include <napi.h>

#include "llama.h"

#include <string>
#include <vector>

namespace hef {

// What every handle's load(path, options) takes for its model and context.
struct ContextOptions {
  int threads = 0;
  int gpuLayers = -1;
  // KV cache positions; 0 = the model's training context.
  int contextSize = 2048;
  int batchSize = 512;
  std::string backendDir;
};

// Reads the ContextOptions fields of a JS options object over `defaults`.
ContextOptions readContextOptions(const Napi::Value& options, ContextOptions defaults = {});

// Context size, batch (at most the context), threads; the caller adds what its handle needs.
llama_context_params contextParams(const ContextOptions& options);

// Throws with llama.cpp's reason when the file does not load.
llama_model* loadModel(const std::string& path, int gpuLayers);
// Throws with llama.cpp's reason after freeing `model` and setting it to null: a handle whose
// context fails keeps nothing to free twice.
llama_context* createContext(llama_model*& model, const llama_context_params& params, const std::string& path);

// A GGUF metadata value as text, "" when absent.
std::string modelMeta(const llama_model* model, const std::string& key);

// tokenize(text, addSpecial, parseSpecial) -> Int32Array
Napi::Value tokenize(const Napi::CallbackInfo& info, const llama_vocab* vocab);
// detokenize(tokens, removeSpecial, unparseSpecial) -> string
Napi::Value detokenize(const Napi::CallbackInfo& info, const llama_vocab* vocab);
// The text of one token, as generation appends it.
std::string tokenPiece(const llama_vocab* vocab, llama_token token);
// Throws a RangeError naming the first id outside the vocabulary.
void checkTokenIds(const Napi::Env& env, const llama_vocab* vocab, const std::vector<llama_token>& tokens);

// Sizes, description, special tokens (-1 = none) and backends, shared by every handle's info().
void describeModel(Napi::Object& out, const llama_model* model);

// How many leading tokens `a` and `b` share: the part of a KV cache a new request can keep.
size_t commonPrefixLength(const std::vector<llama_token>& a, const std::vector<llama_token>& b);

}  // namespace hef
