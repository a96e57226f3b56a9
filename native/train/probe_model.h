// A tiny trainable model with the trainer's interface, for testing the training machinery
// (optimizer, schedule, accumulation, checkpoints, c10d) in milliseconds: images are pooled to
// 8×8, a 2-layer MLP predicts the mean ground-truth box (normalized to the image) and the label
// of the first box. Deterministic, and its loss is a per-image mean, so one process on a batch
// and two ranks on its halves take the same step.
#pragma once

#include "train/trainer.h"

namespace ir_rcnn::train {

TrainModel makeProbeModel(int64_t numClasses);

}  // namespace ir_rcnn::train
