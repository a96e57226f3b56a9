#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ir_rcnn::train {

void LrSchedule::validate() const {
  if (!(baseLr > 0) || !std::isfinite(baseLr)) throw std::invalid_argument("lr: expected a positive number");
  if (!(warmupFactor > 0) || warmupFactor > 1) throw std::invalid_argument("warmupFactor: expected a number in (0, 1]");
  if (warmupIters < 0) throw std::invalid_argument("warmupIters: expected an integer >= 0");
  if (!(gamma > 0) || !std::isfinite(gamma)) throw std::invalid_argument("gamma: expected a positive number");
  for (size_t i = 0; i < milestones.size(); ++i)
    if (milestones[i] < 0 || (i > 0 && milestones[i] <= milestones[i - 1]))
      throw std::invalid_argument("milestones[" + std::to_string(i) + "]: expected ascending iterations >= 0");
}

double LrSchedule::lrAt(int64_t iteration) const {
  double warmup = 1.0;
  if (iteration < warmupIters) {
    double alpha = static_cast<double>(iteration) / static_cast<double>(warmupIters);
    warmup = warmupFactor * (1 - alpha) + alpha;
  }
  // bisect_right: a milestone m applies from iteration m on.
  auto passed = std::upper_bound(milestones.begin(), milestones.end(), iteration) - milestones.begin();
  return baseLr * warmup * std::pow(gamma, static_cast<double>(passed));
}

}  // namespace ir_rcnn::train
