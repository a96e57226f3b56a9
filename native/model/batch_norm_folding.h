// Folding each FrozenBatchNorm2d into the convolution right before it, for inference. A frozen
// norm is y = x·s + t per channel, so norm(conv(x; W)) = conv(x; W·s) + t: the convolution takes
// W·s as its weight and t as its bias (oneDNN adds a bias inside the convolution), and the norm's
// own passes over the activation (a product and a sum, each a new tensor as large as the
// activation) are gone. Training never folds: the trainer's model is not a detector's.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/frozen_batch_norm.h"
#include "model/state_dict.h"

namespace ir_rcnn::model {

class BatchNormFolding {
 public:
  // Pairs every FrozenBatchNorm2d of `model` with its convolution by torchvision's names (bnK
  // follows convK, downsample.1 follows downsample.0). The model must outlive this object.
  explicit BatchNormFolding(torch::nn::Module& model);

  // Scales the weights and sets the biases (no-op when folded). A norm whose scale has a zero or
  // a value too small to divide by again is left as it is, so unfold() can restore every weight.
  void fold();
  // Divides the weights back (exact to within one rounding) and drops the biases; no-op when not
  // folded. Before weights are loaded or the model moves to another device.
  void unfold();
  // In `state` (exportState of the model), the folded convolutions' weights as they were before
  // folding (to within one rounding), so that a detector's state dict does not depend on whether
  // it has detected.
  void restoreWeights(NamedTensors& state) const;

 private:
  struct Pair {
    std::string weightName;  // the convolution's weight in the state dict
    torch::nn::Conv2dImpl* conv;
    FrozenBatchNorm2dImpl* norm;
    at::Tensor scale;  // [C], set while folded
  };
  std::vector<Pair> pairs_;
  bool folded_ = false;
};

}  // namespace ir_rcnn::model
