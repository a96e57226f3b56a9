// cudaPeakMemory({ device, reset }): the most bytes the CUDA caching allocator held for tensors on
// the device since the last reset, as torch.cuda.max_memory_allocated() reports it (the bench puts
// the two side by side). reset: true starts a new measurement and returns 0.
#include "addon/binding.h"

#ifdef IR_RCNN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ir_rcnn::addon {
namespace {

Napi::Value CudaPeakMemory(const Napi::CallbackInfo& info) {
  Napi::Object options = argObject(info, 0, "cudaPeakMemory");
  const c10::Device device = opDevice(options, "cudaPeakMemory");
  if (!device.is_cuda()) throw UserError("cudaPeakMemory.device: expected 'cuda' or 'cuda:N'");
#ifdef IR_RCNN_WITH_CUDA
  namespace allocator = c10::cuda::CUDACachingAllocator;
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::cuda::current_device();
  if (optBool(options, "reset", false)) {
    allocator::resetPeakStats(index);
    return Napi::Number::New(info.Env(), 0);
  }
  // Stat 0 is the aggregate over the small and large pools (StatType::AGGREGATE in every version).
  const auto peak = allocator::getDeviceStats(index).allocated_bytes[0].peak;
  return Napi::Number::New(info.Env(), static_cast<double>(peak));
#else
  throw UserError("cudaPeakMemory: this addon was built without the CUDA kernels");
#endif
}
IR_RCNN_BINDING("cudaPeakMemory", CudaPeakMemory);

}  // namespace
}  // namespace ir_rcnn::addon
