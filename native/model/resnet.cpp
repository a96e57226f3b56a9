#include "model/resnet.h"

#include <stdexcept>
#include <string>

namespace ir_rcnn::model {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// downsample.0 (1x1 conv) and downsample.1 (norm) when the block changes shape, as torchvision.
torch::nn::Sequential downsample(int64_t inplanes, int64_t outplanes, int64_t stride) {
  if (stride == 1 && inplanes == outplanes) return nullptr;
  return torch::nn::Sequential(conv(inplanes, outplanes, 1, stride, 0), FrozenBatchNorm2d(outplanes));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", conv(inplanes, planes, 3, stride, 1));
  bn1_ = register_module("bn1", FrozenBatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2_ = register_module("bn2", FrozenBatchNorm2d(planes));
  if (auto d = downsample(inplanes, planes * expansion, stride)) downsample_ = register_module("downsample", d);
}

// ReLU and the residual sum work in place on fresh results, as torchvision's do: on the CPU a
// new activation-sized tensor for each costs more in page faults than the arithmetic.
at::Tensor BasicBlockImpl::forward(const at::Tensor& x) {
  auto out = bn1_(conv1_(x)).relu_();
  out = bn2_(conv2_(out));
  out += downsample_ ? downsample_->forward(x) : x;
  return out.relu_();
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", conv(inplanes, planes, 1, 1, 0));
  bn1_ = register_module("bn1", FrozenBatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, stride, 1));
  bn2_ = register_module("bn2", FrozenBatchNorm2d(planes));
  conv3_ = register_module("conv3", conv(planes, planes * expansion, 1, 1, 0));
  bn3_ = register_module("bn3", FrozenBatchNorm2d(planes * expansion));
  if (auto d = downsample(inplanes, planes * expansion, stride)) downsample_ = register_module("downsample", d);
}

at::Tensor BottleneckImpl::forward(const at::Tensor& x) {
  auto out = bn1_(conv1_(x)).relu_();
  out = bn2_(conv2_(out)).relu_();
  out = bn3_(conv3_(out));
  out += downsample_ ? downsample_->forward(x) : x;
  return out.relu_();
}

ResNetBodyImpl::ResNetBodyImpl(int64_t depth, int64_t trainableLayers) {
  std::vector<int64_t> blocks;
  bool bottleneck = depth >= 50;
  switch (depth) {
    case 18: blocks = {2, 2, 2, 2}; break;
    case 34: blocks = {3, 4, 6, 3}; break;
    case 50: blocks = {3, 4, 6, 3}; break;
    case 101: blocks = {3, 4, 23, 3}; break;
    default: throw std::invalid_argument("model.depth: expected 18, 34, 50 or 101, got " + std::to_string(depth));
  }
  if (trainableLayers < 0 || trainableLayers > 5)
    throw std::invalid_argument("model.trainableLayers: expected 0..5, got " + std::to_string(trainableLayers));
  conv1_ = register_module("conv1", conv(3, 64, 7, 2, 3));
  bn1_ = register_module("bn1", FrozenBatchNorm2d(64));
  int64_t expansion = bottleneck ? BottleneckImpl::expansion : BasicBlockImpl::expansion;
  int64_t inplanes = 64;
  for (size_t i = 0; i < 4; ++i) {
    int64_t planes = 64 << i;
    torch::nn::Sequential layer;
    for (int64_t b = 0; b < blocks[i]; ++b) {
      int64_t stride = (b == 0 && i > 0) ? 2 : 1;
      if (bottleneck) layer->push_back(Bottleneck(inplanes, planes, stride));
      else layer->push_back(BasicBlock(inplanes, planes, stride));
      inplanes = planes * expansion;
    }
    layers_.push_back(register_module("layer" + std::to_string(i + 1), layer));
    outChannels_.push_back(inplanes);
  }
  // torchvision freezes every parameter outside the last `trainableLayers` stages.
  const std::vector<std::string> order{"layer4", "layer3", "layer2", "layer1", "conv1"};
  std::vector<std::string> trained(order.begin(), order.begin() + std::min<int64_t>(trainableLayers, 5));
  for (auto& item : named_parameters()) {
    bool train = false;
    for (const auto& prefix : trained) train = train || item.key().rfind(prefix, 0) == 0;
    item.value().set_requires_grad(train);
  }
}

std::vector<at::Tensor> ResNetBodyImpl::forward(const at::Tensor& x) {
  auto h = bn1_(conv1_(x)).relu_();
  h = torch::max_pool2d(h, 3, 2, 1);
  std::vector<at::Tensor> out;
  for (auto& layer : layers_) {
    h = layer->forward(h);
    out.push_back(h);
  }
  return out;
}

}  // namespace ir_rcnn::model
