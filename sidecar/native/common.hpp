// What every handle of the addon shares: llama.cpp's log chain, loading the ggml backends once,
// the promise-returning worker, and conversions between JS values and native arrays.
#pragma once

#include <napi.h>

#include "llama.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hef {

// The cancellation flag of the request the current thread runs: an aborted llama_decode logs
// errors that are expected after a cancel, and the log chain drops them.
extern thread_local const std::atomic<bool>* t_cancel_flag;

// llama.cpp's error lines logged on this thread since the last call, as one line.
std::string takeErrors();
// `message`, followed by llama.cpp's own reason when it logged one.
std::string withLlamaReason(const std::string& message);

// Installs the log chain and loads the ggml backends (once per process); throws when none loads.
void ensureBackends(const std::string& overrideDir);
// Folder the backends were loaded from, and the folder of the libllama the addon is linked to.
const std::string& loadedBackendDir();
std::string linkedBackendDir();
Napi::Array deviceNames(Napi::Env env);

double msSince(std::chrono::steady_clock::time_point t0);
// Length of `s` without a trailing unfinished UTF-8 character: a lead byte and the continuation
// bytes that fit it, fewer than it announces, so that more bytes could still complete it (what a
// streaming UTF-8 decoder holds back). Invalid bytes at the end are kept: nothing could complete
// them, and like invalid bytes anywhere they become U+FFFD when the text becomes a JS string.
size_t completeUtf8Length(const std::string& s);

// Empty when the value is undefined or null.
std::vector<float> readFloat32Array(const Napi::Env& env, const Napi::Value& value, const char* what);
std::vector<int32_t> readInt32Array(const Napi::Env& env, const Napi::Value& value, const char* what);
std::vector<llama_token> readTokens(const Napi::Env& env, const Napi::Value& value, const char* what);
Napi::Float32Array toFloat32Array(Napi::Env env, const std::vector<float>& values);

int intOption(const Napi::Value& options, const char* key, int fallback);
bool boolOption(const Napi::Value& options, const char* key, bool fallback);
std::string stringOption(const Napi::Value& options, const char* key);

// Runs `execute` on libuv's thread pool and settles a promise: resolved with `resolve`'s value, or
// rejected with the message of what `execute` threw. `done` runs on the JS thread either way.
class FnWorker : public Napi::AsyncWorker {
 public:
  FnWorker(Napi::Env env, std::function<void()> execute, std::function<Napi::Value(Napi::Env)> resolve,
           std::function<void()> done = nullptr);
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(const Napi::Object& object) { keep_ = Napi::Persistent(object); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> execute_;
  std::function<Napi::Value(Napi::Env)> resolve_;
  std::function<void()> done_;
  Napi::ObjectReference keep_;
};

// Starts `worker`, keeping `owner` (the handle whose native state it uses) alive until it settles.
Napi::Promise queueWorker(FnWorker* worker, const Napi::Object& owner);

// Constructors of the addon's classes, per environment (main thread or worker thread).
struct AddonData {
  Napi::FunctionReference generator;
  Napi::FunctionReference encoder;
  Napi::FunctionReference adapter;
};

// A new instance of class T whose blocking `load` runs on the thread pool; the promise resolves
// with the instance once it is usable.
template <class T>
Napi::Promise loadOnWorker(Napi::Env env, Napi::FunctionReference& constructor, std::function<void(T*)> load) {
  Napi::Object object = constructor.New({});
  T* instance = T::Unwrap(object);
  auto ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(object));
  auto* worker = new FnWorker(env, [instance, load]() { load(instance); }, [ref](Napi::Env) -> Napi::Value { return ref->Value(); });
  return queueWorker(worker, object);
}

}  // namespace hef
