// torchvision's ResNet as the detector's body (backbone.body.*): conv1/bn1/maxpool and layer1..4
// of BasicBlocks (ResNet-18/34) or Bottlenecks (ResNet-50/101, stride on the 3x3 conv as in
// torchvision), FrozenBatchNorm2d everywhere, no avgpool/fc. Returns C2..C5.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/frozen_batch_norm.h"

namespace ir_rcnn::model {

class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t expansion = 1;
  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride);
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  FrozenBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t expansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride);
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  FrozenBatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

class ResNetBodyImpl : public torch::nn::Module {
 public:
  // depth 18, 34, 50 or 101; trainableLayers 0..5 as torchvision's _resnet_fpn_extractor
  // (layer4, layer3, layer2, layer1, conv1 in that order; 5 also trains bn1, which is frozen anyway).
  ResNetBodyImpl(int64_t depth, int64_t trainableLayers);
  std::vector<at::Tensor> forward(const at::Tensor& x);  // C2, C3, C4, C5
  // Channels of C2..C5 (the FPN's in_channels).
  const std::vector<int64_t>& outChannels() const { return outChannels_; }

 private:
  torch::nn::Conv2d conv1_{nullptr};
  FrozenBatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  std::vector<int64_t> outChannels_;
};
TORCH_MODULE(ResNetBody);

}  // namespace ir_rcnn::model
