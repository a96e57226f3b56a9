#include "model/batch_norm_folding.h"

#include <map>
#include <stdexcept>

namespace ir_rcnn::model {
namespace {

// "layer1.0.bn2" → "layer1.0.conv2", "layer1.0.downsample.1" → "layer1.0.downsample.0".
std::string convolutionBefore(const std::string& normName) {
  const auto dot = normName.rfind('.');
  const std::string prefix = dot == std::string::npos ? "" : normName.substr(0, dot + 1);
  const std::string last = normName.substr(prefix.size());
  if (last == "1" && prefix.size() >= 11 && prefix.compare(prefix.size() - 11, 11, "downsample.") == 0) return prefix + "0";
  if (last.rfind("bn", 0) == 0) return prefix + "conv" + last.substr(2);
  throw std::logic_error("batch norm folding: no convolution known before " + normName);
}

// Scales this small are not divided by again (W·s would lose W's low bits, or underflow).
constexpr double kSmallestScale = 1e-20;

}  // namespace

BatchNormFolding::BatchNormFolding(torch::nn::Module& model) {
  std::map<std::string, torch::nn::Conv2dImpl*> convolutions;
  std::vector<std::pair<std::string, FrozenBatchNorm2dImpl*>> norms;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto* conv = item.value()->as<torch::nn::Conv2dImpl>()) convolutions[item.key()] = conv;
    if (auto* norm = item.value()->as<FrozenBatchNorm2dImpl>()) norms.emplace_back(item.key(), norm);
  }
  for (const auto& [name, norm] : norms) {
    const std::string convName = convolutionBefore(name);
    auto conv = convolutions.find(convName);
    if (conv == convolutions.end() || conv->second->options.bias())
      throw std::logic_error("batch norm folding: " + name + " does not follow a convolution without bias");
    pairs_.push_back({convName + ".weight", conv->second, norm, {}});
  }
}

void BatchNormFolding::fold() {
  if (folded_) return;
  torch::NoGradGuard noGrad;
  for (auto& pair : pairs_) {
    auto [scale, shift] = pair.norm->scaleAndShift();
    if (!scale.abs().ge(kSmallestScale).all().item<bool>() || !scale.isfinite().all().item<bool>()) continue;
    pair.conv->weight.mul_(scale.reshape({-1, 1, 1, 1}));
    // A plain member, not a registered parameter: it stays out of the state dict.
    pair.conv->bias = shift;
    pair.norm->setFolded(true);
    pair.scale = scale;
  }
  folded_ = true;
}

void BatchNormFolding::unfold() {
  if (!folded_) return;
  torch::NoGradGuard noGrad;
  for (auto& pair : pairs_) {
    if (!pair.scale.defined()) continue;
    pair.conv->weight.div_(pair.scale.reshape({-1, 1, 1, 1}));
    pair.conv->bias = at::Tensor();
    pair.norm->setFolded(false);
    pair.scale = at::Tensor();
  }
  folded_ = false;
}

void BatchNormFolding::restoreWeights(NamedTensors& state) const {
  if (!folded_) return;
  std::map<std::string, const at::Tensor*> scales;
  for (const auto& pair : pairs_)
    if (pair.scale.defined()) scales[pair.weightName] = &pair.scale;
  for (auto& [name, tensor] : state)
    if (auto it = scales.find(name); it != scales.end()) tensor = tensor / it->second->to(tensor.device()).reshape({-1, 1, 1, 1});
}

}  // namespace ir_rcnn::model
