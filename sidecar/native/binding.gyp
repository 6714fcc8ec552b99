{
  # Built by scripts/build-native.mjs, which passes:
  #   llama_include: <llama.cpp checkout>/include     (llama.h of the release node-llama-cpp ships)
  #   ggml_include:  <llama.cpp checkout>/ggml/include
  #   llama_bins:    the bins folder of the installed @node-llama-cpp/<platform> package
  #   llama_libs:    space-separated file names of libllama / libggml / libggml-base in it
  #   llama_bins_rel: llama_bins relative to build/Release (rpath that survives moving the checkout)
  "variables": {
    "llama_include%": "",
    "ggml_include%": "",
    "llama_bins%": "",
    "llama_libs%": "",
    "llama_bins_rel%": ".",
  },
  "targets": [
    {
      "target_name": "hef_native",
      "sources": ["module.cpp", "common.cpp", "model.cpp", "token_embeddings.cpp", "generator.cpp", "encoder.cpp", "adapter_file.cpp", "adapter.cpp"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(llama_include)",
        "<(ggml_include)",
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": [
            "<!@(node -e \"for (const f of process.argv[1].split(' ')) console.log(require('path').join(process.argv[2], f))\" \"<(llama_libs)\" \"<(llama_bins)\")",
            "-ldl",
          ],
          "ldflags": [
            "-Wl,-rpath,'$$ORIGIN/<(llama_bins_rel)'",
            "-Wl,-rpath,<(llama_bins)",
            "-Wl,--no-as-needed",
          ],
        }],
        ["OS=='mac'", {
          "libraries": [
            "<!@(node -e \"for (const f of process.argv[1].split(' ')) console.log(require('path').join(process.argv[2], f))\" \"<(llama_libs)\" \"<(llama_bins)\")",
          ],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_LDFLAGS": ["-Wl,-rpath,@loader_path/<(llama_bins_rel)", "-Wl,-rpath,<(llama_bins)"],
          },
        }],
      ],
    },
  ],
}
