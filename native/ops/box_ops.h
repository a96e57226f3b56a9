// Box utilities with torchvision's semantics: IoU, the R-CNN box coder, clipping, small-box removal.
#pragma once
#include <torch/torch.h>
#include <array>
#include <cmath>

namespace ir_rcnn::ops {

// [N, 4] x [M, 4] -> [N, M] IoU; boxes are (x1, y1, x2, y2).
at::Tensor boxIou(const at::Tensor& a, const at::Tensor& b);
at::Tensor boxArea(const at::Tensor& boxes);
// Clips boxes to [0, width] x [0, height].
at::Tensor clipBoxesToImage(const at::Tensor& boxes, int64_t height, int64_t width);
// Indices (int64) of boxes whose width and height are both >= minSize.
at::Tensor removeSmallBoxes(const at::Tensor& boxes, double minSize);

// torchvision's BoxCoder: deltas (dx, dy, dw, dh) scaled by weights; dw/dh clamped at
// log(1000/16) on decode so that exp() cannot overflow.
struct BoxCoder {
  std::array<double, 4> weights{1.0, 1.0, 1.0, 1.0};
  double bboxXformClip = std::log(1000.0 / 16.0);
  // Targets that turn `proposals` [N,4] into `reference` [N,4].
  at::Tensor encode(const at::Tensor& reference, const at::Tensor& proposals) const;
  // relCodes [N, 4*C] applied to boxes [N, 4] -> [N, C, 4] (C = relCodes.size(1) / 4).
  at::Tensor decode(const at::Tensor& relCodes, const at::Tensor& boxes) const;
};

}  // namespace ir_rcnn::ops
