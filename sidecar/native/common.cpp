#include "common.hpp"

#include "ggml-backend.h"
#include "ggml.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#if defined(_WIN32)
#error "hef_native: Windows is not supported yet (needs import libraries and another way to find the backend folder)"
#else
#include <dlfcn.h>
#endif

namespace hef {

// ---------------------------------------------------------------------------------------------
// Logging: llama.cpp logs to one process-wide callback (shared with node-llama-cpp's addon when
// both are loaded). We chain to whatever callback was installed before us, forward only messages
// at or above a threshold (HEF_LLAMA_LOG=debug|info|warn|error|none, default error), and keep the
// error lines a worker thread produced so that failures can carry llama.cpp's own reason.

namespace {

ggml_log_callback g_prev_log = nullptr;
void* g_prev_log_data = nullptr;
int g_log_threshold = GGML_LOG_LEVEL_ERROR;
thread_local std::string t_errors;
thread_local int t_last_level = GGML_LOG_LEVEL_INFO;

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

}  // namespace

thread_local const std::atomic<bool>* t_cancel_flag = nullptr;

std::string takeErrors() {
  std::string e;
  e.swap(t_errors);
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  // One line: errors are shown as one sentence.
  for (size_t at = e.find('\n'); at != std::string::npos; at = e.find('\n', at)) e.replace(at, 1, "; ");
  return e;
}

std::string withLlamaReason(const std::string& message) {
  std::string reason = takeErrors();
  return reason.empty() ? message : message + " (llama.cpp: " + reason + ")";
}

void ensureBackends(const std::string& overrideDir) {
  std::call_once(g_backend_once, [&]() {
    llama_log_get(&g_prev_log, &g_prev_log_data);
    g_log_threshold = parseLogThreshold();
    llama_log_set(logCallback, nullptr);
    std::string dir = overrideDir.empty() ? linkedBackendDir() : overrideDir;
    g_backend_dir = dir;
    // Backends already registered (e.g. by node-llama-cpp in this process) are not registered twice.
    ggml_backend_load_all_from_path(dir.empty() ? nullptr : dir.c_str());
    llama_backend_init();
    if (ggml_backend_dev_count() == 0) {
      g_backend_error = "no ggml backend could be loaded from " + (dir.empty() ? std::string("the default search path") : dir);
    }
  });
  if (!g_backend_error.empty()) throw std::runtime_error(g_backend_error);
}

const std::string& loadedBackendDir() { return g_backend_dir; }

std::string linkedBackendDir() { return libraryDirOf(reinterpret_cast<const void*>(&llama_backend_init)); }

Napi::Array deviceNames(Napi::Env env) {
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    devices.Set(static_cast<uint32_t>(i), std::string(ggml_backend_dev_name(ggml_backend_dev_get(i))));
  }
  return devices;
}

// ---------------------------------------------------------------------------------------------

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

namespace {

// Bytes of the UTF-8 sequence `lead` starts; 0 when it starts none (a continuation byte, C0, C1, F5-FF).
size_t utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF5 ? 4 : 0;
}

// Whether `c` may follow `lead` in a well-formed sequence (Unicode table 3-7: after E0 and F0 no
// overlong form, after ED no surrogate, after F4 nothing above U+10FFFF).
bool validSecondByte(unsigned char lead, unsigned char c) {
  switch (lead) {
    case 0xE0: return c >= 0xA0 && c <= 0xBF;
    case 0xED: return c >= 0x80 && c <= 0x9F;
    case 0xF0: return c >= 0x90 && c <= 0xBF;
    case 0xF4: return c >= 0x80 && c <= 0x8F;
    default: return c >= 0x80 && c <= 0xBF;
  }
}

}  // namespace

size_t completeUtf8Length(const std::string& s) {
  size_t n = s.size();
  // An unfinished character starts at most 3 bytes from the end, at the last byte that is not a
  // continuation byte (10xxxxxx).
  for (size_t k = 1; k <= 3 && k <= n; k++) {
    auto lead = static_cast<unsigned char>(s[n - k]);
    if ((lead & 0xC0) == 0x80) continue;
    // Complete, or no start at all (invalid bytes that no later byte could make a character).
    if (utf8SequenceLength(lead) <= k) return n;
    // The bytes after the lead are continuation bytes; the first of them must also fit the lead.
    if (k >= 2 && !validSecondByte(lead, static_cast<unsigned char>(s[n - k + 1]))) return n;
    return n - k;
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

std::vector<int32_t> readInt32Array(const Napi::Env& env, const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array");
  }
  auto array = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(array.Data(), array.Data() + array.ElementLength());
}

std::vector<llama_token> readTokens(const Napi::Env& env, const Napi::Value& value, const char* what) {
  std::vector<llama_token> out;
  if (value.IsUndefined() || value.IsNull()) return out;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    return readInt32Array(env, value, what);
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

Napi::Float32Array toFloat32Array(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array out = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), sizeof(float) * values.size());
  return out;
}

int intOption(const Napi::Value& options, const char* key, int fallback) {
  if (!options.IsObject()) return fallback;
  Napi::Value v = options.As<Napi::Object>().Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

bool boolOption(const Napi::Value& options, const char* key, bool fallback) {
  if (!options.IsObject()) return fallback;
  Napi::Value v = options.As<Napi::Object>().Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

std::string stringOption(const Napi::Value& options, const char* key) {
  if (!options.IsObject()) return "";
  Napi::Value v = options.As<Napi::Object>().Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}

// ---------------------------------------------------------------------------------------------

FnWorker::FnWorker(Napi::Env env, std::function<void()> execute, std::function<Napi::Value(Napi::Env)> resolve,
                   std::function<void()> done)
    : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), execute_(std::move(execute)),
      resolve_(std::move(resolve)), done_(std::move(done)) {}

void FnWorker::Execute() {
  takeErrors();
  try {
    execute_();
  } catch (const std::exception& e) {
    SetError(e.what());
  } catch (...) {
    SetError("unknown native error");
  }
}

void FnWorker::OnOK() {
  if (done_) done_();
  Napi::Env env = Env();
  try {
    deferred_.Resolve(resolve_(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void FnWorker::OnError(const Napi::Error& error) {
  if (done_) done_();
  deferred_.Reject(error.Value());
}

Napi::Promise queueWorker(FnWorker* worker, const Napi::Object& owner) {
  worker->Keep(owner);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace hef
