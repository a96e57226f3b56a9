// Ground truth of one training image, in that image's pixels (the detector rescales it together
// with the image).
#pragma once
#include <torch/torch.h>

namespace ir_rcnn::model {

struct Target {
  at::Tensor boxes;   // [n, 4] float (x1, y1, x2, y2)
  at::Tensor labels;  // [n] int64 in 1..numClasses-1
  at::Tensor crowd;   // [m, 4] float crowd regions (COCO iscrowd): never positives, see matcher.h
};

}  // namespace ir_rcnn::model
