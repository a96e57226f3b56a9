// torchvision's Matcher: assigns each prediction (anchor or proposal) the ground-truth box it
// overlaps most, or BELOW_LOW_THRESHOLD (-1) / BETWEEN_THRESHOLDS (-2, ignored).
#pragma once
#include <torch/torch.h>

namespace ir_rcnn::model {

class Matcher {
 public:
  static constexpr int64_t kBelowLowThreshold = -1;
  static constexpr int64_t kBetweenThresholds = -2;

  Matcher(double highThreshold, double lowThreshold, bool allowLowQualityMatches);
  // matchQuality [G, P] (IoU of G ground-truth boxes with P predictions) -> [P] int64.
  at::Tensor operator()(const at::Tensor& matchQuality) const;

 private:
  double high_, low_;
  bool allowLowQuality_;
};

// Crowd regions (COCO iscrowd) are never matched; a prediction that is not positive but overlaps a
// crowd box with IoU >= threshold is marked BETWEEN_THRESHOLDS, i.e. neither positive nor negative,
// so the detector is not taught that a crowd of objects is background.
at::Tensor ignoreCrowdOverlaps(const at::Tensor& matches, const at::Tensor& predictions, const at::Tensor& crowdBoxes,
                               double threshold = 0.5);

}  // namespace ir_rcnn::model
