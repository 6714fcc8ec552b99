#include "adapter_file.hpp"

#include "common.hpp"

#include <sys/stat.h>

#include <stdexcept>

namespace hef {
namespace {

std::string shapeText(const ggml_tensor* t) {
  std::string s = "[";
  for (int i = 0; i < ggml_n_dims(t); i++) s += (i ? ", " : "") + std::to_string(t->ne[i]);
  return s + "]";
}

}  // namespace

AdapterFile::~AdapterFile() {
  if (meta) ggml_free(meta);
  if (gguf) gguf_free(gguf);
}

size_t AdapterFile::dataOffset(const ggml_tensor* tensor) const {
  return gguf_get_data_offset(gguf) + gguf_get_tensor_offset(gguf, gguf_find_tensor(gguf, ggml_get_name(tensor)));
}

void AdapterFile::open(const std::string& filePath) {
  path = filePath;
  auto fail = [&](const std::string& problem) { throw std::runtime_error(path + ": " + problem); };
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail("adapter file not found");
  if (!S_ISREG(st.st_mode)) fail("not a file");
  size_t size = static_cast<size_t>(st.st_size);
  gguf_init_params params{true, &meta};
  gguf = gguf_init_from_file(path.c_str(), params);
  if (!gguf) {
    std::string reason = takeErrors();
    fail(std::string(size < 24 ? "empty or truncated" : "truncated or not a GGUF file") + (reason.empty() ? "" : " (" + reason + ")"));
  }
  int64_t archKey = gguf_find_key(gguf, "general.architecture");
  std::string arch = archKey >= 0 && gguf_get_kv_type(gguf, archKey) == GGUF_TYPE_STRING ? gguf_get_val_str(gguf, archKey) : "";
  if (arch != "hef-adapter") fail("not a HEF adapter (general.architecture is \"" + arch + "\", expected \"hef-adapter\")");
  for (int64_t i = 0; i < gguf_get_n_tensors(gguf); i++) {
    ggml_tensor* t = ggml_get_tensor(meta, gguf_get_tensor_name(gguf, i));
    size_t end = dataOffset(t) + ggml_nbytes(t);
    if (end > size) fail("truncated: tensor " + std::string(ggml_get_name(t)) + " ends at byte " + std::to_string(end) + ", the file has " + std::to_string(size));
  }

  // Each expected tensor: its dims as names and, once known, sizes (0 = take it from this tensor).
  auto expect = [&](const char* name, std::vector<const char*> dimNames, std::vector<int64_t*> dims) -> ggml_tensor* {
    ggml_tensor* t = ggml_get_tensor(meta, name);
    std::string wanted = "[";
    for (size_t i = 0; i < dimNames.size(); i++) wanted += std::string(i ? ", " : "") + dimNames[i] + (*dims[i] ? "=" + std::to_string(*dims[i]) : "");
    wanted += "]";
    if (!t) fail(std::string("missing tensor ") + name + " " + wanted);
    if (ggml_n_dims(t) != static_cast<int>(dims.size())) {
      fail(std::string(name) + ": expected " + std::to_string(dims.size()) + " dims " + wanted + ", found " + std::to_string(ggml_n_dims(t)) + " dims " + shapeText(t));
    }
    for (size_t i = 0; i < dims.size(); i++) {
      if (*dims[i] != 0 && *dims[i] != t->ne[i]) fail(std::string(name) + ": expected shape " + wanted + ", found " + shapeText(t));
    }
    for (size_t i = 0; i < dims.size(); i++) *dims[i] = t->ne[i];
    if (t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16) {
      fail(std::string(name) + ": type " + ggml_type_name(t->type) + ", expected F32 or F16");
    }
    return t;
  };
  expect("proj.w1", {"d", "hidden"}, {&dims.d, &dims.hidden});
  expect("proj.b1", {"hidden"}, {&dims.hidden});
  expect("proj.w2", {"hidden", "d_g"}, {&dims.hidden, &dims.dG});
  expect("proj.b2", {"d_g"}, {&dims.dG});
  const char* fuser[] = {"fuser.in.w", "fuser.in.b", "fuser.out.w"};
  bool anyFuser = false;
  for (const char* name : fuser) anyFuser = anyFuser || ggml_get_tensor(meta, name) != nullptr;
  if (anyFuser) {
    expect("fuser.in.w", {"d", "d_f"}, {&dims.d, &dims.dF});
    expect("fuser.in.b", {"d_f"}, {&dims.dF});
    expect("fuser.out.w", {"d_f", "d"}, {&dims.dF, &dims.d});
  }
}

}  // namespace hef
