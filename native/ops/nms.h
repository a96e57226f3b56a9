// Non-maximum suppression with torchvision's semantics (ties keep the lower index first).
#pragma once
#include <torch/torch.h>

namespace ir_rcnn::ops {

// boxes [N, 4] (x1, y1, x2, y2), scores [N]. Returns int64 indices of kept boxes, by score desc.
at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iouThreshold);
// Per-class NMS: boxes of different `idxs` never suppress each other.
at::Tensor batchedNms(const at::Tensor& boxes, const at::Tensor& scores, const at::Tensor& idxs, double iouThreshold);

}  // namespace ir_rcnn::ops
