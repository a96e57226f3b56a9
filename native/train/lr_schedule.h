// Learning-rate schedule of the paper's recipe, with the semantics of torchvision/detectron's
// WarmupMultiStepLR: a linear warm-up factor from `warmupFactor` to 1 over `warmupIters`, and a
// factor `gamma` for every milestone already reached (milestones also count during warm-up).
#pragma once

#include <cstdint>
#include <vector>

namespace ir_rcnn::train {

struct LrSchedule {
  double baseLr = 0.02;
  double warmupFactor = 1.0 / 1000;
  int64_t warmupIters = 1000;
  std::vector<int64_t> milestones;  // iterations, ascending
  double gamma = 0.1;

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
  // The learning rate used by the update of iteration `iteration` (0-based).
  double lrAt(int64_t iteration) const;
};

}  // namespace ir_rcnn::train
