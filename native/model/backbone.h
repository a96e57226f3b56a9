// torchvision's BackboneWithFPN (backbone.*): the ResNet body (backbone.body) followed by the
// feature pyramid (backbone.fpn), 256 channels out.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/fpn.h"
#include "model/resnet.h"

namespace ir_rcnn::model {

class BackboneWithFPNImpl : public torch::nn::Module {
 public:
  static constexpr int64_t outChannels = 256;
  BackboneWithFPNImpl(int64_t depth, int64_t trainableLayers);
  std::vector<at::Tensor> forward(const at::Tensor& images);  // P2..P6

 private:
  ResNetBody body_{nullptr};
  FeaturePyramidNetwork fpn_{nullptr};
};
TORCH_MODULE(BackboneWithFPN);

}  // namespace ir_rcnn::model
