// torchvision's AnchorGenerator: one anchor size per FPN level times the aspect ratios, rounded
// cell anchors centred on (0, 0), shifted by the level's stride over its grid.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace ir_rcnn::model {

class AnchorGenerator {
 public:
  AnchorGenerator(std::vector<double> sizes, std::vector<double> aspectRatios);
  int64_t anchorsPerLocation() const { return static_cast<int64_t>(aspectRatios_.size()); }
  // Anchors of all levels concatenated, [sum(H*W*A), 4], for a padded batch of size
  // (batchHeight, batchWidth); the same for every image of the batch.
  at::Tensor operator()(const std::vector<at::Tensor>& features, int64_t batchHeight, int64_t batchWidth) const;
  // The rounded cell anchors of one level, [A, 4].
  at::Tensor cellAnchors(double size) const;

 private:
  std::vector<double> sizes_, aspectRatios_;
};

}  // namespace ir_rcnn::model
