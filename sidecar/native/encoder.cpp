// An Encoder runs a model in embeddings mode with pooling switched off at the context, so every
// position's final hidden state (after the output norm) comes out, and does the rest itself:
//  - embedTokens pools those states the way the model's GGUF says (mean, cls or last) over a
//    sequence per slot (a document) whose KV cache and per-position states are kept between calls,
//    so a query window that extends or shares a prefix with that slot's previous one only decodes
//    the new tokens, and coming back to a document finds its window (the least recently used slot
//    gives way; each slot may use nCtx / maxSequences positions);
//  - lastHidden feeds sequences of input vectors (llama_batch.embd), many per llama_decode under
//    distinct sequence ids, and returns each sequence's state at its last position (the learned
//    fuser of paper 3.3 reads its output there).
//  - embedChunk pools one input on a second context of the same model (when loaded with
//    chunkContext), emptied for each input, so that embedding chunks (a save refreshes the index)
//    leaves the query window's cache in place and the model is loaded once.
// embedTokens and lastHidden use the one context, so a lastHidden call drops embedTokens' cache.
// Calls on one handle run one at a time (a mutex), on the thread pool.
#include "encoder.hpp"

#include "common.hpp"
#include "model.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace hef {
namespace {

struct EncoderOptions : ContextOptions {
  int maxSequences = 1;
  // F32 K/V cache and no flash attention (whose CPU kernel rounds through F16): exact enough to
  // compare with a float64 reference (1e-6 instead of 1e-3); F16 and the backend's choice otherwise.
  bool f32Cache = false;
  // Positions of embedChunk's context (also its batch: a bidirectional model sees a whole input
  // in one batch); 0 = no such context.
  int chunkContext = 0;
  // One pool of cells for all sequences (lastHidden packs many short ones into a batch); false gives
  // each sequence its own nCtx / maxSequences cells, so that one document's query window attends
  // over its own positions, not up to the highest cell any window holds.
  bool unifiedCache = true;
};

// embedChunk's context on the model a LoadedModel owns, freed before it.
struct ChunkContext {
  llama_context* ctx = nullptr;
  llama_batch tokens{};
  int nCtx = 0;

