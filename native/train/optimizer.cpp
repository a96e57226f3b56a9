#include "train/optimizer.h"

#include <stdexcept>

#include "error.h"

namespace ir_rcnn::train {

SGD::SGD(std::vector<std::pair<std::string, at::Tensor>> params, double momentum, double weightDecay)
    : params_(std::move(params)), momentum_(momentum), weightDecay_(weightDecay) {
  if (momentum < 0 || momentum >= 1) throw std::invalid_argument("momentum: expected a number in [0, 1)");
  if (weightDecay < 0) throw std::invalid_argument("weightDecay: expected a number >= 0");
}

void SGD::step(double lr) {
  torch::NoGradGuard noGrad;
  for (auto& [name, p] : params_) {
    const at::Tensor& grad = p.grad();
    if (!grad.defined()) continue;  // as torch.optim.SGD: a parameter without gradient is left alone
    at::Tensor d = weightDecay_ != 0 ? grad.add(p, weightDecay_) : grad;
    if (momentum_ != 0) {
      auto it = buffers_.find(name);
      if (it == buffers_.end()) {
        d = buffers_.emplace(name, d.clone()).first->second;
      } else {
        it->second.mul_(momentum_).add_(d);
        d = it->second;
      }
    }
    p.add_(d, -lr);
  }
}

void SGD::loadMomentumBuffers(const std::map<std::string, at::Tensor>& buffers) {
  std::map<std::string, at::Tensor> loaded;
  for (const auto& [name, buffer] : buffers) {
    auto it = std::find_if(params_.begin(), params_.end(), [&](const auto& p) { return p.first == name; });
    if (it == params_.end()) throw UserError("checkpoint: momentum of " + name + ", which is not a trainable parameter", ErrorCode::Weights);
    if (!buffer.sizes().equals(it->second.sizes()))
      throw UserError("checkpoint: momentum of " + name + " has shape " + c10::str(buffer.sizes()) + " but the parameter " +
                          c10::str(it->second.sizes()),
                      ErrorCode::Weights);
    loaded.emplace(name, buffer.to(it->second.options()).clone());
  }
  buffers_ = std::move(loaded);
}

}  // namespace ir_rcnn::train
