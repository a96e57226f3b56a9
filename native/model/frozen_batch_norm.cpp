#include "model/frozen_batch_norm.h"

namespace ir_rcnn::model {

FrozenBatchNorm2dImpl::FrozenBatchNorm2dImpl(int64_t channels, double eps) : eps_(eps) {
  weight_ = register_buffer("weight", torch::ones({channels}));
  bias_ = register_buffer("bias", torch::zeros({channels}));
  runningMean_ = register_buffer("running_mean", torch::zeros({channels}));
  runningVar_ = register_buffer("running_var", torch::ones({channels}));
}

std::pair<at::Tensor, at::Tensor> FrozenBatchNorm2dImpl::scaleAndShift() const {
  // The same operation order as torchvision so that results agree to the last bits.
  auto scale = weight_ * (runningVar_ + eps_).rsqrt();
  auto shift = bias_ - runningMean_ * scale;
  return {scale, shift};
}

at::Tensor FrozenBatchNorm2dImpl::forward(const at::Tensor& x) {
  if (folded_) return x;
  auto [scale, shift] = scaleAndShift();
  return x * scale.reshape({1, -1, 1, 1}) + shift.reshape({1, -1, 1, 1});
}

}  // namespace ir_rcnn::model
