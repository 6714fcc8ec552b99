// One Generator owns one model and one context. Every request that decodes runs on the thread
// pool and holds the generator's mutex, so requests on one handle run one at a time. The context
// holds one KV sequence per recent slot (a document: requests name it), in one unified pool of
// n_ctx cells, the least recently used slot giving way when a request needs its cells; within a
// slot the longest common prefix with the slot's previous request, and after it the runs of the
// previous tokens that reappear in the request at another position (moved there, not decoded
// again), are reused.
#include "generator.hpp"

#include "common.hpp"
#include "model.hpp"
#include "token_embeddings.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace hef {
namespace {

struct GeneratorOptions : ContextOptions {
  // Shortest run of cached tokens moved to where it reappears instead of decoded again; 0 = never.
  int cacheReuse = 0;
  // Slots (KV sequences) kept at once.
  int sequences = 1;
};

// What one KV sequence holds: positions [0, K) are pseudo-tokens, [K, K+T) tokens.
struct Sequence {
  std::string slot;
  uint64_t lastUse = 0;
  std::vector<float> pseudo;
  std::vector<llama_token> tokens;
};

// A run of the previous request's tokens that reappears in this one: request tokens [at, at + n)
// are cached tokens [from, from + n).
struct Run {
  int at = 0;
  int from = 0;
  int n = 0;
};

struct EvalOutcome {
  int reused = 0;
  int decoded = 0;
  bool cancelled = false;
  double prefillMs = 0;
};

enum class StopReason { Eog, Stop, MaxTokens, Time, Cancelled, Context };

// eogAfterContent passes over an end among the first this many tokens only.
constexpr size_t kBlankTokensBeforeEnd = 4;

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

class Generator : public ModelHandle<Generator> {
 public:
  static constexpr const char* kKind = "generator";

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

  explicit Generator(const Napi::CallbackInfo& info) : ModelHandle<Generator>(info) {}

  // Runs on a worker thread: loads model and context.
  void loadNative(const std::string& path, const GeneratorOptions& options) {
    const int slots = std::max(1, options.sequences);
    m_ = std::make_unique<LoadedModel>(path, options, [&](llama_context_params& cp) {
      // Two more sequences than slots: the spare ones hold runs of cached tokens while they move.
      cp.n_seq_max = static_cast<uint32_t>(slots + 2);
      // One pool of cells: a slot may use the whole context when the others give way.
      cp.kv_unified = true;
      cp.abort_callback = &Generator::abortCallback;
      cp.abort_callback_data = this;
    });
    nEmbd_ = m_->nEmbdInp;
    nVocab_ = llama_vocab_n_tokens(m_->vocab);
    nCtx_ = m_->nCtx;
    seqs_.resize(slots);
    parked_ = slots;
    moving_ = slots + 1;
    cacheReuse_ = llama_memory_can_shift(m_->memory()) ? std::max(0, options.cacheReuse) : 0;
    embeddingTable_ = std::make_unique<TokenEmbeddingTable>(path, nEmbd_);
  }

 private:
  std::unique_ptr<TokenEmbeddingTable> embeddingTable_;
  // Copies of m_'s sizes, read on every position.
  int nEmbd_ = 0;
  int nVocab_ = 0;
  int nCtx_ = 0;
  int cacheReuse_ = 0;

  // The most likely token that writes text: neither an end nor a control token (FIM markers and the
  // like show as nothing, so the output would stay blank).
  llama_token bestTextToken(const float* logits) const {
    llama_token best = -1;
    for (llama_token t = 0; t < nVocab_; t++) {
      if (llama_vocab_is_eog(m_->vocab, t) || llama_vocab_is_control(m_->vocab, t)) continue;
      if (best < 0 || logits[t] > logits[best]) best = t;
    }
    if (best < 0) throw std::runtime_error("no token of the vocabulary writes text");
    return best;
  }

  // Sequence i of the KV cache is seqs_[i]; the running request uses seqs_[cur_].
  std::vector<Sequence> seqs_;
  int cur_ = 0;
  // The spare sequences reuseTokens moves runs through; empty between requests.
  int parked_ = 0;
  int moving_ = 0;
  uint64_t uses_ = 0;

