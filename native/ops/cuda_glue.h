// Tensor-level entry points of the CUDA kernels, called by the CPU ops for CUDA tensors.
// Only declared and defined in builds with IR_RCNN_WITH_CUDA (a CUDA LibTorch).
#pragma once
#include <torch/torch.h>

namespace ir_rcnn::ops {

// input, rois contiguous on one CUDA device; output/gradInput preallocated (gradInput zeroed).
void cudaRoiAlignForward(const at::Tensor& input, const at::Tensor& rois, at::Tensor& output, double spatialScale,
                         int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned);
void cudaRoiAlignBackward(const at::Tensor& gradOutput, const at::Tensor& rois, at::Tensor& gradInput,
                          double spatialScale, int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned);
// Kept indices (int64, on the boxes' device) in descending score order.
at::Tensor cudaNms(const at::Tensor& boxes, const at::Tensor& scores, double iouThreshold);

}  // namespace ir_rcnn::ops
