// torchvision's BalancedPositiveNegativeSampler: per image, up to batchSize * positiveFraction
// random positives and the rest random negatives, drawn from the given CPU generator (one seeded
// with s draws what torchvision draws after torch.manual_seed(s)).
#pragma once
#include <torch/torch.h>

#include <utility>

namespace ir_rcnn::model {

class BalancedPositiveNegativeSampler {
 public:
  BalancedPositiveNegativeSampler(int64_t batchSizePerImage, double positiveFraction);
  // labels [P] (>= 1 positive, 0 negative, < 0 ignored) -> (positive indices, negative indices).
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& labels, const at::Generator& generator) const;

 private:
  int64_t batchSize_;
  double positiveFraction_;
};

}  // namespace ir_rcnn::model
