// The Adapter class: the HEF adapter's projector and fuser projections, computed with ggml.
#pragma once

#include <napi.h>

namespace hef {

Napi::Function defineAdapter(Napi::Env env);
// loadAdapter(path, { gpu, threads, backendDir }) -> Promise<Adapter>
Napi::Value loadAdapter(const Napi::CallbackInfo& info);

}  // namespace hef
