// torchvision's FeaturePyramidNetwork with LastLevelMaxPool (backbone.fpn.*): 1x1 lateral convs
// (inner_blocks.i.0), nearest-neighbour top-down pathway, 3x3 output convs (layer_blocks.i.0),
// and P6 = max_pool2d(P5, 1, stride 2) (torchvision's 'pool' level).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace ir_rcnn::model {

class FeaturePyramidNetworkImpl : public torch::nn::Module {
 public:
  FeaturePyramidNetworkImpl(const std::vector<int64_t>& inChannels, int64_t outChannels);
  // C2..C5 -> P2..P6.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& x);

 private:
  std::vector<torch::nn::Conv2d> inner_, layer_;
};
TORCH_MODULE(FeaturePyramidNetwork);

}  // namespace ir_rcnn::model
