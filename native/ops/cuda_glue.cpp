// Adapts the raw-pointer CUDA launchers of ops/cuda_kernels.h to tensors: device guard, current
// stream, dtype dispatch, and the host-side greedy pass of the bitmask NMS. Empty in CPU builds.
#ifdef IR_RCNN_WITH_CUDA
#include "ops/cuda_glue.h"

#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda_kernels.h"

namespace ir_rcnn::ops {
namespace {

void check(const char* error, const char* where) { TORCH_CHECK(error == nullptr, where, ": CUDA error: ", error); }
void* currentStream() { return c10::cuda::getCurrentCUDAStream().stream(); }

}  // namespace

void cudaRoiAlignForward(const at::Tensor& input, const at::Tensor& rois, at::Tensor& output, double spatialScale,
                         int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned) {
  c10::cuda::CUDAGuard guard(input.device());
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "roiAlignForward", [&] {
    check(cuda::roiAlignForward<scalar_t>(input.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(),
                                          output.data_ptr<scalar_t>(), rois.size(0), input.size(1), input.size(2),
                                          input.size(3), static_cast<scalar_t>(spatialScale), pooledH, pooledW,
                                          samplingRatio, aligned, currentStream()),
          "roiAlign");
  });
}

void cudaRoiAlignBackward(const at::Tensor& gradOutput, const at::Tensor& rois, at::Tensor& gradInput,
                          double spatialScale, int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned) {
  c10::cuda::CUDAGuard guard(gradOutput.device());
  AT_DISPATCH_FLOATING_TYPES(gradOutput.scalar_type(), "roiAlignBackward", [&] {
    check(cuda::roiAlignBackward<scalar_t>(gradOutput.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(),
                                           gradInput.data_ptr<scalar_t>(), rois.size(0), gradInput.size(1),
                                           gradInput.size(2), gradInput.size(3), static_cast<scalar_t>(spatialScale),
                                           pooledH, pooledW, samplingRatio, aligned, currentStream()),
          "roiAlignBackward");
  });
}

at::Tensor cudaNms(const at::Tensor& boxes, const at::Tensor& scores, double iouThreshold) {
  c10::cuda::CUDAGuard guard(boxes.device());
  int64_t n = boxes.size(0);
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  auto sorted = boxes.index_select(0, order).contiguous();
  int64_t words = cuda::nmsMaskWords(n);
  auto mask = at::empty({n, words}, boxes.options().dtype(at::kLong));
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "nms", [&] {
    check(cuda::nmsMask<scalar_t>(sorted.data_ptr<scalar_t>(), n, static_cast<scalar_t>(iouThreshold),
                                  reinterpret_cast<uint64_t*>(mask.data_ptr<int64_t>()), currentStream()),
          "nms");
  });
  // The greedy pass is inherently sequential: walk boxes by score, keep one unless an earlier
  // kept box suppressed it, then OR its row into the suppressed set.
  auto hostMask = mask.cpu();
  const auto* rows = reinterpret_cast<const uint64_t*>(hostMask.data_ptr<int64_t>());
  std::vector<uint64_t> removed(words, 0);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i) {
    int64_t word = i / cuda::kNmsBlock, bit = i % cuda::kNmsBlock;
    if (removed[word] & (1ULL << bit)) continue;
    keep.push_back(i);
    for (int64_t j = word; j < words; ++j) removed[j] |= rows[i * words + j];
  }
  auto kept = at::tensor(keep, at::TensorOptions().dtype(at::kLong)).to(boxes.device());
  return order.index_select(0, kept);
}

}  // namespace ir_rcnn::ops
#endif
