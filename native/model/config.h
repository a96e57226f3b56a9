// The settings a detector is built from (torchvision's FasterRCNN constructor arguments plus the
// relation module's options). They have no defaults here: the TypeScript schema
// (src/config/schema.ts) is their one source, and the addon reads every field of it
// (native/addon/model_config.cpp); {} only zero-initialises.
#pragma once
#include <cstdint>
#include <vector>

#include "model/relation.h"

namespace ir_rcnn::model {

struct RpnConfig {
  int64_t preNmsTopNTrain{}, preNmsTopNTest{};    // per FPN level
  int64_t postNmsTopNTrain{}, postNmsTopNTest{};  // per image
  double nmsThreshold{};
  double fgIouThreshold{}, bgIouThreshold{};
  int64_t batchSizePerImage{};
  double positiveFraction{};
  double scoreThreshold{};  // proposals below it are dropped before NMS
};

struct RoiConfig {
  double fgIouThreshold{}, bgIouThreshold{};
  int64_t batchSizePerImage{};
  double positiveFraction{};
  double scoreThreshold{};  // detect()'s defaults: score threshold, per-class NMS, detections per image
  double nmsThreshold{};
  int64_t maxDetections{};
  int64_t representationSize{};  // TwoMLPHead width
};

struct ModelConfig {
  int64_t numClasses{};       // including background (class 0)
  int64_t depth{};            // ResNet depth: 18, 34, 50 or 101
  int64_t trainableLayers{};  // 0..5, counted from layer4 down to conv1 (torchvision)
  int64_t minSize{}, maxSize{};
  std::vector<double> imageMean, imageStd;  // 3 each
  std::vector<double> anchorSizes;          // one per level P2..P6
  std::vector<double> aspectRatios;
  RpnConfig rpn;
  RoiConfig roi;
  RelationOptions relation;
};

}  // namespace ir_rcnn::model
