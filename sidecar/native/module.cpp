// HEF native addon (hef_native.node): llama.cpp handles the node-llama-cpp API cannot offer,
// built against the headers of the llama.cpp release node-llama-cpp ships and linked against its
// own prebuilt libllama/libggml, so both share one build and backend.
//   Generator: a code generator whose prompt may start with pseudo-tokens (llama_batch.embd).
//   Encoder:   per-token hidden states: incremental pooled query embeddings, the fuser's last states.
//   Adapter:   the HEF adapter's projector and fuser projections as ggml graphs.
#include <napi.h>

#include "adapter.hpp"
#include "common.hpp"
#include "encoder.hpp"
#include "generator.hpp"

namespace hef {
namespace {

Napi::Value backendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("linkedDir", linkedBackendDir());
  o.Set("loadedDir", loadedBackendDir());
  o.Set("systemInfo", std::string(llama_print_system_info()));
  return o;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function generator = defineGenerator(env);
  Napi::Function encoder = defineEncoder(env);
  Napi::Function adapter = defineAdapter(env);
  data->generator = Napi::Persistent(generator);
  data->encoder = Napi::Persistent(encoder);
  data->adapter = Napi::Persistent(adapter);
  // Freed with the environment (main thread or worker thread).
  env.SetInstanceData<AddonData>(data);
  exports.Set("Generator", generator);
  exports.Set("Encoder", encoder);
  exports.Set("Adapter", adapter);
  exports.Set("load", Napi::Function::New(env, loadGenerator));
  exports.Set("loadEncoder", Napi::Function::New(env, loadEncoder));
  exports.Set("loadAdapter", Napi::Function::New(env, loadAdapter));
  exports.Set("backendInfo", Napi::Function::New(env, backendInfo));
  return exports;
}

}  // namespace
}  // namespace hef

// NODE_API_MODULE pastes the name into identifiers: it must be unqualified.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return hef::init(env, exports); }

NODE_API_MODULE(hef_native, InitModule)