  // Cancellation: one flag per request id, and the flag of the request now decoding (for the
  // abort callback, which llama.cpp polls between graph nodes).
  std::mutex flagsMutex_;
  std::unordered_map<int64_t, std::shared_ptr<std::atomic<bool>>> flags_;
  std::atomic<std::atomic<bool>*> currentFlag_{nullptr};

  static bool abortCallback(void* data) {
    auto* self = static_cast<Generator*>(data);
    std::atomic<bool>* flag = self->currentFlag_.load();
    return flag != nullptr && flag->load();
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

  int length(const Sequence& s) const { return static_cast<int>(s.pseudo.size() / nEmbd_ + s.tokens.size()); }
  int cachedLength() const { return length(seqs_[cur_]); }

  // Empties sequence i of the KV cache; `slot` is what it holds from now on.
  void forget(int i, const std::string& slot) {
    llama_memory_seq_rm(m_->memory(), i, -1, -1);
    seqs_[i] = Sequence{slot, 0, {}, {}};
  }

  // Makes the sequence of `slot` current (a free one, or the least recently used one, when the slot
  // has none), and empties the least recently used others until `needed` positions of it fit.
  void selectSlot(const std::string& slot, int needed) {
    auto lru = [&](auto pick) {
      int best = -1;
      for (int i = 0; i < static_cast<int>(seqs_.size()); i++) {
        if (pick(i) && (best < 0 || seqs_[i].lastUse < seqs_[best].lastUse)) best = i;
      }
      return best;
    };
    int found = lru([&](int i) { return seqs_[i].slot == slot && seqs_[i].lastUse > 0; });
    if (found < 0) {
      found = lru([](int) { return true; });
      forget(found, slot);
    }
    cur_ = found;
    seqs_[cur_].lastUse = ++uses_;
    int others = 0;
    for (int i = 0; i < static_cast<int>(seqs_.size()); i++) others += i == cur_ ? 0 : length(seqs_[i]);
    while (others + needed > nCtx_) {
      int victim = lru([&](int i) { return i != cur_ && length(seqs_[i]) > 0; });
      others -= length(seqs_[victim]);
      forget(victim, "");
    }
  }

  // Drops everything in the KV cache from position `keep` on, and the bookkeeping with it.
  void truncateCache(int keep) {
    llama_memory_t mem = m_->memory();
    Sequence& seq = seqs_[cur_];
    int k = static_cast<int>(seq.pseudo.size() / nEmbd_);
    if (keep < cachedLength() && !llama_memory_seq_rm(mem, cur_, keep, -1)) {
      forget(cur_, seq.slot);
      return;
    }
    if (keep <= k) {
      seq.pseudo.resize(static_cast<size_t>(keep) * nEmbd_);
      seq.tokens.clear();
    } else {
      seq.tokens.resize(static_cast<size_t>(keep - k));
    }
  }

  // After the common prefix `head`, the runs of at least cacheReuse_ cached tokens that come back
  // in the request, in order, none of them past `limit`. The request is read from `head` on: at
  // each position the first cached run (after the last one taken) of at least cacheReuse_ tokens
  // that starts there is taken, else the position is to be decoded. A run found at `head` itself,
  // later in the cache, is a prefix window that slid (its first lines dropped); one found later in
  // the request is text typed before it (in prefix-suffix-middle, the suffix after the prefix).
  std::vector<Run> findRuns(const std::vector<llama_token>& cached, const std::vector<llama_token>& tokens, int head, int limit) const {
    std::vector<Run> runs;
    if (cacheReuse_ <= 0) return runs;
    std::unordered_map<llama_token, std::vector<int>> where;
    for (int i = head; i < static_cast<int>(cached.size()); i++) where[cached[i]].push_back(i);
    int unused = head;
    int at = head;
    while (at + cacheReuse_ <= limit) {
      Run run{at, 0, 0};
      auto found = where.find(tokens[at]);
      if (found != where.end()) {
        auto from = std::lower_bound(found->second.begin(), found->second.end(), unused);
        for (; from != found->second.end() && run.n == 0; ++from) {
          int n = 0;
          while (*from + n < static_cast<int>(cached.size()) && at + n < limit && cached[*from + n] == tokens[at + n]) n++;
          if (n >= cacheReuse_) run = Run{at, *from, n};
        }
      }
      if (run.n == 0) {
        at++;
        continue;
      }
      runs.push_back(run);
      at += run.n;
      unused = run.from + run.n;
    }
    return runs;
  }

  // The request's pseudo-tokens are those in the cache: keeps the tokens' longest common prefix
  // and, after it, moves each run of findRuns to its position in the request instead of decoding
  // it again (llama_memory_seq_add re-rotates its keys), as llama-server's --cache-reuse does, and
  // decodes the request's tokens between them. A moved position keeps the keys and values it had
  // with the tokens before it in the previous request (lines since dropped, or fewer characters
  // typed), so it is close to, not equal to, decoding it again (equal in a one-layer model). Only
  // tokens move: after a changed pseudo-token (other retrieved context) everything is decoded
  // again. At most `limit` tokens are kept; adds the positions it decodes to `decoded`; returns 0,
  // or llama_decode's failure code, and the cache holds exactly [pseudo, tokens[0, kept)] after it
  // (after a failure, what it kept followed by the runs it had not placed yet).
  //
  // llama_decode accepts a sequence's tokens only at the position after the last one it holds,
  // so a run that moves later (tokens typed before it) cannot wait in the slot's sequence while
  // the tokens before it are decoded. Instead the runs are parked in a spare sequence at their
  // old positions, the slot's sequence is cut after the common prefix, and run after run the
  // tokens before it are decoded and the run is moved alone (through the second spare sequence,
  // so that its shift touches no other run's cells) to its place and handed back to the slot's
  // sequence. The causal mask compares positions, not the order of cells, so a run's cells may
  // lie anywhere in the pool.
  int reuseTokens(const std::vector<float>& pseudo, const std::vector<llama_token>& tokens, int limit, int& decoded) {
    llama_memory_t mem = m_->memory();
    Sequence& seq = seqs_[cur_];
    const int K = static_cast<int>(seq.pseudo.size() / nEmbd_);
    const int head = std::min(static_cast<int>(commonPrefixLength(tokens, seq.tokens)), limit);
    const std::vector<llama_token> cached = seq.tokens;
    const std::vector<Run> runs = findRuns(cached, tokens, head, limit);
    for (const Run& run : runs) llama_memory_seq_cp(mem, cur_, parked_, K + run.from, K + run.from + run.n);
    seq.tokens.resize(head);
    if (!llama_memory_seq_rm(mem, cur_, K + head, -1)) {
      llama_memory_seq_rm(mem, parked_, -1, -1);
      forget(cur_, seq.slot);
      return 0;
    }
    const int N = K + static_cast<int>(tokens.size());
    int rc = 0;
    size_t placed = 0;
    for (; placed < runs.size(); placed++) {
      rc = decodeRange(pseudo, tokens, cachedLength(), K + runs[placed].at, N, decoded);
      if (rc != 0) break;
      placeRun(runs[placed], runs[placed].at, cached);
    }
    // Cancelled before every run was placed (a keystroke stops the speculation of the suggestion
    // before it): the runs left follow what was built instead of being dropped, so that the next
    // request, which has them too, moves them again rather than decoding them.
    for (size_t i = placed; i < runs.size(); i++) placeRun(runs[i], cachedLength() - K, cached);
    return rc;
  }

  // Moves a run parked by reuseTokens to token position `at` of the slot's sequence, right after
  // what it holds; `cached` holds the run's tokens at its old positions.
  void placeRun(const Run& run, int at, const std::vector<llama_token>& cached) {
    llama_memory_t mem = m_->memory();
    const int K = static_cast<int>(seqs_[cur_].pseudo.size() / nEmbd_);
    llama_memory_seq_cp(mem, parked_, moving_, K + run.from, K + run.from + run.n);
    llama_memory_seq_rm(mem, parked_, K + run.from, K + run.from + run.n);
    llama_memory_seq_add(mem, moving_, K + run.from, K + run.from + run.n, at - run.from);
    llama_memory_seq_cp(mem, moving_, cur_, -1, -1);
    llama_memory_seq_rm(mem, moving_, -1, -1);
    std::vector<llama_token>& held = seqs_[cur_].tokens;
    held.insert(held.end(), cached.begin() + run.from, cached.begin() + run.from + run.n);
  }

  // Decodes positions [from, to) of the request (`from` is the cached length); logits for the last
  // position when it is total-1. Adds the positions decoded to `decoded`; returns 0, or
  // llama_decode's failure code. The bookkeeping only grows by whole batches.
  int decodeRange(const std::vector<float>& pseudo, const std::vector<llama_token>& tokens, int from, int to, int total, int& decoded) {
    int K = static_cast<int>(pseudo.size() / nEmbd_);
    int pos = from;
    while (pos < to) {
      bool isPseudo = pos < K;
      int end = std::min(to, isPseudo ? K : to);
      int n = std::min(m_->nBatch, end - pos);
      llama_batch& b = isPseudo ? m_->embd : m_->tokens;
      for (int i = 0; i < n; i++) {
        int p = pos + i;
        if (isPseudo) {
          std::memcpy(b.embd + static_cast<size_t>(i) * nEmbd_, pseudo.data() + static_cast<size_t>(p) * nEmbd_, sizeof(float) * nEmbd_);
        } else {
          b.token[i] = tokens[p - K];
        }
        b.pos[i] = p;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = cur_;
        b.logits[i] = (p == total - 1) ? 1 : 0;
      }
      b.n_tokens = n;
      int rc = llama_decode(m_->ctx, b);
      if (rc != 0) {
        // Aborted or fatal decodes may leave part of the batch in the cache; drop it.
        llama_memory_seq_rm(m_->memory(), cur_, pos, -1);
        return rc;
      }
      Sequence& seq = seqs_[cur_];
      if (isPseudo) {
        seq.pseudo.insert(seq.pseudo.end(), pseudo.begin() + static_cast<size_t>(pos) * nEmbd_,
                             pseudo.begin() + static_cast<size_t>(pos + n) * nEmbd_);
      } else {
        seq.tokens.insert(seq.tokens.end(), tokens.begin() + (pos - K), tokens.begin() + (pos - K + n));
      }
      decoded += n;
      pos += n;
    }
    return 0;
  }

  // Brings the slot's KV sequence to exactly [pseudo, tokens], reusing what it can of what it
  // holds, with room for `room` more positions, and leaves the logits of the last position in the
  // context. Runs on a worker thread.
  EvalOutcome prefill(const std::string& slot, const std::vector<float>& pseudo, const std::vector<llama_token>& tokens, int room) {
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
    selectSlot(slot, N + std::clamp(room, 0, nCtx_ - N));
    // Longest common prefix: pseudo-token vectors bit-exactly, then (only if all pseudo-tokens
    // match, count included) the tokens.
    const Sequence& seq = seqs_[cur_];
    int cachedK = static_cast<int>(seq.pseudo.size() / nEmbd_);
    int lcp = 0;
    int kk = std::min(K, cachedK);
    while (lcp < kk && std::memcmp(pseudo.data() + static_cast<size_t>(lcp) * nEmbd_, seq.pseudo.data() + static_cast<size_t>(lcp) * nEmbd_,
                                   sizeof(float) * nEmbd_) == 0) {
      lcp++;
    }
    // The last position is always decoded again: its logits are the answer.
    int rc = 0;
    if (lcp == K && K == cachedK && T > 0) {
      rc = reuseTokens(pseudo, tokens, T - 1, out.decoded);
    } else {
      truncateCache(std::min(lcp, N - 1));
    }
    if (rc == 0) rc = decodeRange(pseudo, tokens, cachedLength(), N, N, out.decoded);
    out.reused = cachedLength() - out.decoded;
    out.prefillMs = msSince(t0);
    if (rc == 2) {
      out.cancelled = true;
      return out;
    }
    if (rc != 0) throw std::runtime_error(withLlamaReason("llama_decode failed with code " + std::to_string(rc)));
    return out;
  }

  std::vector<float> lastLogits() {
    const float* logits = llama_get_logits_ith(m_->ctx, -1);
    if (!logits) throw std::runtime_error("llama.cpp returned no logits");
    return std::vector<float>(logits, logits + nVocab_);
  }

  // --- JS methods -------------------------------------------------------------------------------

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    Napi::Object o = Napi::Object::New(env);
    describeModel(o, m_->model);
    o.Set("nCtx", nCtx_);
    o.Set("nBatch", m_->nBatch);
    o.Set("threads", m_->threads);
    o.Set("cacheReuse", cacheReuse_);
    o.Set("sequences", static_cast<int>(seqs_.size()));
    return o;
  }

