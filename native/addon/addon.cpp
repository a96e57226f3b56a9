// Module entry: exports every registered binding, each wrapped so that no C++ exception can
// escape into Node (an escaping c10::Error would abort the process) and every error is thrown as
// an IrRcnnError. Init runs once per environment (the main thread, each worker thread).
#include "addon/args.h"
#include "addon/binding.h"
#include "addon/cpu_allocator.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <link.h>

#include <climits>
#include <cstdlib>
#ifdef IR_RCNN_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace ir_rcnn::addon {
namespace {

Napi::Value dispatch(const Napi::CallbackInfo& info) {
  const auto* binding = static_cast<const Registered*>(info.Data());
  try {
    return binding->fn(info);
  } catch (const Napi::Error&) {
    throw;  // a JS exception (an IrRcnnError made here, or one thrown by JS code we called)
  } catch (...) {
    throw jsError(info.Env(), describeException(std::current_exception()));
  }
}

// setErrorClass(IrRcnnError): the constructor every error of this instance is made with.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Value ctor = Args(info, "setErrorClass").at(0);
  if (!ctor.js().IsFunction()) ctor.fail("expected the IrRcnnError class");
  instanceData(info.Env()).errorClass = Napi::Persistent(ctor.js().As<Napi::Function>());
  return info.Env().Undefined();
}
IR_RCNN_BINDING("setErrorClass", SetErrorClass);

// setNumThreads(n): the intra-op threads of this instance's jobs.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  instanceData(info.Env()).threads = static_cast<int>(Args(info, "setNumThreads").at(0).integer().range(1, 1024));
  return info.Env().Undefined();
}
IR_RCNN_BINDING("setNumThreads", SetNumThreads);

// The shared libraries loaded into this process, resolved through their symlinks: which BLAS
// (OpenBLAS, MKL or the reference one) actually serves LibTorch is decided by the dynamic linker
// (Debian's alternatives, LD_LIBRARY_PATH), not by how LibTorch was built.
Out loadedLibraries() {
  std::vector<std::string> paths;
  dl_iterate_phdr(
      [](dl_phdr_info* library, size_t, void* data) {
        char resolved[PATH_MAX];
        if (library->dlpi_name && library->dlpi_name[0] && realpath(library->dlpi_name, resolved))
          static_cast<std::vector<std::string>*>(data)->push_back(resolved);
        return 0;
      },
      &paths);
  Out list = Out::list({});
  for (const auto& path : paths) list.push(path);
  return list;
}

// This addon's own file, as the dynamic linker loaded it.
std::string addonPath() {
  Dl_info self;
  return dladdr(reinterpret_cast<void*>(&loadedLibraries), &self) && self.dli_fname ? self.dli_fname : "";
}

Out gpuNames() {
  Out names = Out::list({});
#ifdef IR_RCNN_WITH_CUDA
  for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i)
    names.push(std::string(at::cuda::getDeviceProperties(i)->name));
#endif
  return names;
}

Napi::Value TorchInfo(const Napi::CallbackInfo& info) {
  Out out = Out::object();
  const auto& cudaHooks = at::detail::getCUDAHooks();
  out.set("torchVersion", std::string(TORCH_VERSION));
  out.set("intraOpThreads", static_cast<double>(instanceData(info.Env()).threads));
  out.set("cudaAvailable", torch::cuda::is_available());
  out.set("cudaDevices", static_cast<double>(torch::cuda::device_count()));
  out.set("gpus", gpuNames());
  // CUDA runtime and cuDNN versions as numbers (12040 = 12.4, 90100 = 9.1.0); 0 without them.
  out.set("cudaRuntimeVersion", cudaHooks.hasCUDA() ? static_cast<double>(cudaHooks.versionCUDART()) : 0.0);
  out.set("cudnnVersion", cudaHooks.hasCuDNN() ? static_cast<double>(cudaHooks.versionCuDNN()) : 0.0);
#ifdef IR_RCNN_WITH_CUDA
  out.set("cudaKernels", true);
#else
  out.set("cudaKernels", false);
#endif
  // Our kernels' at::parallel_for is compiled here: with an OpenMP Torch it needs -fopenmp too.
#if !AT_PARALLEL_OPENMP || defined(_OPENMP)
  out.set("parallelKernels", true);
#else
  out.set("parallelKernels", false);
#endif
  const CpuCacheInfo cache = cpuCacheInfo();
  out.set("cpuCache", Out::object()
                          .set("capacityBytes", static_cast<double>(cache.capacityBytes))
                          .set("cachedBytes", static_cast<double>(cache.cachedBytes))
                          .set("cachedBlocks", static_cast<double>(cache.cachedBlocks))
                          .set("inUseBytes", static_cast<double>(cache.inUseBytes))
                          .set("workingSetBytes", static_cast<double>(cache.workingSetBytes))
                          .set("hits", cache.hits)
                          .set("misses", cache.misses)
                          .set("evictedBytes", cache.evictedBytes));
  out.set("interOpThreads", static_cast<double>(at::get_num_interop_threads()));
  out.set("parallelInfo", at::get_parallel_info());
  out.set("loadedLibraries", loadedLibraries());
  out.set("addonPath", addonPath());
  out.set("buildConfig", at::show_config());  // BLAS, LAPACK, MKL-DNN, CPU capability
  return out.toJS(info.Env());
}
IR_RCNN_BINDING("torchInfo", TorchInfo);

// oneDNN (the convolutions) and ideep each keep up to 1024 compiled primitives by default, one per
// layer and input shape: with images of many sizes that grows a detector process by ~80 MB that
// no call uses again. 128 keep the last two image sizes of an R50-FPN. Read on their first use,
// so set before any; a value the user set is kept.
void boundPrimitiveCaches() {
  setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "128", /*overwrite=*/0);
  setenv("LRU_CACHE_CAPACITY", "128", /*overwrite=*/0);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  boundPrimitiveCaches();
  installCpuCache();
  instanceData(env);
  for (const auto& binding : registeredBindings())
    exports.Set(binding.name, Napi::Function::New(env, dispatch, binding.name, const_cast<Registered*>(&binding)));
  return exports;
}

}  // namespace ir_rcnn::addon

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ir_rcnn::addon::Init(env, exports); }
NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
