// Module entry: exports every registered binding, each wrapped so that no C++ exception can
// escape into Node (an escaping c10::Error would abort the process).
#include "addon/binding.h"
#include "addon/cpu_allocator.h"

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

Napi::Value TorchInfo(const Napi::CallbackInfo& info) {
  Out out = Out::object();
  out.set("torchVersion", std::string(TORCH_VERSION));
  out.set("intraOpThreads", static_cast<double>(intraOpThreads()));
  out.set("cudaAvailable", torch::cuda::is_available());
  out.set("cudaDevices", static_cast<double>(torch::cuda::device_count()));
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
  out.set("parallelInfo", at::get_parallel_info());
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
