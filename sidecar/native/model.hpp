// One llama.cpp model as the addon's handles use it: loading it with readable errors, the JS
// object over it (lock, tokenize / detokenize on the JS thread, disposal), and the info fields
// every handle reports.
#pragma once

#include <napi.h>

#include "common.hpp"
#include "llama.h"

#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
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

// A loaded model with its one context and the two batches a handle decodes through (token ids,
// and rows of nEmbdInp floats; nBatch positions each): what the generator and the encoder own,
// freed together. Loading runs on a worker thread and throws with llama.cpp's reason.
struct LoadedModel {
  llama_model* model = nullptr;
  llama_context* ctx = nullptr;
  const llama_vocab* vocab = nullptr;
  int nEmbdInp = 0;
  int nCtx = 0;
  int nBatch = 0;
  int threads = 0;
  llama_batch tokens{};
  llama_batch embd{};

  // Loads the ggml backends (once), the model, and a context made with contextParams(options)
  // as `configure` adjusts them.
  LoadedModel(const std::string& path, const ContextOptions& options, const std::function<void(llama_context_params&)>& configure);
  ~LoadedModel();
  LoadedModel(const LoadedModel&) = delete;
  LoadedModel& operator=(const LoadedModel&) = delete;

  llama_memory_t memory() const { return llama_get_memory(ctx); }
};

// tokenize(text, addSpecial, parseSpecial) -> Int32Array
Napi::Value tokenize(const Napi::CallbackInfo& info, const llama_vocab* vocab);
// detokenize(tokens, removeSpecial, unparseSpecial) -> string
Napi::Value detokenize(const Napi::CallbackInfo& info, const llama_vocab* vocab);

// The JS object of a handle over one LoadedModel (the generator, the encoder; T::kKind names it in
// errors). Work that uses the model runs on the thread pool holding mutex_ (lockLive); dispose
// frees the model there once the requests before it have let go, and later calls are refused.
template <class T>
class ModelHandle : public Napi::ObjectWrap<T> {
 public:
  explicit ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}

 protected:
  std::unique_ptr<LoadedModel> m_;

  // On the JS thread: throws once the handle is disposed.
  void checkUsable(const Napi::Env& env) const {
    if (disposed_ || !m_) throw Napi::Error::New(env, disposedMessage());
  }
  // On a worker thread: the lock every use of the model holds; throws once the handle is disposed.
  std::unique_lock<std::mutex> lockLive() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (disposed_) throw std::runtime_error(disposedMessage());
    return lock;
  }

  Napi::Value Tokenize(const Napi::CallbackInfo& info) {
    checkUsable(info.Env());
    return tokenize(info, m_->vocab);
  }
  Napi::Value Detokenize(const Napi::CallbackInfo& info) {
    checkUsable(info.Env());
    return detokenize(info, m_->vocab);
  }

  // dispose() -> Promise<void>; `release` drops what the handle keeps besides the model, before it.
  Napi::Value disposeOnWorker(const Napi::Env& env, std::function<void()> release) {
    auto* worker = new FnWorker(
        env,
        [this, release]() {
          std::lock_guard<std::mutex> lock(mutex_);
          disposed_ = true;
          // What the handle keeps may hold contexts on m_'s model: freed first.
          release();
          m_.reset();
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    return queueWorker(worker, this->Value());
  }

 private:
  std::mutex mutex_;
  bool disposed_ = false;

  static std::string disposedMessage() { return std::string("the ") + T::kKind + " has been disposed"; }
};

// A GGUF metadata value as text, "" when absent.
std::string modelMeta(const llama_model* model, const std::string& key);

// The text of one token, as generation appends it.
std::string tokenPiece(const llama_vocab* vocab, llama_token token);
// Throws a RangeError naming the first id outside the vocabulary.
void checkTokenIds(const Napi::Env& env, const llama_vocab* vocab, const std::vector<llama_token>& tokens);

// Sizes, description, special tokens (-1 = none) and backends, shared by every handle's info().
void describeModel(Napi::Object& out, const llama_model* model);

// How many leading tokens `a` and `b` share: the part of a KV cache a new request can keep.
size_t commonPrefixLength(const std::vector<llama_token>& a, const std::vector<llama_token>& b);

}  // namespace hef
