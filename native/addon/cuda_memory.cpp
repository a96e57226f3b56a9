// cudaPeakMemory({ device, reset }): the most bytes the CUDA caching allocator held for tensors on
// the device since the last reset, as torch.cuda.max_memory_allocated() reports it (the bench puts
// the two side by side). reset: true starts a new measurement and returns 0.
#include "addon/args.h"
#include "addon/binding.h"

#ifdef IR_RCNN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ir_rcnn::addon {
namespace {

Napi::Value CudaPeakMemory(const Napi::CallbackInfo& info) {
  Object options = Args(info, "cudaPeakMemory").object(0);
  Value deviceArg = options.get("device");
  const c10::Device device = deviceArg.device();
  [[maybe_unused]] const bool reset = options.boolean("reset");  // read in every build: the options are checked alike
  options.done();
  if (!device.is_cuda()) deviceArg.fail("expected 'cuda' or 'cuda:N'", ErrorCode::Device);
#ifdef IR_RCNN_WITH_CUDA
  namespace allocator = c10::cuda::CUDACachingAllocator;
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::cuda::current_device();
  if (reset) {
    allocator::resetPeakStats(index);
    return Napi::Number::New(info.Env(), 0);
  }
  // Stat 0 is the aggregate over the small and large pools (StatType::AGGREGATE in every version).
  const auto peak = allocator::getDeviceStats(index).allocated_bytes[0].peak;
  return Napi::Number::New(info.Env(), static_cast<double>(peak));
#else
  throw UserError("cudaPeakMemory: this addon was built without the CUDA kernels", ErrorCode::Device);
#endif
}
IR_RCNN_BINDING("cudaPeakMemory", CudaPeakMemory);

}  // namespace
}  // namespace ir_rcnn::addon