  Napi::Value TokenEmbeddingRows(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    auto ids = std::make_shared<std::vector<llama_token>>(readTokens(env, info[0], "tokenIds"));
    checkTokenIds(env, m_->vocab, *ids);
    auto rows = std::make_shared<std::vector<float>>();
    auto* worker = new FnWorker(
        env, [this, ids, rows]() { *rows = embeddingTable_->rows(*ids); },
        [rows](Napi::Env env) -> Napi::Value { return toFloat32Array(env, *rows); });
    return queueWorker(worker, Value());
  }

  // evaluate({ pseudo, tokens, slot }, requestId) -> Promise<{ logits, reused, decoded, prefillMs, cancelled }>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checkUsable(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "evaluate({ pseudo, tokens }, requestId)");
    Napi::Object request = info[0].As<Napi::Object>();
    auto pseudo = std::make_shared<std::vector<float>>(readFloat32Array(env, request.Get("pseudo"), "pseudo"));
    auto tokens = std::make_shared<std::vector<llama_token>>(readTokens(env, request.Get("tokens"), "tokens"));
    std::string slot = stringOption(request, "slot");
    int64_t id = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : -1;
    auto flag = registerFlag(id);
    auto outcome = std::make_shared<EvalOutcome>();
    auto logits = std::make_shared<std::vector<float>>();
    auto* worker = new FnWorker(
        env,
        [this, slot, pseudo, tokens, flag, outcome, logits]() {
          auto lock = lockLive();
          if (flag->load()) {
            outcome->cancelled = true;
            return;
          }
          currentFlag_.store(flag.get());
          t_cancel_flag = flag.get();
          try {
            *outcome = prefill(slot, *pseudo, *tokens, 0);
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
          o.Set("logits", toFloat32Array(env, *logits));
          o.Set("reused", outcome->reused);
          o.Set("decoded", outcome->decoded);
          o.Set("prefillMs", outcome->prefillMs);
          o.Set("cancelled", outcome->cancelled);
          return o;
        },
        [this, id]() { unregisterFlag(id); });
    return queueWorker(worker, Value());
  }

