// RoIAlign (Mask R-CNN) with torchvision's semantics, and the FPN level assignment of
// torchvision's MultiScaleRoIAlign.
#pragma once
#include <torch/torch.h>
#include <utility>
#include <vector>

namespace ir_rcnn::ops {

// input [B, C, H, W]; rois [K, 5] = (batch index, x1, y1, x2, y2) in image coordinates.
// Returns [K, C, pooledH, pooledW]. samplingRatio <= 0 means adaptive (ceil(roi size / bin)).
at::Tensor roiAlignForward(const at::Tensor& input, const at::Tensor& rois, double spatialScale,
                           int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned);
// Gradient w.r.t. input, given the gradient of the output.
at::Tensor roiAlignBackward(const at::Tensor& gradOutput, const at::Tensor& rois, double spatialScale,
                            int64_t pooledH, int64_t pooledW, int64_t batch, int64_t channels,
                            int64_t height, int64_t width, int64_t samplingRatio, bool aligned);
// Differentiable RoIAlign (autograd w.r.t. input; rois get no gradient, as in torchvision).
at::Tensor roiAlign(const at::Tensor& input, const at::Tensor& rois, double spatialScale,
                    int64_t pooledH, int64_t pooledW, int64_t samplingRatio, bool aligned);

// MultiScaleRoIAlign: features are the FPN maps used for pooling (P2..P5), boxes one [Ni, 4]
// tensor per image, imageSizes the (height, width) of each image in the padded batch.
// Scales are inferred from feature/image size as torchvision does (2^round(log2(f/i))).
at::Tensor multiScaleRoiAlign(const std::vector<at::Tensor>& features, const std::vector<at::Tensor>& boxes,
                              const std::vector<std::pair<int64_t, int64_t>>& imageSizes,
                              int64_t outputSize = 7, int64_t samplingRatio = 2,
                              int64_t canonicalScale = 224, int64_t canonicalLevel = 4);
// Level index (0-based, relative to the first map) that torchvision's LevelMapper gives each box.
at::Tensor assignFpnLevels(const at::Tensor& boxes, int64_t kMin, int64_t kMax,
                           int64_t canonicalScale = 224, int64_t canonicalLevel = 4, double eps = 1e-6);

}  // namespace ir_rcnn::ops
