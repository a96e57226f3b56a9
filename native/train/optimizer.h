// SGD with momentum and weight decay, with torch.optim.SGD's update rule (dampening 0, no
// Nesterov): d = g + wd·p; buf = d on the first step, else buf = momentum·buf + d; p -= lr·buf.
// Weight decay applies to every trainable parameter, as in the paper and torchvision's
// reference recipe. Written out (rather than torch::optim::SGD) so that the momentum buffers
// are plain named tensors for checkpoints.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ir_rcnn::train {

class SGD {
 public:
  // `params`: the trainable parameters by name, in a fixed order.
  SGD(std::vector<std::pair<std::string, at::Tensor>> params, double momentum, double weightDecay);

  // One update with learning rate `lr` from the parameters' current .grad().
  void step(double lr);

  // Momentum buffers by parameter name (only those created so far).
  const std::map<std::string, at::Tensor>& momentumBuffers() const { return buffers_; }
  // Replaces the buffers; every name must be a parameter with the same shape.
  void loadMomentumBuffers(const std::map<std::string, at::Tensor>& buffers);

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  double momentum_;
  double weightDecay_;
  std::map<std::string, at::Tensor> buffers_;
};

}  // namespace ir_rcnn::train
