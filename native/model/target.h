// Ground truth of one training image, in that image's pixels (the detector rescales it together
// with the image).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace ir_rcnn::model {

struct Target {
  at::Tensor boxes;   // [n, 4] float (x1, y1, x2, y2)
  at::Tensor labels;  // [n] int64 in 1..numClasses-1
  at::Tensor crowd;   // [m, 4] float crowd regions (COCO iscrowd): never positives, see matcher.h
};

// What a training pass needs besides the images: the ground truth (in network-input pixels), and
// the generator every random draw of the pass comes from (the caller's: a trainer's own, or one
// seeded for Detector.losses), so that no one else's draws change the pass.
struct Training {
  const std::vector<Target>& targets;
  at::Generator generator;
};

}  // namespace ir_rcnn::model
