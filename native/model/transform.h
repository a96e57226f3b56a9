// torchvision's GeneralizedRCNNTransform for uint8 HWC RGB images: to [0,1] floats, ImageNet
// normalisation, bilinear resize so that the short side is minSize and the long side at most
// maxSize (torchvision 0.14's float32 scale and recompute_scale_factor=True sizes), zero padding
// of the batch to a multiple of 32, and boxes mapped between original and network pixels.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <utility>
#include <vector>

#include "model/rpn.h"

namespace ir_rcnn::model {

struct ImageBatch {
  at::Tensor tensors;                 // [N, 3, H, W], H and W multiples of 32
  ImageSizes imageSizes;              // resized (height, width) of each image, before padding
  ImageSizes originalSizes;           // (height, width) of each input image
};

class GeneralizedRCNNTransform {
 public:
  GeneralizedRCNNTransform(int64_t minSize, int64_t maxSize, std::vector<double> mean, std::vector<double> std,
                           int64_t sizeDivisible = 32);
  // Images: uint8 [H, W, 3] tensors, moved to `device`. In training (a generator given), one
  // number is drawn from it per image as torchvision does (its choice among training sizes), so
  // that the samplers that follow draw the same numbers as torchvision after the same seed.
  ImageBatch operator()(const std::vector<at::Tensor>& imagesHWC, const c10::Device& device,
                        const std::optional<at::Generator>& training = std::nullopt) const;
  // The resized size of an image of (height, width).
  std::pair<int64_t, int64_t> resizedSize(int64_t height, int64_t width) const;
  // boxes [n, 4] from `from` (height, width) pixels to `to` pixels, float32 ratios as torchvision.
  static at::Tensor resizeBoxes(const at::Tensor& boxes, std::pair<int64_t, int64_t> from, std::pair<int64_t, int64_t> to);

 private:
  int64_t minSize_, maxSize_, sizeDivisible_;
  std::vector<double> mean_, std_;
};

}  // namespace ir_rcnn::model
