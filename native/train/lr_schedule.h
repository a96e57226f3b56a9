// Learning-rate schedule of the paper's recipe, with the semantics of torchvision/detectron's
// WarmupMultiStepLR: a linear warm-up factor from `warmupFactor` to 1 over `warmupIters`, and a
// factor `gamma` for every milestone already reached (milestones also count during warm-up).
#pragma once

#include <cstdint>
#include <vector>

namespace ir_rcnn::train {

struct LrSchedule {  // no defaults: the solver config (src/train/solver.ts) gives every field
  double baseLr{};
  double warmupFactor{};
  int64_t warmupIters{};
  std::vector<int64_t> milestones;  // iterations, ascending
  double gamma{};

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
  // The learning rate used by the update of iteration `iteration` (0-based).
  double lrAt(int64_t iteration) const;
};

}  // namespace ir_rcnn::train
