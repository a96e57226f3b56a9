#include "model/sampler.h"

#include <algorithm>

namespace ir_rcnn::model {

BalancedPositiveNegativeSampler::BalancedPositiveNegativeSampler(int64_t batchSizePerImage, double positiveFraction)
    : batchSize_(batchSizePerImage), positiveFraction_(positiveFraction) {}

std::pair<at::Tensor, at::Tensor> BalancedPositiveNegativeSampler::operator()(const at::Tensor& labels,
                                                                              const at::Generator& generator) const {
  auto positive = torch::nonzero(labels >= 1).view(-1);
  auto negative = torch::nonzero(labels == 0).view(-1);
  int64_t numPos = std::min<int64_t>(positive.numel(), static_cast<int64_t>(batchSize_ * positiveFraction_));
  int64_t numNeg = std::min<int64_t>(negative.numel(), batchSize_ - numPos);
  // The permutations come from the CPU generator on every device, so that one seed samples the same
  // anchors and proposals on CPU and CUDA (scripts/gpu-check.sh compares their training steps).
  auto cpu = torch::dtype(torch::kInt64);
  auto perm1 = torch::randperm(positive.numel(), generator, cpu).slice(0, 0, numPos).to(labels.device());
  auto perm2 = torch::randperm(negative.numel(), generator, cpu).slice(0, 0, numNeg).to(labels.device());
  return {positive.index({perm1}), negative.index({perm2})};
}

}  // namespace ir_rcnn::model
