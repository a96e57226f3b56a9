// torchvision.ops.FrozenBatchNorm2d: batch norm with fixed statistics and affine parameters, all
// four held as buffers (weight, bias, running_mean, running_var), so they are never trained.
#pragma once
#include <torch/torch.h>

#include <utility>

namespace ir_rcnn::model {

class FrozenBatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit FrozenBatchNorm2dImpl(int64_t channels, double eps = 1e-5);
  at::Tensor forward(const at::Tensor& x);

  // forward(x) = x·scale + shift, per channel, computed as torchvision computes them.
  std::pair<at::Tensor, at::Tensor> scaleAndShift() const;
  // Set while the convolution before it carries scale and shift (batch_norm_folding.h): forward
  // then passes x through.
  void setFolded(bool folded) { folded_ = folded; }

 private:
  double eps_;
  bool folded_ = false;
  at::Tensor weight_, bias_, runningMean_, runningVar_;
};
TORCH_MODULE(FrozenBatchNorm2d);

}  // namespace ir_rcnn::model
