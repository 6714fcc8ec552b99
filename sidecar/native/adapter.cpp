// An Adapter holds the weights of a HEF adapter file in a ggml backend buffer, on the device the
// generator runs on (the GPU when there is one and it is allowed, else the CPU), and computes its
// three maps with one ggml graph per call, all rows of the call in one matrix product:
//   project  p = W2 · GELU_erf(W1 · z + b1) + b2   (paper 3.5; the exact GELU of torch.nn.GELU())
//   fuserIn  W_in · x + b_in                        (paper 3.3, embedder space to the fuser's)
//   fuserOut W_out · h                              (the fuser's last state back to embedder space)
// The maps are small (a few K rows per completion), so they run synchronously on the JS thread.
#include "adapter.hpp"

#include "adapter_file.hpp"
#include "common.hpp"

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hef {
namespace {

struct AdapterOptions {
  bool gpu = true;
  int threads = 0;
  std::string backendDir;
};

enum class Map { Project, FuserIn, FuserOut };

ggml_backend_t initBackend(bool gpu, int threads) {
  ggml_backend_dev_t dev = gpu ? ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU) : nullptr;
  if (!dev) dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!dev) throw std::runtime_error("no ggml CPU backend is loaded");
  ggml_backend_t backend = ggml_backend_dev_init(dev, nullptr);
  if (!backend) throw std::runtime_error(withLlamaReason(std::string("cannot start the ggml backend ") + ggml_backend_dev_name(dev)));
  // The CPU backend lives in a dynamically loaded library: reach its thread setting through the registry.
  auto setThreads = reinterpret_cast<ggml_backend_set_n_threads_t>(
      ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(dev), "ggml_backend_set_n_threads"));
  if (setThreads && threads > 0) setThreads(backend, threads);
  return backend;
}

