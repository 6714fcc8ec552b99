// The Generator class: a llama.cpp code generator whose prompt may start with pseudo-tokens.
#pragma once

#include <napi.h>

namespace hef {

Napi::Function defineGenerator(Napi::Env env);
// load(modelPath, { threads, gpuLayers, contextSize, batchSize, backendDir }) -> Promise<Generator>
Napi::Value loadGenerator(const Napi::CallbackInfo& info);

}  // namespace hef
