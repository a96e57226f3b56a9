#include "model/frozen_batch_norm.h"

namespace ir_rcnn::model {

FrozenBatchNorm2dImpl::FrozenBatchNorm2dImpl(int64_t channels, double eps) : eps_(eps) {
  weight_ = register_buffer("weight", torch::ones({channels}));
  bias_ = register_buffer("bias", torch::zeros({channels}));
  runningMean_ = register_buffer("running_mean", torch::zeros({channels}));
  runningVar_ = register_buffer("running_var", torch::ones({channels}));
}

at::Tensor FrozenBatchNorm2dImpl::forward(const at::Tensor& x) {
  // The same operation order as torchvision so that results agree to the last bits.
  auto w = weight_.reshape({1, -1, 1, 1});
  auto b = bias_.reshape({1, -1, 1, 1});
  auto rv = runningVar_.reshape({1, -1, 1, 1});
  auto rm = runningMean_.reshape({1, -1, 1, 1});
  auto scale = w * (rv + eps_).rsqrt();
  auto shift = b - rm * scale;
  return x * scale + shift;
}

}  // namespace ir_rcnn::model
