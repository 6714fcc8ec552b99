// The Encoder class: a llama.cpp model run for its hidden states instead of its logits.
#pragma once

#include <napi.h>

namespace hef {

Napi::Function defineEncoder(Napi::Env env);
// loadEncoder(modelPath, { threads, gpuLayers, contextSize, batchSize, maxSequences, f32Cache, chunkContext, backendDir })
//   -> Promise<Encoder>
Napi::Value loadEncoder(const Napi::CallbackInfo& info);

}  // namespace hef
