#include "model/matcher.h"

#include "ops/box_ops.h"

namespace ir_rcnn::model {

Matcher::Matcher(double highThreshold, double lowThreshold, bool allowLowQualityMatches)
    : high_(highThreshold), low_(lowThreshold), allowLowQuality_(allowLowQualityMatches) {}

at::Tensor Matcher::operator()(const at::Tensor& matchQuality) const {
  auto [matchedVals, matches] = matchQuality.max(0);
  auto allMatches = allowLowQuality_ ? matches.clone() : at::Tensor();
  auto below = matchedVals < low_;
  auto between = (matchedVals >= low_) & (matchedVals < high_);
  matches.masked_fill_(below, kBelowLowThreshold);
  matches.masked_fill_(between, kBetweenThresholds);
  if (allowLowQuality_) {
    // Every ground-truth box keeps the predictions it overlaps most (ties included), even when
    // that overlap is under the high threshold.
    auto highest = std::get<0>(matchQuality.max(1));
    auto predInds = torch::nonzero(matchQuality == highest.unsqueeze(1)).select(1, 1);
    matches.index_put_({predInds}, allMatches.index({predInds}));
  }
  return matches;
}

at::Tensor ignoreCrowdOverlaps(const at::Tensor& matches, const at::Tensor& predictions, const at::Tensor& crowdBoxes,
                               double threshold) {
  if (!crowdBoxes.defined() || crowdBoxes.size(0) == 0 || predictions.size(0) == 0) return matches;
  auto crowdIou = std::get<0>(ops::boxIou(crowdBoxes, predictions).max(0));
  auto ignore = (crowdIou >= threshold) & (matches < 0);
  return matches.masked_fill(ignore, Matcher::kBetweenThresholds);
}

}  // namespace ir_rcnn::model
