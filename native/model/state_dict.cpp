#include "model/state_dict.h"

#include "error.h"

namespace ir_rcnn::model {

NamedTensors stateTensors(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

NamedTensors exportState(const torch::nn::Module& module) {
  NamedTensors out = stateTensors(module);
  for (auto& [name, tensor] : out) tensor = tensor.detach().to(at::kCPU).contiguous().clone();
  return out;
}

StateCopies matchState(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& values,
                       const std::string& what, bool complete) {
  const auto fail = [&](const std::string& name, const std::string& problem) {
    throw UserError(what + ": key " + name + " " + problem, ErrorCode::Weights);
  };
  const NamedTensors targets = stateTensors(module);
  std::map<std::string, at::Tensor> byName(targets.begin(), targets.end());
  StateCopies copies;
  for (const auto& [name, value] : values) {
    auto it = byName.find(name);
    if (it == byName.end()) fail(name, "is not in the model");
    const at::Tensor& target = it->second;
    if (!value.sizes().equals(target.sizes()))
      fail(name, "has shape " + c10::str(value.sizes()) + " but the model expects " + c10::str(target.sizes()));
    if (value.is_floating_point() != target.is_floating_point())
      fail(name, "has dtype " + std::string(c10::toString(value.scalar_type())) + " but the model's is " +
                     c10::toString(target.scalar_type()));
    copies.emplace_back(target, value);
  }
  if (complete && copies.size() != targets.size()) {
    for (const auto& [name, target] : targets)
      if (!values.count(name))
        fail(name, "is missing (" + std::to_string(targets.size() - copies.size()) + " of the model's " +
                       std::to_string(targets.size()) + " tensors are)");
  }
  return copies;
}

void copyState(const StateCopies& copies) {
  torch::NoGradGuard noGrad;
  for (const auto& [target, value] : copies) target.copy_(value);
}

void loadState(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& values, const std::string& what,
               bool complete) {
  copyState(matchState(module, values, what, complete));
}

}  // namespace ir_rcnn::model