  ChunkContext(llama_model* model, const llama_context_params& cp) {
    ctx = llama_init_from_model(model, cp);
    if (!ctx) throw std::runtime_error(withLlamaReason("failed to create the chunk context"));
    nCtx = static_cast<int>(std::min(llama_n_ctx(ctx), std::min(llama_n_batch(ctx), llama_n_ubatch(ctx))));
    tokens = llama_batch_init(nCtx, 0, 1);
  }
  ~ChunkContext() {
    llama_batch_free(tokens);
    llama_free(ctx);
  }
  ChunkContext(const ChunkContext&) = delete;
  ChunkContext& operator=(const ChunkContext&) = delete;
};

const char* poolingName(enum llama_pooling_type type) {
  switch (type) {
    case LLAMA_POOLING_TYPE_MEAN: return "mean";
    case LLAMA_POOLING_TYPE_CLS: return "cls";
    case LLAMA_POOLING_TYPE_LAST: return "last";
    case LLAMA_POOLING_TYPE_RANK: return "rank";
    default: return "none";
  }
}

// llama.cpp reads the pooling type into the context, which we override with NONE: read the
// model's own from its metadata.
enum llama_pooling_type modelPooling(const llama_model* model, const std::string& arch) {
  std::string value = modelMeta(model, arch + ".pooling_type");
  return value.empty() ? LLAMA_POOLING_TYPE_NONE : static_cast<enum llama_pooling_type>(std::stoi(value));
}

// Bidirectional encoders (BERT and its kin) see the whole input at every position, so no prefix
// of an earlier input can be kept. llama.cpp offers no getter; the GGUF key, when written, says
// it, and these architectures default to non-causal without it.
bool causalAttention(const llama_model* model, const std::string& arch) {
  std::string value = modelMeta(model, arch + ".attention.causal");
  if (!value.empty()) return value == "true" || value == "1";
  static const char* const bidirectional[] = {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3",
                                              "modern-bert", "neo-bert", "t5encoder", "eurobert"};
  return std::none_of(std::begin(bidirectional), std::end(bidirectional), [&](const char* a) { return arch == a; });
}

struct EmbedResult {
  std::vector<float> vector;
  int reused = 0;
  int decoded = 0;
  double ms = 0;
};

class Encoder : public ModelHandle<Encoder> {
 public:
  static constexpr const char* kKind = "encoder";

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Encoder",
                       {
                           InstanceMethod("info", &Encoder::Info),
                           InstanceMethod("tokenize", &Encoder::Tokenize),
                           InstanceMethod("detokenize", &Encoder::Detokenize),
                           InstanceMethod("embedTokens", &Encoder::EmbedTokens),
                           InstanceMethod("embedChunk", &Encoder::EmbedChunk),
                           InstanceMethod("lastHidden", &Encoder::LastHidden),
                           InstanceMethod("resetCache", &Encoder::ResetCache),
                           InstanceMethod("dispose", &Encoder::Dispose),
                       });
  }

  explicit Encoder(const Napi::CallbackInfo& info) : ModelHandle<Encoder>(info) {}

  // Runs on a worker thread.
  void loadNative(const std::string& path, const EncoderOptions& options) {
    ContextOptions sizes = options;
    // At least one position: the encoder has no use for the model's training context.
    sizes.contextSize = std::max(1, options.contextSize);
    auto hiddenStates = [&](llama_context_params& cp) {
      cp.embeddings = true;
      cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
      if (options.f32Cache) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
      }
    };
    m_ = std::make_unique<LoadedModel>(path, sizes, [&](llama_context_params& cp) {
      cp.n_seq_max = static_cast<uint32_t>(std::max(1, options.maxSequences));
      cp.kv_unified = options.unifiedCache;
      hiddenStates(cp);
    });
    if (options.chunkContext > 0) {
      ContextOptions chunkSizes = options;
      chunkSizes.contextSize = options.chunkContext;
      chunkSizes.batchSize = options.chunkContext;
      llama_context_params cp = contextParams(chunkSizes);
      hiddenStates(cp);
      chunk_ = std::make_unique<ChunkContext>(m_->model, cp);
    }
    nEmbdInp_ = m_->nEmbdInp;
    nEmbdOut_ = llama_model_n_embd_out(m_->model);
    std::string arch = modelMeta(m_->model, "general.architecture");
    pooling_ = modelPooling(m_->model, arch);
    causal_ = causalAttention(m_->model, arch);
    nSeqMax_ = static_cast<int>(llama_n_seq_max(m_->ctx));
    windows_.resize(static_cast<size_t>(nSeqMax_));
  }

 private:
  // Copies of m_'s sizes, read on every position.
  int nEmbdInp_ = 0;
  int nEmbdOut_ = 0;
  int nSeqMax_ = 1;
  enum llama_pooling_type pooling_ = LLAMA_POOLING_TYPE_NONE;
  bool causal_ = true;

  // embedTokens' sequence i: whose window it holds, the tokens in its KV cache and their hidden
  // states (nEmbdOut_ each). lastUse 0: free.
  struct Window {
    std::string slot;
    uint64_t lastUse = 0;
    std::vector<llama_token> cached;
    std::vector<float> hidden;
  };
  std::vector<Window> windows_;
  uint64_t clock_ = 0;
  std::unique_ptr<ChunkContext> chunk_;

  void forgetCache() {
    llama_memory_clear(m_->memory(), true);
    for (Window& w : windows_) w = Window{};
  }

  void forgetWindow(int seq, const std::string& slot) {
    llama_memory_seq_rm(m_->memory(), seq, -1, -1);
    windows_[static_cast<size_t>(seq)] = Window{slot};
  }

  // The sequence holding the slot's window, or -1.
  int findWindow(const std::string& slot) const {
    for (size_t i = 0; i < windows_.size(); i++)
      if (windows_[i].lastUse > 0 && windows_[i].slot == slot) return static_cast<int>(i);
    return -1;
  }

  // The sequence holding the slot's window, else a free one, else the least recently used one, emptied.
  int selectWindow(const std::string& slot) {
    int chosen = findWindow(slot);
    if (chosen >= 0) return chosen;
    for (size_t i = 0; i < windows_.size(); i++)
      if (chosen < 0 || windows_[i].lastUse < windows_[static_cast<size_t>(chosen)].lastUse) chosen = static_cast<int>(i);
    forgetWindow(chosen, slot);
    return chosen;
  }

  // Keeps the first `keep` cached positions of sequence seq; returns how many were kept.
  size_t truncateWindow(int seq, size_t keep) {
    Window& w = windows_[static_cast<size_t>(seq)];
    if (keep == 0 || !llama_memory_seq_rm(m_->memory(), seq, static_cast<llama_pos>(keep), -1)) {
      forgetWindow(seq, w.slot);
      return 0;
    }
    w.cached.resize(keep);
    w.hidden.resize(keep * static_cast<size_t>(nEmbdOut_));
    return keep;
  }

  // Decodes tokens[from..] into sequence seq of ctx, nBatch at a time through `batch`, and appends
  // their hidden states to `hidden`. Throws when llama.cpp fails; the caller forgets the cache.
  void decodeTokens(llama_context* ctx, llama_batch& batch, int nBatch, const std::vector<llama_token>& tokens, size_t from,
                    std::vector<float>& hidden, llama_seq_id seq = 0) const {
    for (size_t pos = from; pos < tokens.size();) {
      int n = static_cast<int>(std::min(tokens.size() - pos, static_cast<size_t>(nBatch)));
      for (int i = 0; i < n; i++) {
        batch.token[i] = tokens[pos + i];
        batch.pos[i] = static_cast<llama_pos>(pos + i);
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = seq;
        batch.logits[i] = 1;
      }
      batch.n_tokens = n;
      int rc = llama_decode(ctx, batch);
      if (rc != 0) throw std::runtime_error(withLlamaReason("llama_decode failed with code " + std::to_string(rc)));
      for (int i = 0; i < n; i++) {
        const float* e = llama_get_embeddings_ith(ctx, i);
        if (!e) throw std::runtime_error(withLlamaReason("llama.cpp returned no hidden state"));
        hidden.insert(hidden.end(), e, e + nEmbdOut_);
      }
      pos += static_cast<size_t>(n);
    }
  }

  // The model's pooling of n positions' hidden states.
  std::vector<float> pooled(const std::vector<float>& hidden, size_t n) const {
    const float* first = hidden.data();
    if (pooling_ == LLAMA_POOLING_TYPE_CLS) return std::vector<float>(first, first + nEmbdOut_);
    if (pooling_ == LLAMA_POOLING_TYPE_LAST) {
      const float* last = first + (n - 1) * static_cast<size_t>(nEmbdOut_);
      return std::vector<float>(last, last + nEmbdOut_);
    }
    std::vector<double> sum(static_cast<size_t>(nEmbdOut_), 0.0);
    for (size_t p = 0; p < n; p++) {
      const float* row = first + p * static_cast<size_t>(nEmbdOut_);
      for (int j = 0; j < nEmbdOut_; j++) sum[j] += row[j];
    }
    std::vector<float> out(static_cast<size_t>(nEmbdOut_));
    for (int j = 0; j < nEmbdOut_; j++) out[j] = static_cast<float>(sum[j] / static_cast<double>(n));
    return out;
  }

  EmbedResult embed(const std::vector<llama_token>& tokens, const std::string& slot) {
    auto t0 = std::chrono::steady_clock::now();
    int seq = selectWindow(slot);
    Window& w = windows_[static_cast<size_t>(seq)];
    // Architectures llama.cpp runs without KV memory keep no positions to reuse, causal or not.
    size_t keep = causal_ && m_->memory() ? commonPrefixLength(tokens, w.cached) : 0;
    keep = truncateWindow(seq, keep);
    try {
      decodeTokens(m_->ctx, m_->tokens, m_->nBatch, tokens, keep, w.hidden, seq);
    } catch (...) {
      forgetCache();
      throw;
    }
    w.cached = tokens;
    w.lastUse = ++clock_;
    EmbedResult r;
    r.reused = static_cast<int>(keep);
    r.decoded = static_cast<int>(tokens.size() - keep);
    r.vector = pooled(w.hidden, w.cached.size());
    r.ms = msSince(t0);
    return r;
  }

  EmbedResult embedAlone(const std::vector<llama_token>& tokens) {
    auto t0 = std::chrono::steady_clock::now();
    llama_memory_clear(llama_get_memory(chunk_->ctx), true);
    std::vector<float> hidden;
    hidden.reserve(tokens.size() * static_cast<size_t>(nEmbdOut_));
    decodeTokens(chunk_->ctx, chunk_->tokens, chunk_->nCtx, tokens, 0, hidden);
    EmbedResult r;
    r.decoded = static_cast<int>(tokens.size());
    r.vector = pooled(hidden, tokens.size());
    r.ms = msSince(t0);
    return r;
  }

  // The last hidden state of each sequence; lengths are validated by the caller.
  std::vector<float> lastStates(const std::vector<float>& inputs, const std::vector<int32_t>& lengths) {
    forgetCache();
    std::vector<float> out(lengths.size() * static_cast<size_t>(nEmbdOut_));
    std::vector<int> lastIndex(static_cast<size_t>(nSeqMax_));
    size_t next = 0;
    size_t inputRow = 0;
    while (next < lengths.size()) {
      size_t first = next;
      int rows = 0;
      int packed = 0;
      while (next < lengths.size() && packed < nSeqMax_ && rows + lengths[next] <= m_->nBatch) {
        int len = lengths[next];
        std::memcpy(m_->embd.embd + static_cast<size_t>(rows) * nEmbdInp_, inputs.data() + inputRow * nEmbdInp_,
                    sizeof(float) * static_cast<size_t>(len) * nEmbdInp_);
        for (int p = 0; p < len; p++) {
          int i = rows + p;
          m_->embd.pos[i] = p;
          m_->embd.n_seq_id[i] = 1;
          m_->embd.seq_id[i][0] = packed;
          m_->embd.logits[i] = p == len - 1;
        }
        lastIndex[static_cast<size_t>(packed)] = rows + len - 1;
        rows += len;
        inputRow += static_cast<size_t>(len);
        packed++;
        next++;
      }
      m_->embd.n_tokens = rows;
      int rc = llama_decode(m_->ctx, m_->embd);
      if (rc != 0) {
        forgetCache();
        throw std::runtime_error(withLlamaReason("llama_decode failed with code " + std::to_string(rc)));
      }
      for (int j = 0; j < packed; j++) {
        const float* e = llama_get_embeddings_ith(m_->ctx, lastIndex[static_cast<size_t>(j)]);
        if (!e) throw std::runtime_error(withLlamaReason("llama.cpp returned no hidden state"));
        std::memcpy(out.data() + (first + static_cast<size_t>(j)) * nEmbdOut_, e, sizeof(float) * nEmbdOut_);
      }
      llama_memory_clear(m_->memory(), true);
    }
    return out;
  }

  // --- JS methods -------------------------------------------------------------------------------

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    Napi::Object o = Napi::Object::New(env);
    describeModel(o, m_->model);
    o.Set("nEmbdOut", nEmbdOut_);
    o.Set("nCtx", m_->nCtx);
    o.Set("nBatch", m_->nBatch);
    o.Set("maxSequences", nSeqMax_);
    o.Set("threads", m_->threads);
    o.Set("pooling", poolingName(pooling_));
    o.Set("causal", causal_);
    o.Set("chunkContext", chunk_ ? chunk_->nCtx : 0);
    return o;
  }

  // embedTokens(tokens: Int32Array, slot?: string) -> Promise<{ vector, reused, decoded, ms }>
  Napi::Value EmbedTokens(const Napi::CallbackInfo& info) {
    checkUsable(info.Env());
    // A bidirectional model decodes a whole input in one batch; every slot has its share of the cells.
    int perSlot = m_->nCtx / nSeqMax_;
    auto tokens = readPoolInput(info, "embedTokens", causal_ ? perSlot : std::min(perSlot, m_->nBatch));
    std::string slot = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    return queueEmbed(info.Env(), [this, tokens, slot]() { return embed(*tokens, slot); });
  }

  // embedChunk(tokens: Int32Array) -> Promise<{ vector, reused: 0, decoded, ms }>
  Napi::Value EmbedChunk(const Napi::CallbackInfo& info) {
    checkUsable(info.Env());
    if (!chunk_) throw Napi::Error::New(info.Env(), "embedChunk: this encoder was loaded without a chunk context (chunkContext)");
    auto tokens = readPoolInput(info, "embedChunk", chunk_->nCtx);
    return queueEmbed(info.Env(), [this, tokens]() { return embedAlone(*tokens); });
  }

  // The token ids of an embedTokens / embedChunk call, checked against the model and `limit`.
  std::shared_ptr<std::vector<llama_token>> readPoolInput(const Napi::CallbackInfo& info, const std::string& name, int limit) {
    Napi::Env env = info.Env();
    auto tokens = std::make_shared<std::vector<llama_token>>(readInt32Array(env, info[0], "tokens"));
    if (pooling_ != LLAMA_POOLING_TYPE_MEAN && pooling_ != LLAMA_POOLING_TYPE_CLS && pooling_ != LLAMA_POOLING_TYPE_LAST) {
      throw Napi::Error::New(env, name + " needs a model pooled by mean, cls or last; this one's pooling is " + poolingName(pooling_));
    }
    if (tokens->empty()) throw Napi::RangeError::New(env, name + ": no tokens");
    if (static_cast<int>(tokens->size()) > limit) {
      throw Napi::RangeError::New(env, name + ": " + std::to_string(tokens->size()) + " tokens do not fit the context of " + std::to_string(limit));
    }
    checkTokenIds(env, m_->vocab, *tokens);
    return tokens;
  }

  Napi::Value queueEmbed(Napi::Env env, std::function<EmbedResult()> run) {
    auto result = std::make_shared<EmbedResult>();
    auto* worker = new FnWorker(
        env,
        [this, run, result]() {
          auto lock = lockLive();
          *result = run();
        },
        [result](Napi::Env env) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("vector", toFloat32Array(env, result->vector));
          o.Set("reused", result->reused);
          o.Set("decoded", result->decoded);
          o.Set("ms", result->ms);
          return o;
        });
    return queueWorker(worker, Value());
  }

  // lastHidden(inputs: Float32Array, lengths: Int32Array) -> Promise<Float32Array>
  Napi::Value LastHidden(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    auto inputs = std::make_shared<std::vector<float>>(readFloat32Array(env, info[0], "inputs"));
    auto lengths = std::make_shared<std::vector<int32_t>>(readInt32Array(env, info[1], "lengths"));
    size_t rows = 0;
    for (int32_t len : *lengths) {
      if (len < 1 || len > m_->nBatch) {
        throw Napi::RangeError::New(env, "lastHidden: a sequence of " + std::to_string(len) + " rows (each needs 1.." +
                                             std::to_string(m_->nBatch) + ", the batch size)");
      }
      rows += static_cast<size_t>(len);
    }
    if (inputs->size() != rows * static_cast<size_t>(nEmbdInp_)) {
      throw Napi::RangeError::New(env, "lastHidden: the lengths add up to " + std::to_string(rows) + " rows of " +
                                           std::to_string(nEmbdInp_) + " floats, inputs holds " + std::to_string(inputs->size()));
    }
    auto out = std::make_shared<std::vector<float>>();
    auto* worker = new FnWorker(
        env,
        [this, inputs, lengths, out]() {
          auto lock = lockLive();
          *out = lastStates(*inputs, *lengths);
        },
        [out](Napi::Env env) -> Napi::Value { return toFloat32Array(env, *out); });
    return queueWorker(worker, Value());
  }

  // resetCache(slot?: string) -> Promise<void>: the next embedTokens (in that slot) decodes
  // everything (cold-latency measurements; a warm-up that leaves the other slots' windows alone).
  Napi::Value ResetCache(const Napi::CallbackInfo& info) {
    checkUsable(info.Env());
    bool one = info.Length() > 0 && info[0].IsString();
    std::string slot = one ? info[0].As<Napi::String>().Utf8Value() : "";
    auto* worker = new FnWorker(
        info.Env(),
        [this, one, slot]() {
          auto lock = lockLive();
          if (!one) return forgetCache();
          int seq = findWindow(slot);
          if (seq >= 0) forgetWindow(seq, "");
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    return queueWorker(worker, Value());
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    return disposeOnWorker(info.Env(), [this]() {
      windows_.clear();
      chunk_.reset();
    });
  }
};

}  // namespace

Napi::Function defineEncoder(Napi::Env env) { return Encoder::Init(env); }

Napi::Value loadEncoder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadEncoder(modelPath, options)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Value o = info.Length() > 1 ? info[1] : env.Undefined();
  EncoderOptions options;
  static_cast<ContextOptions&>(options) = readContextOptions(o);
  options.maxSequences = intOption(o, "maxSequences", options.maxSequences);
  options.f32Cache = boolOption(o, "f32Cache", options.f32Cache);
  options.chunkContext = intOption(o, "chunkContext", options.chunkContext);
  options.unifiedCache = boolOption(o, "unifiedCache", options.unifiedCache);
  return loadOnWorker<Encoder>(env, env.GetInstanceData<AddonData>()->encoder,
                               [path, options](Encoder* e) { e->loadNative(path, options); });
}

}  // namespace hef
