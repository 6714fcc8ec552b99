// HEF generator addon: a llama.cpp code generator whose prompt may start with "pseudo-tokens",
// vectors fed through llama_batch.embd in place of token embeddings (Hierarchical Embedding
// Fusion). Built against the headers of the llama.cpp release node-llama-cpp ships and linked
// against node-llama-cpp's own prebuilt libllama/libggml, so both share one build and backend.
//
// One Generator owns one model and one context (one sequence). Every request that decodes runs
// in a Napi::AsyncWorker and holds the generator's mutex, so requests on one handle run one at a
// time; the KV cache is kept between requests and only the part after the longest common prefix
// with the previous request is decoded again.
#include <napi.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(_WIN32)
#error "hef_generator: Windows is not supported yet (needs import libraries and another way to find the backend folder)"
#else
#include <dlfcn.h>
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Logging: llama.cpp logs to one process-wide callback (shared with node-llama-cpp's addon when
// both are loaded). We chain to whatever callback was installed before us, forward only messages
// at or above a threshold (HEF_LLAMA_LOG=debug|info|warn|error|none, default error), and keep the
// error lines a worker thread produced so that failures can carry llama.cpp's own reason.

ggml_log_callback g_prev_log = nullptr;
void* g_prev_log_data = nullptr;
int g_log_threshold = GGML_LOG_LEVEL_ERROR;
thread_local std::string t_errors;
thread_local int t_last_level = GGML_LOG_LEVEL_INFO;
// The cancellation flag of the request this thread is running: an aborted llama_decode logs
// "failed to compute graph" errors, which are expected after a cancel and dropped.
thread_local const std::atomic<bool>* t_cancel_flag = nullptr;

int parseLogThreshold() {
  const char* env = std::getenv("HEF_LLAMA_LOG");
  if (!env) return GGML_LOG_LEVEL_ERROR;
  std::string v(env);
  if (v == "debug") return GGML_LOG_LEVEL_DEBUG;
  if (v == "info") return GGML_LOG_LEVEL_INFO;
  if (v == "warn") return GGML_LOG_LEVEL_WARN;
  if (v == "none") return GGML_LOG_LEVEL_ERROR + 1;
  return GGML_LOG_LEVEL_ERROR;
}

void logCallback(ggml_log_level level, const char* text, void*) {
  int effective = level == GGML_LOG_LEVEL_CONT ? t_last_level : static_cast<int>(level);
  if (level != GGML_LOG_LEVEL_CONT) t_last_level = level;
  if (t_cancel_flag != nullptr && t_cancel_flag->load()) return;
  if (effective == GGML_LOG_LEVEL_ERROR && text) {
    if (t_errors.size() < 4096) t_errors += text;
  }
  if (effective >= g_log_threshold && g_prev_log) g_prev_log(level, text, g_prev_log_data);
}

std::string takeErrors() {
  std::string e;
  e.swap(t_errors);
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  return e;
}

std::string withLlamaReason(const std::string& message) {
  std::string reason = takeErrors();
  return reason.empty() ? message : message + " (llama.cpp: " + reason + ")";
}

// ---------------------------------------------------------------------------------------------
// Backends: the prebuilt libllama is built with dynamically loaded ggml backends; a program that
// links it must load them from the folder the libraries are in. By default that is the folder
// the running libllama was loaded from (dladdr), i.e. the folder this addon was linked against.

std::once_flag g_backend_once;
std::string g_backend_dir;
std::string g_backend_error;

std::string libraryDirOf(const void* symbol) {
  Dl_info info;
  if (dladdr(symbol, &info) == 0 || !info.dli_fname) return "";
  std::string path(info.dli_fname);
  if (char* real = realpath(info.dli_fname, nullptr)) {
    path = real;
    std::free(real);
  }
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

void ensureBackends(const std::string& overrideDir) {
  std::call_once(g_backend_once, [&]() {
    llama_log_get(&g_prev_log, &g_prev_log_data);
    g_log_threshold = parseLogThreshold();
    llama_log_set(logCallback, nullptr);
    std::string dir = overrideDir.empty() ? libraryDirOf(reinterpret_cast<const void*>(&llama_backend_init)) : overrideDir;
    g_backend_dir = dir;
    // Backends already registered (e.g. by node-llama-cpp in this process) are not registered twice.
    ggml_backend_load_all_from_path(dir.empty() ? nullptr : dir.c_str());
    llama_backend_init();
    if (ggml_backend_dev_count() == 0) {
      g_backend_error = "no ggml backend could be loaded from " + (dir.empty() ? std::string("the default search path") : dir);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/** Length of `s` without a trailing incomplete UTF-8 sequence. */
size_t completeUtf8Length(const std::string& s) {
  size_t n = s.size();
  size_t i = n;
  int back = 0;
  while (i > 0 && back < 4) {
    unsigned char c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xC0) != 0x80) {
      size_t need = (c & 0x80) == 0 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      return (n - (i - 1)) >= need ? n : i - 1;
    }
    --i;
    ++back;
  }
  return n;
}

std::vector<float> readFloat32Array(const Napi::Env& env, const Napi::Value& value, const char* what) {
  std::vector<float> out;
  if (value.IsUndefined() || value.IsNull()) return out;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array");
  }
  auto array = value.As<Napi::Float32Array>();
  out.assign(array.Data(), array.Data() + array.ElementLength());
  return out;
}

std::vector<llama_token> readTokens(const Napi::Env& env, const Napi::Value& value, const char* what) {
  std::vector<llama_token> out;
  if (value.IsUndefined() || value.IsNull()) return out;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    auto array = value.As<Napi::Int32Array>();
    out.assign(array.Data(), array.Data() + array.ElementLength());
    return out;
  }
  if (value.IsArray()) {
    auto array = value.As<Napi::Array>();
    out.reserve(array.Length());
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Value v = array.Get(i);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must hold token ids");
      out.push_back(v.As<Napi::Number>().Int32Value());
    }
    return out;
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array or an array of token ids");
}

// A worker that runs `execute` on the thread pool and resolves a promise with `resolve`'s value.
class FnWorker : public Napi::AsyncWorker {
 public:
  FnWorker(Napi::Env env, std::function<void()> execute, std::function<Napi::Value(Napi::Env)> resolve,
           std::function<void()> done = nullptr)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), execute_(std::move(execute)),
        resolve_(std::move(resolve)), done_(std::move(done)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(const Napi::Object& object) { keep_ = Napi::Persistent(object); }

 protected:
  void Execute() override {
    takeErrors();
    try {
      execute_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }
  void OnOK() override {
    if (done_) done_();
    Napi::Env env = Env();
    try {
      deferred_.Resolve(resolve_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& error) override {
    if (done_) done_();
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> execute_;
  std::function<Napi::Value(Napi::Env)> resolve_;
  std::function<void()> done_;
  Napi::ObjectReference keep_;
};

// ---------------------------------------------------------------------------------------------

struct LoadOptions {
  int threads = 0;
  int gpuLayers = -1;
  int contextSize = 2048;
  int batchSize = 512;
  std::string backendDir;
};

struct EvalOutcome {
  int reused = 0;
  int decoded = 0;
  bool cancelled = false;
  double prefillMs = 0;
};

enum class StopReason { Eog, Stop, MaxTokens, Time, Cancelled, Context };

const char* stopReasonName(StopReason r) {
  switch (r) {
    case StopReason::Eog: return "eog";
    case StopReason::Stop: return "stop";
    case StopReason::MaxTokens: return "maxTokens";
    case StopReason::Time: return "time";
    case StopReason::Cancelled: return "cancelled";
    case StopReason::Context: return "context";
  }
  return "unknown";
}

class Generator : public Napi::ObjectWrap<Generator> {
 public:
  static Napi::Function Init(Napi::Env env) {
    Napi::Function fn = DefineClass(env, "Generator",
                                    {
                                        InstanceMethod("info", &Generator::Info),
                                        InstanceMethod("tokenize", &Generator::Tokenize),
                                        InstanceMethod("detokenize", &Generator::Detokenize),
                                        InstanceMethod("tokenEmbeddingRows", &Generator::TokenEmbeddingRows),
                                        InstanceMethod("evaluate", &Generator::Evaluate),
                                        InstanceMethod("generate", &Generator::Generate),
                                        InstanceMethod("cancel", &Generator::Cancel),
                                        InstanceMethod("resetCache", &Generator::ResetCache),
                                        InstanceMethod("dispose", &Generator::Dispose),
                                    });
    return fn;
  }

  explicit Generator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Generator>(info) {}

  ~Generator() override { freeAll(); }

  // Runs on a worker thread: loads model and context.
  void loadNative(const std::string& path, const LoadOptions& options) {
    ensureBackends(options.backendDir);
    if (!g_backend_error.empty()) throw std::runtime_error(g_backend_error);
    path_ = path;
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = options.gpuLayers;
    model_ = llama_model_load_from_file(path.c_str(), mp);
    if (!model_) throw std::runtime_error(withLlamaReason("failed to load model " + path));
    vocab_ = llama_model_get_vocab(model_);
    nEmbd_ = llama_model_n_embd_inp(model_);
    nVocab_ = llama_vocab_n_tokens(vocab_);

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(std::max(0, options.contextSize));
    int batch = std::max(1, options.batchSize);
    if (options.contextSize > 0) batch = std::min(batch, options.contextSize);
    cp.n_batch = static_cast<uint32_t>(batch);
    cp.n_ubatch = static_cast<uint32_t>(batch);
    cp.n_seq_max = 1;
    if (options.threads > 0) {
      cp.n_threads = options.threads;
      cp.n_threads_batch = options.threads;
    }
    cp.no_perf = true;
    cp.abort_callback = &Generator::abortCallback;
    cp.abort_callback_data = this;
    ctx_ = llama_init_from_model(model_, cp);
    if (!ctx_) {
      std::string message = withLlamaReason("failed to create a llama.cpp context for " + path);
      llama_model_free(model_);
      model_ = nullptr;
      throw std::runtime_error(message);
    }
    nCtx_ = static_cast<int>(llama_n_ctx(ctx_));
    nBatch_ = static_cast<int>(std::min(llama_n_batch(ctx_), llama_n_ubatch(ctx_)));
    threads_ = llama_n_threads(ctx_);
    tokenBatch_ = llama_batch_init(nBatch_, 0, 1);
    embdBatch_ = llama_batch_init(nBatch_, nEmbd_, 1);
    batchesAllocated_ = true;
  }

 private:
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  std::string path_;
  int nEmbd_ = 0;
  int nVocab_ = 0;
  int nCtx_ = 0;
  int nBatch_ = 0;
  int threads_ = 0;
  llama_batch tokenBatch_{};
  llama_batch embdBatch_{};
  bool batchesAllocated_ = false;
  bool disposed_ = false;

  // Serialises every request that touches the context / KV cache.
  std::mutex mutex_;
  // What the KV cache (sequence 0) holds: positions [0, K) are pseudo-tokens, [K, K+T) tokens.
  std::vector<float> cachedPseudo_;
  std::vector<llama_token> cachedTokens_;

  // Cancellation: one flag per request id, and the flag of the request now decoding (for the
  // abort callback, which llama.cpp polls between graph nodes).
  std::mutex flagsMutex_;
  std::unordered_map<int64_t, std::shared_ptr<std::atomic<bool>>> flags_;
  std::atomic<std::atomic<bool>*> currentFlag_{nullptr};

  // token_embd.weight location, read from the GGUF on first use.
  std::mutex embdMutex_;
  bool embdInfoRead_ = false;
  size_t embdOffset_ = 0;
  size_t embdRowBytes_ = 0;
  int64_t embdRows_ = 0;
  ggml_type embdType_ = GGML_TYPE_F32;

  static bool abortCallback(void* data) {
    auto* self = static_cast<Generator*>(data);
    std::atomic<bool>* flag = self->currentFlag_.load();
    return flag != nullptr && flag->load();
  }

  void freeAll() {
    if (batchesAllocated_) {
      llama_batch_free(tokenBatch_);
      llama_batch_free(embdBatch_);
      batchesAllocated_ = false;
    }
    if (ctx_) {
      llama_free(ctx_);
      ctx_ = nullptr;
    }
    if (model_) {
      llama_model_free(model_);
      model_ = nullptr;
    }
    cachedPseudo_.clear();
    cachedTokens_.clear();
  }

  void checkUsable(const Napi::Env& env) {
    if (disposed_ || !model_) throw Napi::Error::New(env, "the generator has been disposed");
  }

  std::shared_ptr<std::atomic<bool>> registerFlag(int64_t id) {
    auto flag = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard<std::mutex> lock(flagsMutex_);
    flags_[id] = flag;
    return flag;
  }
  void unregisterFlag(int64_t id) {
    std::lock_guard<std::mutex> lock(flagsMutex_);
    flags_.erase(id);
  }

  int cachedLength() const { return static_cast<int>(cachedPseudo_.size() / nEmbd_ + cachedTokens_.size()); }

  // Drops everything in the KV cache from position `keep` on, and the bookkeeping with it.
  void truncateCache(int keep) {
    llama_memory_t mem = llama_get_memory(ctx_);
    int k = static_cast<int>(cachedPseudo_.size() / nEmbd_);
    if (keep < cachedLength()) {
      if (!llama_memory_seq_rm(mem, 0, keep, -1)) {
        llama_memory_clear(mem, true);
        keep = 0;
      }
    }
    if (keep <= k) {
      cachedPseudo_.resize(static_cast<size_t>(keep) * nEmbd_);
      cachedTokens_.clear();
    } else {
      cachedTokens_.resize(static_cast<size_t>(keep - k));
    }
  }

  // Decodes positions [from, to) of the request; logits for the last position when it is N-1.
  // Returns 0, or llama_decode's failure code. The bookkeeping only grows by whole batches.
  int decodeRange(const std::vector<float>& pseudo, const std::vector<llama_token>& tokens, int from, int to, int total) {
    int K = static_cast<int>(pseudo.size() / nEmbd_);
    int pos = from;
    while (pos < to) {
      bool isPseudo = pos < K;
      int end = std::min(to, isPseudo ? K : to);
      int n = std::min(nBatch_, end - pos);
      llama_batch& b = isPseudo ? embdBatch_ : tokenBatch_;
      for (int i = 0; i < n; i++) {
        int p = pos + i;
        if (isPseudo) {
          std::memcpy(b.embd + static_cast<size_t>(i) * nEmbd_, pseudo.data() + static_cast<size_t>(p) * nEmbd_, sizeof(float) * nEmbd_);
        } else {
          b.token[i] = tokens[p - K];
        }
        b.pos[i] = p;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = (p == total - 1) ? 1 : 0;
      }
      b.n_tokens = n;
      int rc = llama_decode(ctx_, b);
      if (rc != 0) {
        // Aborted or fatal decodes may leave part of the batch in the cache; drop it.
        llama_memory_seq_rm(llama_get_memory(ctx_), 0, pos, -1);
        return rc;
      }
      if (isPseudo) {
        cachedPseudo_.insert(cachedPseudo_.end(), pseudo.begin() + static_cast<size_t>(pos) * nEmbd_,
                             pseudo.begin() + static_cast<size_t>(pos + n) * nEmbd_);
      } else {
        cachedTokens_.insert(cachedTokens_.end(), tokens.begin() + (pos - K), tokens.begin() + (pos - K + n));
      }
      pos += n;
    }
    return 0;
  }

  // Brings the KV cache to exactly [pseudo, tokens], reusing the longest common prefix with what
  // it holds, and leaves the logits of the last position in the context. Runs on a worker thread.
  EvalOutcome prefill(const std::vector<float>& pseudo, const std::vector<llama_token>& tokens) {
    auto t0 = std::chrono::steady_clock::now();
    EvalOutcome out;
    if (pseudo.size() % nEmbd_ != 0) {
      throw std::runtime_error("pseudo-tokens must hold a multiple of n_embd (" + std::to_string(nEmbd_) + ") floats, got " +
                               std::to_string(pseudo.size()));
    }
    int K = static_cast<int>(pseudo.size() / nEmbd_);
    int T = static_cast<int>(tokens.size());
    int N = K + T;
    if (N == 0) throw std::runtime_error("empty request: no pseudo-tokens and no tokens");
    if (N > nCtx_) {
      throw std::runtime_error("request of " + std::to_string(N) + " positions does not fit the context of " + std::to_string(nCtx_));
    }
    for (llama_token t : tokens) {
      if (t < 0 || t >= nVocab_) throw std::runtime_error("token id " + std::to_string(t) + " is outside the vocabulary");
    }
    // Longest common prefix: pseudo-token vectors bit-exactly, then (only if all pseudo-tokens
    // match, count included) the tokens.
    int cachedK = static_cast<int>(cachedPseudo_.size() / nEmbd_);
    int lcp = 0;
    int kk = std::min(K, cachedK);
    while (lcp < kk && std::memcmp(pseudo.data() + static_cast<size_t>(lcp) * nEmbd_, cachedPseudo_.data() + static_cast<size_t>(lcp) * nEmbd_,
                                   sizeof(float) * nEmbd_) == 0) {
      lcp++;
    }
    if (lcp == K && K == cachedK) {
      int tt = std::min(T, static_cast<int>(cachedTokens_.size()));
      int t = 0;
      while (t < tt && tokens[t] == cachedTokens_[t]) t++;
      lcp += t;
    }
    // The last position is always decoded again: its logits are the answer.
    if (lcp >= N) lcp = N - 1;
    truncateCache(lcp);
    lcp = cachedLength();
    out.reused = lcp;
    int rc = decodeRange(pseudo, tokens, lcp, N, N);
    out.decoded = cachedLength() - lcp;
    out.prefillMs = msSince(t0);
    if (rc == 2) {
      out.cancelled = true;
      return out;
    }
    if (rc != 0) throw std::runtime_error(withLlamaReason("llama_decode failed with code " + std::to_string(rc)));
    return out;
  }

  std::vector<float> lastLogits() {
    const float* logits = llama_get_logits_ith(ctx_, -1);
    if (!logits) throw std::runtime_error("llama.cpp returned no logits");
    return std::vector<float>(logits, logits + nVocab_);
  }

  std::string piece(llama_token token) {
    char buf[256];
    int n = llama_token_to_piece(vocab_, token, buf, sizeof(buf), 0, false);
    if (n >= 0) return std::string(buf, n);
    std::string big(static_cast<size_t>(-n), '\0');
    n = llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
    return n >= 0 ? big.substr(0, n) : std::string();
  }

  // --- JS methods -------------------------------------------------------------------------------

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("nEmbd", llama_model_n_embd(model_));
    o.Set("nEmbdInp", nEmbd_);
    o.Set("nVocab", nVocab_);
    o.Set("nCtx", nCtx_);
    o.Set("nCtxTrain", llama_model_n_ctx_train(model_));
    o.Set("nLayer", llama_model_n_layer(model_));
    o.Set("nBatch", nBatch_);
    o.Set("threads", threads_);
    o.Set("addBos", llama_vocab_get_add_bos(vocab_));
    char desc[256];
    llama_model_desc(model_, desc, sizeof(desc));
    o.Set("description", std::string(desc));
    o.Set("backendDir", g_backend_dir);
    Napi::Array devices = Napi::Array::New(env);
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
      devices.Set(static_cast<uint32_t>(i), std::string(ggml_backend_dev_name(ggml_backend_dev_get(i))));
    }
    o.Set("devices", devices);
    Napi::Object t = Napi::Object::New(env);
    t.Set("bos", llama_vocab_bos(vocab_));
    t.Set("eos", llama_vocab_eos(vocab_));
    t.Set("eot", llama_vocab_eot(vocab_));
    t.Set("pad", llama_vocab_pad(vocab_));
    t.Set("fimPre", llama_vocab_fim_pre(vocab_));
    t.Set("fimSuf", llama_vocab_fim_suf(vocab_));
    t.Set("fimMid", llama_vocab_fim_mid(vocab_));
    t.Set("fimPad", llama_vocab_fim_pad(vocab_));
    t.Set("fimRep", llama_vocab_fim_rep(vocab_));
    t.Set("fimSep", llama_vocab_fim_sep(vocab_));
    o.Set("tokens", t);
    return o;
  }

  Napi::Value Tokenize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "tokenize(text, addSpecial, parseSpecial)");
    std::string text = info[0].As<Napi::String>().Utf8Value();
    bool addSpecial = info.Length() > 1 && info[1].ToBoolean().Value();
    bool parseSpecial = info.Length() > 2 && info[2].ToBoolean().Value();
    std::vector<llama_token> out(text.size() + 8);
    int n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(), static_cast<int32_t>(out.size()), addSpecial, parseSpecial);
    if (n < 0) {
      if (n == INT32_MIN) throw Napi::Error::New(env, "tokenize: text too long");
      out.resize(static_cast<size_t>(-n));
      n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(), static_cast<int32_t>(out.size()), addSpecial, parseSpecial);
      if (n < 0) throw Napi::Error::New(env, "tokenize failed");
    }
    Napi::Int32Array result = Napi::Int32Array::New(env, static_cast<size_t>(n));
    std::memcpy(result.Data(), out.data(), sizeof(llama_token) * static_cast<size_t>(n));
    return result;
  }

  Napi::Value Detokenize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    std::vector<llama_token> tokens = readTokens(env, info[0], "tokens");
    bool removeSpecial = info.Length() > 1 && info[1].ToBoolean().Value();
    bool unparseSpecial = info.Length() > 2 && info[2].ToBoolean().Value();
    for (llama_token t : tokens) {
      if (t < 0 || t >= nVocab_) throw Napi::RangeError::New(env, "token id " + std::to_string(t) + " is outside the vocabulary");
    }
    std::string text(tokens.size() * 8 + 16, '\0');
    int n = llama_detokenize(vocab_, tokens.data(), static_cast<int32_t>(tokens.size()), text.data(), static_cast<int32_t>(text.size()), removeSpecial, unparseSpecial);
    if (n < 0) {
      text.resize(static_cast<size_t>(-n));
      n = llama_detokenize(vocab_, tokens.data(), static_cast<int32_t>(tokens.size()), text.data(), static_cast<int32_t>(text.size()), removeSpecial, unparseSpecial);
      if (n < 0) throw Napi::Error::New(env, "detokenize failed");
    }
    text.resize(static_cast<size_t>(n));
    return Napi::String::New(env, text);
  }

  void readEmbdInfo() {
    if (embdInfoRead_) return;
    gguf_init_params params{true, nullptr};
    gguf_context* g = gguf_init_from_file(path_.c_str(), params);
    if (!g) throw std::runtime_error(withLlamaReason("cannot read the GGUF header of " + path_));
    int64_t id = gguf_find_tensor(g, "token_embd.weight");
    if (id < 0) {
      gguf_free(g);
      throw std::runtime_error(path_ + " has no token_embd.weight tensor");
    }
    embdType_ = gguf_get_tensor_type(g, id);
    embdOffset_ = gguf_get_data_offset(g) + gguf_get_tensor_offset(g, id);
    embdRowBytes_ = ggml_row_size(embdType_, nEmbd_);
    size_t bytes = gguf_get_tensor_size(g, id);
    gguf_free(g);
    if (embdRowBytes_ == 0 || bytes % embdRowBytes_ != 0) throw std::runtime_error("token_embd.weight rows do not match n_embd");
    embdRows_ = static_cast<int64_t>(bytes / embdRowBytes_);
    if (embdType_ != GGML_TYPE_F32 && ggml_get_type_traits(embdType_)->to_float == nullptr) {
      throw std::runtime_error(std::string("cannot dequantize token_embd.weight of type ") + ggml_type_name(embdType_));
    }
    embdInfoRead_ = true;
  }

  // Rows of token_embd.weight, read from the GGUF file and dequantized with ggml's own
  // to_float (what ggml_get_rows does when the model embeds a token).
  Napi::Value TokenEmbeddingRows(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    auto ids = std::make_shared<std::vector<llama_token>>(readTokens(env, info[0], "tokenIds"));
    for (llama_token t : *ids) {
      if (t < 0 || t >= nVocab_) throw Napi::RangeError::New(env, "token id " + std::to_string(t) + " is outside the vocabulary");
    }
    auto rows = std::make_shared<std::vector<float>>();
    auto* worker = new FnWorker(
        env,
        [this, ids, rows]() {
          std::lock_guard<std::mutex> lock(embdMutex_);
          readEmbdInfo();
          FILE* f = std::fopen(path_.c_str(), "rb");
          if (!f) throw std::runtime_error("cannot open " + path_);
          std::unique_ptr<FILE, int (*)(FILE*)> closer(f, &std::fclose);
          rows->resize(ids->size() * static_cast<size_t>(nEmbd_));
          std::vector<uint8_t> raw(embdRowBytes_);
          const ggml_type_traits* traits = ggml_get_type_traits(embdType_);
          for (size_t i = 0; i < ids->size(); i++) {
            llama_token t = (*ids)[i];
            if (t >= embdRows_) throw std::runtime_error("token id outside token_embd.weight");
            if (fseeko(f, static_cast<off_t>(embdOffset_ + static_cast<size_t>(t) * embdRowBytes_), SEEK_SET) != 0 ||
                std::fread(raw.data(), 1, raw.size(), f) != raw.size()) {
              throw std::runtime_error("cannot read token_embd.weight from " + path_);
            }
            float* dst = rows->data() + i * static_cast<size_t>(nEmbd_);
            if (embdType_ == GGML_TYPE_F32) {
              std::memcpy(dst, raw.data(), sizeof(float) * nEmbd_);
            } else {
              traits->to_float(raw.data(), dst, nEmbd_);
            }
          }
        },
        [rows](Napi::Env env) -> Napi::Value {
          Napi::Float32Array out = Napi::Float32Array::New(env, rows->size());
          if (!rows->empty()) std::memcpy(out.Data(), rows->data(), sizeof(float) * rows->size());
          return out;
        });
    return queueWorker(worker);
  }

  // Keeps this handle alive until the worker has run, then starts it.
  Napi::Promise queueWorker(FnWorker* worker) {
    worker->Keep(Value());
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  // evaluate({ pseudo, tokens }, requestId) -> Promise<{ logits, reused, decoded, prefillMs, cancelled }>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "evaluate({ pseudo, tokens }, requestId)");
    Napi::Object request = info[0].As<Napi::Object>();
    auto pseudo = std::make_shared<std::vector<float>>(readFloat32Array(env, request.Get("pseudo"), "pseudo"));
    auto tokens = std::make_shared<std::vector<llama_token>>(readTokens(env, request.Get("tokens"), "tokens"));
    int64_t id = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : -1;
    auto flag = registerFlag(id);
    auto outcome = std::make_shared<EvalOutcome>();
    auto logits = std::make_shared<std::vector<float>>();
    auto* worker = new FnWorker(
        env,
        [this, pseudo, tokens, flag, outcome, logits]() {
          std::lock_guard<std::mutex> lock(mutex_);
          if (disposed_) throw std::runtime_error("the generator has been disposed");
          if (flag->load()) {
            outcome->cancelled = true;
            return;
          }
          currentFlag_.store(flag.get());
          t_cancel_flag = flag.get();
          try {
            *outcome = prefill(*pseudo, *tokens);
          } catch (...) {
            currentFlag_.store(nullptr);
            t_cancel_flag = nullptr;
            throw;
          }
          currentFlag_.store(nullptr);
          t_cancel_flag = nullptr;
          if (!outcome->cancelled) *logits = lastLogits();
        },
        [outcome, logits](Napi::Env env) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          Napi::Float32Array l = Napi::Float32Array::New(env, logits->size());
          if (!logits->empty()) std::memcpy(l.Data(), logits->data(), sizeof(float) * logits->size());
          o.Set("logits", l);
          o.Set("reused", outcome->reused);
          o.Set("decoded", outcome->decoded);
          o.Set("prefillMs", outcome->prefillMs);
          o.Set("cancelled", outcome->cancelled);
          return o;
        },
        [this, id]() { unregisterFlag(id); });
    return queueWorker(worker);
  }

  struct GenerateResult {
    EvalOutcome prompt;
    std::string text;
    std::vector<llama_token> generated;
    StopReason reason = StopReason::MaxTokens;
    double decodeMs = 0;
  };

  // generate({ pseudo, tokens, maxTokens, stop, timeLimitMs, ignoreEog }, requestId) -> Promise<result>
  Napi::Value Generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "generate({ pseudo, tokens, maxTokens, stop, timeLimitMs }, requestId)");
    Napi::Object request = info[0].As<Napi::Object>();
    auto pseudo = std::make_shared<std::vector<float>>(readFloat32Array(env, request.Get("pseudo"), "pseudo"));
    auto tokens = std::make_shared<std::vector<llama_token>>(readTokens(env, request.Get("tokens"), "tokens"));
    Napi::Value maxTokensValue = request.Get("maxTokens");
    int maxTokens = maxTokensValue.IsNumber() ? maxTokensValue.As<Napi::Number>().Int32Value() : 128;
    Napi::Value timeValue = request.Get("timeLimitMs");
    double timeLimitMs = timeValue.IsNumber() ? timeValue.As<Napi::Number>().DoubleValue() : 0;
    bool ignoreEog = request.Get("ignoreEog").ToBoolean().Value();
    auto stops = std::make_shared<std::vector<std::string>>();
    Napi::Value stopValue = request.Get("stop");
    if (stopValue.IsArray()) {
      Napi::Array array = stopValue.As<Napi::Array>();
      for (uint32_t i = 0; i < array.Length(); i++) {
        Napi::Value s = array.Get(i);
        if (!s.IsString()) throw Napi::TypeError::New(env, "stop must be an array of strings");
        std::string str = s.As<Napi::String>().Utf8Value();
        if (!str.empty()) stops->push_back(str);
      }
    }
    int64_t id = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : -1;
    auto flag = registerFlag(id);
    auto result = std::make_shared<GenerateResult>();
    auto* worker = new FnWorker(
        env,
        [this, pseudo, tokens, maxTokens, timeLimitMs, ignoreEog, stops, flag, result]() {
          std::lock_guard<std::mutex> lock(mutex_);
          if (disposed_) throw std::runtime_error("the generator has been disposed");
          auto t0 = std::chrono::steady_clock::now();
          if (flag->load()) {
            result->reason = StopReason::Cancelled;
            return;
          }
          currentFlag_.store(flag.get());
          t_cancel_flag = flag.get();
          struct Clear {
            std::atomic<std::atomic<bool>*>& f;
            ~Clear() {
              f.store(nullptr);
              t_cancel_flag = nullptr;
            }
          } clear{currentFlag_};
          result->prompt = prefill(*pseudo, *tokens);
          if (result->prompt.cancelled) {
            result->reason = StopReason::Cancelled;
            return;
          }
          auto td = std::chrono::steady_clock::now();
          size_t maxStop = 0;
          for (const auto& s : *stops) maxStop = std::max(maxStop, s.size());
          int K = static_cast<int>(pseudo->size() / nEmbd_);
          int pos = K + static_cast<int>(tokens->size());
          const float* logits = llama_get_logits_ith(ctx_, -1);
          std::string& text = result->text;
          while (true) {
            if (flag->load()) { result->reason = StopReason::Cancelled; break; }
            if (static_cast<int>(result->generated.size()) >= maxTokens) { result->reason = StopReason::MaxTokens; break; }
            if (!logits) throw std::runtime_error("llama.cpp returned no logits");
            llama_token best = static_cast<llama_token>(std::max_element(logits, logits + nVocab_) - logits);
            if (!ignoreEog && llama_vocab_is_eog(vocab_, best)) { result->reason = StopReason::Eog; break; }
            result->generated.push_back(best);
            size_t before = text.size();
            text += piece(best);
            if (maxStop > 0) {
              size_t from = before >= maxStop - 1 ? before - (maxStop - 1) : 0;
              size_t cut = std::string::npos;
              for (const auto& s : *stops) {
                size_t at = text.find(s, from);
                if (at != std::string::npos) cut = std::min(cut, at);
              }
              if (cut != std::string::npos) {
                text.resize(cut);
                result->reason = StopReason::Stop;
                break;
              }
            }
            if (static_cast<int>(result->generated.size()) >= maxTokens) { result->reason = StopReason::MaxTokens; break; }
            if (timeLimitMs > 0 && msSince(t0) >= timeLimitMs) { result->reason = StopReason::Time; break; }
            if (pos >= nCtx_) { result->reason = StopReason::Context; break; }
            if (flag->load()) { result->reason = StopReason::Cancelled; break; }
            int rc = decodeOne(best, pos);
            if (rc == 2) { result->reason = StopReason::Cancelled; break; }
            if (rc != 0) throw std::runtime_error(withLlamaReason("llama_decode failed with code " + std::to_string(rc)));
            pos++;
            logits = llama_get_logits_ith(ctx_, -1);
          }
          if (result->reason != StopReason::Stop) text.resize(completeUtf8Length(text));
          result->decodeMs = msSince(td);
        },
        [result](Napi::Env env) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("text", Napi::String::New(env, result->text));
          Napi::Int32Array toks = Napi::Int32Array::New(env, result->generated.size());
          if (!result->generated.empty()) std::memcpy(toks.Data(), result->generated.data(), sizeof(llama_token) * result->generated.size());
          o.Set("tokens", toks);
          o.Set("tokenCount", static_cast<double>(result->generated.size()));
          o.Set("reused", result->prompt.reused);
          o.Set("decoded", result->prompt.decoded);
          o.Set("stopReason", stopReasonName(result->reason));
          o.Set("prefillMs", result->prompt.prefillMs);
          o.Set("decodeMs", result->decodeMs);
          return o;
        },
        [this, id]() { unregisterFlag(id); });
    return queueWorker(worker);
  }

  // Decodes one generated token at `pos` (which must equal the cached length) and records it.
  int decodeOne(llama_token token, int pos) {
    tokenBatch_.token[0] = token;
    tokenBatch_.pos[0] = pos;
    tokenBatch_.n_seq_id[0] = 1;
    tokenBatch_.seq_id[0][0] = 0;
    tokenBatch_.logits[0] = 1;
    tokenBatch_.n_tokens = 1;
    int rc = llama_decode(ctx_, tokenBatch_);
    if (rc != 0) {
      llama_memory_seq_rm(llama_get_memory(ctx_), 0, pos, -1);
      return rc;
    }
    cachedTokens_.push_back(token);
    return 0;
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "cancel(requestId)");
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    std::lock_guard<std::mutex> lock(flagsMutex_);
    auto it = flags_.find(id);
    if (it == flags_.end()) return Napi::Boolean::New(env, false);
    it->second->store(true);
    return Napi::Boolean::New(env, true);
  }

  // Forgets the KV cache (the next request decodes from scratch).
  Napi::Value ResetCache(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    auto* worker = new FnWorker(
        env,
        [this]() {
          std::lock_guard<std::mutex> lock(mutex_);
          if (disposed_) return;
          llama_memory_clear(llama_get_memory(ctx_), true);
          cachedPseudo_.clear();
          cachedTokens_.clear();
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    return queueWorker(worker);
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    {
      std::lock_guard<std::mutex> lock(flagsMutex_);
      for (auto& entry : flags_) entry.second->store(true);
    }
    auto* worker = new FnWorker(
        env,
        [this]() {
          std::lock_guard<std::mutex> lock(mutex_);
          disposed_ = true;
          freeAll();
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    return queueWorker(worker);
  }
};

// load(modelPath, { threads, gpuLayers, contextSize, batchSize, backendDir }) -> Promise<Generator>
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "load(modelPath, options)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  LoadOptions options;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    auto intOption = [&](const char* key, int& target) {
      Napi::Value v = o.Get(key);
      if (v.IsNumber()) target = v.As<Napi::Number>().Int32Value();
    };
    intOption("threads", options.threads);
    intOption("gpuLayers", options.gpuLayers);
    intOption("contextSize", options.contextSize);
    intOption("batchSize", options.batchSize);
    Napi::Value dir = o.Get("backendDir");
    if (dir.IsString()) options.backendDir = dir.As<Napi::String>().Utf8Value();
  }
  Napi::Object object = env.GetInstanceData<Napi::FunctionReference>()->New({});
  Generator* generator = Generator::Unwrap(object);
  auto ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(object));
  auto* worker = new FnWorker(
      env, [generator, path, options]() { generator->loadNative(path, options); },
      [ref](Napi::Env) -> Napi::Value { return ref->Value(); });
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("linkedDir", libraryDirOf(reinterpret_cast<const void*>(&llama_backend_init)));
  o.Set("loadedDir", g_backend_dir);
  o.Set("systemInfo", std::string(llama_print_system_info()));
  return o;
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  Napi::Function generatorClass = Generator::Init(env);
  // Per-environment (main thread or worker thread) constructor, freed with the environment.
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(generatorClass)));
  exports.Set("Generator", generatorClass);
  exports.Set("load", Napi::Function::New(env, Load));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo));
  return exports;
}

}  // namespace

NODE_API_MODULE(hef_generator, InitModule)
