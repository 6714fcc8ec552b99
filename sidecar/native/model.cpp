#include "model.hpp"

#include "common.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace hef {

LoadedModel::LoadedModel(const std::string& path, const ContextOptions& options, const std::function<void(llama_context_params&)>& configure) {
  ensureBackends(options.backendDir);
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = options.gpuLayers;
  model = llama_model_load_from_file(path.c_str(), mp);
  if (!model) throw std::runtime_error(withLlamaReason("failed to load model " + path));
  llama_context_params cp = contextParams(options);
  configure(cp);
  ctx = llama_init_from_model(model, cp);
  if (!ctx) {
    // The destructor does not run for a constructor that throws.
    std::string message = withLlamaReason("failed to create a llama.cpp context for " + path);
    llama_model_free(model);
    throw std::runtime_error(message);
  }
  vocab = llama_model_get_vocab(model);
  nEmbdInp = llama_model_n_embd_inp(model);
  nCtx = static_cast<int>(llama_n_ctx(ctx));
  nBatch = static_cast<int>(std::min(llama_n_batch(ctx), llama_n_ubatch(ctx)));
  threads = llama_n_threads(ctx);
  tokens = llama_batch_init(nBatch, 0, 1);
  embd = llama_batch_init(nBatch, nEmbdInp, 1);
}

LoadedModel::~LoadedModel() {
  llama_batch_free(tokens);
  llama_batch_free(embd);
  llama_free(ctx);
  llama_model_free(model);
}

ContextOptions readContextOptions(const Napi::Value& options, ContextOptions defaults) {
  ContextOptions o = defaults;
  o.threads = intOption(options, "threads", o.threads);
  o.gpuLayers = intOption(options, "gpuLayers", o.gpuLayers);
  o.contextSize = intOption(options, "contextSize", o.contextSize);
  o.batchSize = intOption(options, "batchSize", o.batchSize);
  o.backendDir = stringOption(options, "backendDir");
  return o;
}

llama_context_params contextParams(const ContextOptions& options) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(std::max(0, options.contextSize));
  int batch = std::max(1, options.batchSize);
  if (options.contextSize > 0) batch = std::min(batch, options.contextSize);
  cp.n_batch = static_cast<uint32_t>(batch);
  cp.n_ubatch = static_cast<uint32_t>(batch);
  if (options.threads > 0) {
    cp.n_threads = options.threads;
    cp.n_threads_batch = options.threads;
  }
  cp.no_perf = true;
  return cp;
}

std::string modelMeta(const llama_model* model, const std::string& key) {
  char buf[512];
  int n = llama_model_meta_val_str(model, key.c_str(), buf, sizeof(buf));
  return n < 0 ? std::string() : std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

Napi::Value tokenize(const Napi::CallbackInfo& info, const llama_vocab* vocab) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "tokenize(text, addSpecial, parseSpecial)");
  std::string text = info[0].As<Napi::String>().Utf8Value();
  bool addSpecial = info.Length() > 1 && info[1].ToBoolean().Value();
  bool parseSpecial = info.Length() > 2 && info[2].ToBoolean().Value();
  std::vector<llama_token> out(text.size() + 8);
  auto run = [&]() {
    return llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out.data(), static_cast<int32_t>(out.size()), addSpecial, parseSpecial);
  };
  int n = run();
  if (n < 0) {
    if (n == INT32_MIN) throw Napi::Error::New(env, "tokenize: text too long");
    out.resize(static_cast<size_t>(-n));
    n = run();
    if (n < 0) throw Napi::Error::New(env, "tokenize failed");
  }
  Napi::Int32Array result = Napi::Int32Array::New(env, static_cast<size_t>(n));
  std::memcpy(result.Data(), out.data(), sizeof(llama_token) * static_cast<size_t>(n));
  return result;
}

void checkTokenIds(const Napi::Env& env, const llama_vocab* vocab, const std::vector<llama_token>& tokens) {
  int nVocab = llama_vocab_n_tokens(vocab);
  for (llama_token t : tokens) {
    if (t < 0 || t >= nVocab) throw Napi::RangeError::New(env, "token id " + std::to_string(t) + " is outside the vocabulary");
  }
}

Napi::Value detokenize(const Napi::CallbackInfo& info, const llama_vocab* vocab) {
  Napi::Env env = info.Env();
  std::vector<llama_token> tokens = readTokens(env, info[0], "tokens");
  bool removeSpecial = info.Length() > 1 && info[1].ToBoolean().Value();
  bool unparseSpecial = info.Length() > 2 && info[2].ToBoolean().Value();
  checkTokenIds(env, vocab, tokens);
  std::string text(tokens.size() * 8 + 16, '\0');
  auto run = [&]() {
    return llama_detokenize(vocab, tokens.data(), static_cast<int32_t>(tokens.size()), text.data(), static_cast<int32_t>(text.size()), removeSpecial, unparseSpecial);
  };
  int n = run();
  if (n < 0) {
    text.resize(static_cast<size_t>(-n));
    n = run();
    if (n < 0) throw Napi::Error::New(env, "detokenize failed");
  }
  text.resize(static_cast<size_t>(n));
  return Napi::String::New(env, text);
}

std::string tokenPiece(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  int n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, false);
  if (n >= 0) return std::string(buf, n);
  std::string big(static_cast<size_t>(-n), '\0');
  n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
  return n >= 0 ? big.substr(0, n) : std::string();
}

void describeModel(Napi::Object& o, const llama_model* model) {
  Napi::Env env = o.Env();
  const llama_vocab* vocab = llama_model_get_vocab(model);
  o.Set("nEmbd", llama_model_n_embd(model));
  o.Set("nEmbdInp", llama_model_n_embd_inp(model));
  o.Set("nVocab", llama_vocab_n_tokens(vocab));
  o.Set("nCtxTrain", llama_model_n_ctx_train(model));
  o.Set("nLayer", llama_model_n_layer(model));
  o.Set("addBos", llama_vocab_get_add_bos(vocab));
  o.Set("addEos", llama_vocab_get_add_eos(vocab));
  char desc[256];
  llama_model_desc(model, desc, sizeof(desc));
  o.Set("description", std::string(desc));
  o.Set("backendDir", loadedBackendDir());
  o.Set("devices", deviceNames(env));
  Napi::Object t = Napi::Object::New(env);
  t.Set("bos", llama_vocab_bos(vocab));
  t.Set("eos", llama_vocab_eos(vocab));
  t.Set("eot", llama_vocab_eot(vocab));
  t.Set("sep", llama_vocab_sep(vocab));
  t.Set("pad", llama_vocab_pad(vocab));
  t.Set("fimPre", llama_vocab_fim_pre(vocab));
  t.Set("fimSuf", llama_vocab_fim_suf(vocab));
  t.Set("fimMid", llama_vocab_fim_mid(vocab));
  t.Set("fimPad", llama_vocab_fim_pad(vocab));
  t.Set("fimRep", llama_vocab_fim_rep(vocab));
  t.Set("fimSep", llama_vocab_fim_sep(vocab));
  o.Set("tokens", t);
}

size_t commonPrefixLength(const std::vector<llama_token>& a, const std::vector<llama_token>& b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

}  // namespace hef
