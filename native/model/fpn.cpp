#include "model/fpn.h"

#include <string>

namespace ir_rcnn::model {
namespace {

// torchvision 0.14 wraps each conv in Conv2dNormActivation (no norm, no activation), which is why
// the weights are named inner_blocks.i.0.weight: a Sequential holding the conv as child "0".
torch::nn::Conv2d wrappedConv(torch::nn::ModuleList list, int64_t in, int64_t out, int64_t kernel) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, kernel).padding((kernel - 1) / 2));
  torch::nn::init::kaiming_uniform_(conv->weight, 1);
  torch::nn::init::constant_(conv->bias, 0);
  list->push_back(torch::nn::Sequential(conv));
  return conv;
}

}  // namespace

FeaturePyramidNetworkImpl::FeaturePyramidNetworkImpl(const std::vector<int64_t>& inChannels, int64_t outChannels) {
  auto innerBlocks = register_module("inner_blocks", torch::nn::ModuleList());
  auto layerBlocks = register_module("layer_blocks", torch::nn::ModuleList());
  for (int64_t in : inChannels) {
    inner_.push_back(wrappedConv(innerBlocks, in, outChannels, 1));
    layer_.push_back(wrappedConv(layerBlocks, outChannels, outChannels, 3));
  }
}

std::vector<at::Tensor> FeaturePyramidNetworkImpl::forward(const std::vector<at::Tensor>& x) {
  size_t n = x.size();
  std::vector<at::Tensor> results(n);
  auto lastInner = inner_[n - 1](x[n - 1]);
  results[n - 1] = layer_[n - 1](lastInner);
  for (size_t i = n - 1; i-- > 0;) {
    auto lateral = inner_[i](x[i]);
    auto topDown = torch::nn::functional::interpolate(
        lastInner, torch::nn::functional::InterpolateFuncOptions()
                       .size(std::vector<int64_t>{lateral.size(2), lateral.size(3)})
                       .mode(torch::kNearest));
    lastInner = lateral + topDown;
    results[i] = layer_[i](lastInner);
  }
  results.push_back(torch::max_pool2d(results.back(), 1, 2, 0));
  return results;
}

}  // namespace ir_rcnn::model
