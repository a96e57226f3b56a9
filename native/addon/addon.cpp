// Module entry: exports every registered binding, each wrapped so that no C++ exception can
// escape into Node (an escaping c10::Error would abort the process).
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
  auto fn = reinterpret_cast<BindingFn>(info.Data());
  try {
    return fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(info.Env(), describeException(std::current_exception()));
  }
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw UserError("setNumThreads: expected a number");
  double n = info[0].As<Napi::Number>().DoubleValue();
  if (n != std::floor(n) || n < 1 || n > 1024) throw UserError("setNumThreads: expected an integer in [1, 1024]");
  setIntraOpThreads(static_cast<int>(n));
  applyThreadSettings();
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
  out.set("intraOpThreads", static_cast<double>(intraOpThreads()));
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
                          .set("cachedBytes", static_cast<double>(cache.cachedBytes)));
  out.set("interOpThreads", static_cast<double>(at::get_num_interop_threads()));
  out.set("parallelInfo", at::get_parallel_info());
  out.set("loadedLibraries", loadedLibraries());
  out.set("addonPath", addonPath());
  out.set("buildConfig", at::show_config());  // BLAS, LAPACK, MKL-DNN, CPU capability
  return out.toJS(info.Env());
}
IR_RCNN_BINDING("torchInfo", TorchInfo);

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installCpuCache();
  for (const auto& [name, fn] : registeredBindings())
    exports.Set(name, Napi::Function::New(env, dispatch, name, reinterpret_cast<void*>(fn)));
  return exports;
}

}  // namespace ir_rcnn::addon

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ir_rcnn::addon::Init(env, exports); }
NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