  struct GenerateResult {
    EvalOutcome prompt;
    std::string text;
    std::vector<llama_token> generated;
    StopReason reason = StopReason::MaxTokens;
    double decodeMs = 0;
  };

  // generate({ pseudo, tokens, slot, maxTokens, stop, timeLimitMs, ignoreEog, eogAfterContent }, requestId) -> Promise<result>
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
    bool eogAfterContent = request.Get("eogAfterContent").ToBoolean().Value();
    std::string slot = stringOption(request, "slot");
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
        [this, slot, pseudo, tokens, maxTokens, timeLimitMs, ignoreEog, eogAfterContent, stops, flag, result]() {
          auto lock = lockLive();
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
          result->prompt = prefill(slot, *pseudo, *tokens, maxTokens);
          if (result->prompt.cancelled) {
            result->reason = StopReason::Cancelled;
            return;
          }
          auto td = std::chrono::steady_clock::now();
          size_t maxStop = 0;
          for (const auto& s : *stops) maxStop = std::max(maxStop, s.size());
          int K = static_cast<int>(pseudo->size() / nEmbd_);
          int pos = K + static_cast<int>(tokens->size());
          const float* logits = llama_get_logits_ith(m_->ctx, -1);
          // The output is kept as bytes while it grows: a byte-level BPE token may end inside a
          // multi-byte UTF-8 character whose other bytes come with the next tokens, so a piece is
          // never text on its own. The bytes become a JS string once, at the end.
          std::string& text = result->text;
          while (true) {
            if (flag->load()) { result->reason = StopReason::Cancelled; break; }
            if (static_cast<int>(result->generated.size()) >= maxTokens) { result->reason = StopReason::MaxTokens; break; }
            if (!logits) throw std::runtime_error("llama.cpp returned no logits");
            llama_token best = static_cast<llama_token>(std::max_element(logits, logits + nVocab_) - logits);
            if (!ignoreEog && llama_vocab_is_eog(m_->vocab, best)) {
              // Passed over only while the output is blank and short: a model that keeps wanting to end
              // after a few blank tokens (newlines, indentation) is let end.
              bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
              bool pass = eogAfterContent && blank && result->generated.size() < kBlankTokensBeforeEnd;
              if (!pass) { result->reason = StopReason::Eog; break; }
              best = bestTextToken(logits);
            }
            result->generated.push_back(best);
            size_t before = text.size();
            text += tokenPiece(m_->vocab, best);
            // Stops count only after the first non-blank character: a line completion right
            // after `def f():` starts with a newline that must not end it empty. They are matched
            // on bytes, which is matching on characters: a stop string is well-formed UTF-8 (it
            // comes from a JS string), so its first byte never continues a character and a match
            // starts where a character starts.
            size_t content = text.find_first_not_of(" \t\r\n");
            if (maxStop > 0 && content != std::string::npos) {
              size_t from = before >= maxStop - 1 ? before - (maxStop - 1) : 0;
              from = std::max(from, content);
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
            logits = llama_get_logits_ith(m_->ctx, -1);
          }
          // Whatever ended the output (the token limit, a stop string, the time limit, ...), it
          // ends with a whole character: a character the last tokens only began is dropped, not
          // turned into U+FFFD (its token stays in `generated`). Before a stop string that can only
          // be a character the model broke off itself; it is dropped too, so that the text's end
          // is one rule. Invalid bytes elsewhere (a lead byte followed by no continuation, a stray
          // continuation byte) are the model's own output and become U+FFFD, as a UTF-8 decoder
          // makes them: dropping them would silently change what it wrote.
          text.resize(completeUtf8Length(text));
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
    return queueWorker(worker, Value());
  }

  // Decodes one generated token at `pos` (which must equal the cached length) and records it.
  int decodeOne(llama_token token, int pos) {
    m_->tokens.token[0] = token;
    m_->tokens.pos[0] = pos;
    m_->tokens.n_seq_id[0] = 1;
    m_->tokens.seq_id[0][0] = cur_;
    m_->tokens.logits[0] = 1;
    m_->tokens.n_tokens = 1;
    int rc = llama_decode(m_->ctx, m_->tokens);
    if (rc != 0) {
      llama_memory_seq_rm(m_->memory(), cur_, pos, -1);
      return rc;
    }
    seqs_[cur_].tokens.push_back(token);
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
          auto lock = lockLive();
          llama_memory_clear(m_->memory(), true);
          for (Sequence& seq : seqs_) seq = Sequence{};
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    return queueWorker(worker, Value());
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    {
      std::lock_guard<std::mutex> lock(flagsMutex_);
      for (auto& entry : flags_) entry.second->store(true);
    }
    return disposeOnWorker(env, [this]() { seqs_.clear(); });
  }
};

}  // namespace

Napi::Function defineGenerator(Napi::Env env) { return Generator::Init(env); }

Napi::Value loadGenerator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "load(modelPath, options)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Value o = info.Length() > 1 ? info[1] : env.Undefined();
  GeneratorOptions options;
  static_cast<ContextOptions&>(options) = readContextOptions(o);
  options.cacheReuse = intOption(o, "cacheReuse", options.cacheReuse);
  options.sequences = intOption(o, "sequences", options.sequences);
  return loadOnWorker<Generator>(env, env.GetInstanceData<AddonData>()->generator,
                                 [path, options](Generator* g) { g->loadNative(path, options); });
}

}  // namespace hef
