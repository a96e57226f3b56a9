// The settings a detector is built from (torchvision's FasterRCNN constructor arguments plus the
// relation module's options). Defaults are torchvision's fasterrcnn_resnet50_fpn.
#pragma once
#include <cstdint>
#include <vector>

#include "model/relation.h"

namespace ir_rcnn::model {

struct RpnConfig {
  int64_t preNmsTopNTrain = 2000, preNmsTopNTest = 1000;    // per FPN level
  int64_t postNmsTopNTrain = 2000, postNmsTopNTest = 1000;  // per image
  double nmsThreshold = 0.7;
  double fgIouThreshold = 0.7, bgIouThreshold = 0.3;
  int64_t batchSizePerImage = 256;
  double positiveFraction = 0.5;
  double scoreThreshold = 0.0;
};

struct RoiConfig {
  double fgIouThreshold = 0.5, bgIouThreshold = 0.5;
  int64_t batchSizePerImage = 512;
  double positiveFraction = 0.25;
  double scoreThreshold = 0.05;
  double nmsThreshold = 0.5;
  int64_t maxDetections = 100;
  int64_t representationSize = 1024;  // TwoMLPHead width
};

struct ModelConfig {
  int64_t numClasses = 91;      // including background (class 0)
  int64_t depth = 50;           // ResNet depth: 18, 34, 50 or 101
  int64_t trainableLayers = 3;  // 0..5, counted from layer4 down to conv1 (torchvision)
  int64_t minSize = 800, maxSize = 1333;
  std::vector<double> imageMean{0.485, 0.456, 0.406};
  std::vector<double> imageStd{0.229, 0.224, 0.225};
  std::vector<double> anchorSizes{32, 64, 128, 256, 512};  // one per level P2..P6
  std::vector<double> aspectRatios{0.5, 1.0, 2.0};
  RpnConfig rpn;
  RoiConfig roi;
  RelationOptions relation;
};

}  // namespace ir_rcnn::model
