import { availableParallelism } from "node:os";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { type Backend, DEFAULT_BACKEND } from "../../common/settings";

// What a backend setting means to each runtime, in one place: node-llama-cpp's GPU choice and layers,
// the addon's layers, the adapter maps' device.

/** Layers a model on node-llama-cpp offloads: as many as fit ("auto") unless the CPU is asked for. */
export function llamaGpuLayers(backend: Backend): 0 | "auto" {
  return backend === "cpu" ? 0 : "auto";
}

/** Layers a model on the addon offloads: all of them (-1) unless the CPU is asked for. */
export function gpuLayersOf(backend: Backend): number {
  return backend === "cpu" ? 0 : -1;
}

/** Where the adapter's maps run (AdapterOps): the generator's GPU when there is one, unless the CPU is asked for. */
export function adapterDeviceOf(backend: Backend): "gpu" | "cpu" {
  return backend === "cpu" ? "cpu" : "gpu";
}

const runtimes = new Map<Backend, Promise<Llama>>();

/**
 * One llama.cpp runtime per backend for the whole process. Never builds from source: a machine
 * without a matching prebuilt binary gets node-llama-cpp's error, not a 10-minute compile.
 */
export function llamaRuntime(backend: Backend = DEFAULT_BACKEND): Promise<Llama> {
  let runtime = runtimes.get(backend);
  if (!runtime) {
    runtime = getLlama({
      gpu: backend === "cpu" ? false : "auto",
      build: "never",
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
      // node-llama-cpp defaults to at least 4 threads; on a 2-core machine that is 4x slower, not faster.
      maxThreads: availableParallelism(),
    });
    runtimes.set(backend, runtime);
  }
  return runtime;
}

/** The backend's name as users know it: CPU, CUDA, Vulkan or Metal. */
export function backendName(llama: Llama): string {
  switch (llama.gpu) {
    case "cuda":
      return "CUDA";
    case "vulkan":
      return "Vulkan";
    case "metal":
      return "Metal";
    default:
      return "CPU";
  }
}

/** Below this many bytes of weights a token's work is too small to split across threads. */
const SMALL_MODEL_BYTES = 64 * 2 ** 20;

/**
 * Threads for a model of this size. ggml's threads spin-wait on each other after every
 * operation: for a tiny model the wait dominates (a second thread measured anywhere from 1.7x
 * faster to 10x slower, depending on other load), for a real one it halves prefill time.
 */
export function defaultThreads(modelBytes: number): number {
  return modelBytes < SMALL_MODEL_BYTES ? 1 : availableParallelism();
}