class Adapter : public Napi::ObjectWrap<Adapter> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Adapter",
                       {
                           InstanceMethod("info", &Adapter::Info),
                           InstanceMethod("project", &Adapter::Project),
                           InstanceMethod("fuserIn", &Adapter::FuserIn),
                           InstanceMethod("fuserOut", &Adapter::FuserOut),
                           InstanceMethod("dispose", &Adapter::Dispose),
                       });
  }

  explicit Adapter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Adapter>(info) {}
  ~Adapter() override { freeAll(); }

  // Runs on a worker thread: checks the file, then copies every tensor into a backend buffer.
  void loadNative(const std::string& path, const AdapterOptions& options) {
    ensureBackends(options.backendDir);
    file_.open(path);
    backend_ = initBackend(options.gpu, options.threads);
    weights_ = ggml_backend_alloc_ctx_tensors(file_.meta, backend_);
    if (!weights_) throw std::runtime_error(withLlamaReason(path + ": cannot allocate the adapter weights on " + ggml_backend_name(backend_)));
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error(path + ": cannot open");
    std::unique_ptr<FILE, int (*)(FILE*)> closer(f, &std::fclose);
    std::vector<uint8_t> bytes;
    for (ggml_tensor* t = ggml_get_first_tensor(file_.meta); t; t = ggml_get_next_tensor(file_.meta, t)) {
      bytes.resize(ggml_nbytes(t));
      if (fseeko(f, static_cast<off_t>(file_.dataOffset(t)), SEEK_SET) != 0 || std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
        throw std::runtime_error(path + ": cannot read tensor " + ggml_get_name(t));
      }
      ggml_backend_tensor_set(t, bytes.data(), 0, bytes.size());
    }
    allocator_ = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend_));
  }

 private:
  AdapterFile file_;
  ggml_backend_t backend_ = nullptr;
  ggml_backend_buffer_t weights_ = nullptr;
  // Reused across calls: it keeps its compute buffer and grows it when a call needs more rows.
  ggml_gallocr_t allocator_ = nullptr;

  void freeAll() {
    if (allocator_) ggml_gallocr_free(allocator_);
    if (weights_) ggml_backend_buffer_free(weights_);
    if (backend_) ggml_backend_free(backend_);
    allocator_ = nullptr;
    weights_ = nullptr;
    backend_ = nullptr;
  }

  ggml_tensor* weight(const char* name) { return ggml_get_tensor(file_.meta, name); }

  // Biases may be stored as F16; the sums are F32.
  ggml_tensor* addBias(ggml_context* ctx, ggml_tensor* x, const char* name) {
    ggml_tensor* b = weight(name);
    return ggml_add(ctx, x, b->type == GGML_TYPE_F32 ? b : ggml_cast(ctx, b, GGML_TYPE_F32));
  }

  ggml_tensor* build(ggml_context* ctx, Map map, ggml_tensor* x) {
    switch (map) {
      case Map::Project: {
        ggml_tensor* h = ggml_gelu_erf(ctx, addBias(ctx, ggml_mul_mat(ctx, weight("proj.w1"), x), "proj.b1"));
        return addBias(ctx, ggml_mul_mat(ctx, weight("proj.w2"), h), "proj.b2");
      }
      case Map::FuserIn:
        return addBias(ctx, ggml_mul_mat(ctx, weight("fuser.in.w"), x), "fuser.in.b");
      case Map::FuserOut:
        return ggml_mul_mat(ctx, weight("fuser.out.w"), x);
    }
    return nullptr;
  }

  int64_t inputDim(Map map) const { return map == Map::FuserOut ? file_.dims.dF : file_.dims.d; }
  int64_t outputDim(Map map) const { return map == Map::Project ? file_.dims.dG : map == Map::FuserIn ? file_.dims.dF : file_.dims.d; }

  std::vector<float> compute(Map map, const std::vector<float>& input, int64_t rows) {
    ggml_init_params params{ggml_tensor_overhead() * 16 + ggml_graph_overhead(), nullptr, true};
    std::unique_ptr<ggml_context, void (*)(ggml_context*)> ctx(ggml_init(params), &ggml_free);
    ggml_tensor* x = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, inputDim(map), rows);
    ggml_set_input(x);
    ggml_tensor* y = build(ctx.get(), map, x);
    ggml_set_output(y);
    ggml_cgraph* graph = ggml_new_graph(ctx.get());
    ggml_build_forward_expand(graph, y);
    if (!ggml_gallocr_alloc_graph(allocator_, graph)) throw std::runtime_error(withLlamaReason("cannot allocate the adapter's compute buffer"));
    ggml_backend_tensor_set(x, input.data(), 0, sizeof(float) * input.size());
    if (ggml_backend_graph_compute(backend_, graph) != GGML_STATUS_SUCCESS) {
      throw std::runtime_error(withLlamaReason(std::string("the adapter graph failed on ") + ggml_backend_name(backend_)));
    }
    std::vector<float> out(static_cast<size_t>(outputDim(map) * rows));
    ggml_backend_tensor_get(y, out.data(), 0, sizeof(float) * out.size());
    return out;
  }

  // project / fuserIn / fuserOut (input: Float32Array, rows) -> Float32Array of rows x output dim
  Napi::Value run(const Napi::CallbackInfo& info, Map map, const char* name) {
    Napi::Env env = info.Env();
    if (!backend_) throw Napi::Error::New(env, "the adapter has been disposed");
    if (map != Map::Project && file_.dims.dF == 0) throw Napi::Error::New(env, name + std::string(": ") + file_.path + " has no learned fuser");
    std::vector<float> input = readFloat32Array(env, info[0], "input");
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, std::string(name) + "(input, rows)");
    int64_t rows = info[1].As<Napi::Number>().Int64Value();
    if (rows < 1 || static_cast<int64_t>(input.size()) != rows * inputDim(map)) {
      throw Napi::RangeError::New(env, std::string(name) + ": expected " + std::to_string(rows) + " rows of " + std::to_string(inputDim(map)) +
                                           " floats, got " + std::to_string(input.size()) + " floats");
    }
    try {
      return toFloat32Array(env, compute(map, input, rows));
    } catch (const std::runtime_error& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value Project(const Napi::CallbackInfo& info) { return run(info, Map::Project, "project"); }
  Napi::Value FuserIn(const Napi::CallbackInfo& info) { return run(info, Map::FuserIn, "fuserIn"); }
  Napi::Value FuserOut(const Napi::CallbackInfo& info) { return run(info, Map::FuserOut, "fuserOut"); }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!backend_) throw Napi::Error::New(env, "the adapter has been disposed");
    Napi::Object o = Napi::Object::New(env);
    o.Set("backend", std::string(ggml_backend_name(backend_)));
    o.Set("d", static_cast<double>(file_.dims.d));
    o.Set("hidden", static_cast<double>(file_.dims.hidden));
    o.Set("dG", static_cast<double>(file_.dims.dG));
    o.Set("dF", static_cast<double>(file_.dims.dF));
    o.Set("hasFuser", file_.dims.dF != 0);
    Napi::Array tensors = Napi::Array::New(env);
    for (ggml_tensor* t = ggml_get_first_tensor(file_.meta); t; t = ggml_get_next_tensor(file_.meta, t)) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("name", std::string(ggml_get_name(t)));
      Napi::Array shape = Napi::Array::New(env);
      for (int i = 0; i < ggml_n_dims(t); i++) shape.Set(static_cast<uint32_t>(i), static_cast<double>(t->ne[i]));
      entry.Set("shape", shape);
      entry.Set("type", std::string(ggml_type_name(t->type)));
      tensors.Set(tensors.Length(), entry);
    }
    o.Set("tensors", tensors);
    return o;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    freeAll();
    return info.Env().Undefined();
  }
};

}  // namespace

Napi::Function defineAdapter(Napi::Env env) { return Adapter::Init(env); }

Napi::Value loadAdapter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadAdapter(path, options)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Value o = info.Length() > 1 ? info[1] : env.Undefined();
  AdapterOptions options;
  options.gpu = boolOption(o, "gpu", options.gpu);
  options.threads = intOption(o, "threads", options.threads);
  options.backendDir = stringOption(o, "backendDir");
  return loadOnWorker<Adapter>(env, env.GetInstanceData<AddonData>()->adapter,
                               [path, options](Adapter* a) { a->loadNative(path, options); });
}

}  // namespace hef
