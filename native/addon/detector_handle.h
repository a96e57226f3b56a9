// A detector as JS holds it: an External owning a shared handle, so that async jobs keep the
// model alive after JS drops it, and a mutex that serializes jobs on one model (a forward pass
// and a weight load or device move must not interleave). Other bindings (training) take the
// model from the same handle.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>

#include "model/detector.h"

namespace ir_rcnn::addon {

struct DetectorHandle {
  explicit DetectorHandle(const model::ModelConfig& config);
  std::mutex mutex;
  model::FasterRCNN model;
  // State-dict names and shapes (parameters, then buffers) and parameter counts: fixed at
  // construction, so JS can read them without waiting for a running job.
  std::vector<std::pair<std::string, std::vector<int64_t>>> stateShapes;
  double totalParameters = 0, trainableParameters = 0, relationParameters = 0;
};

// The handle behind a value made by createDetector; a clear error for anything else.
std::shared_ptr<DetectorHandle> detectorFromJS(const Napi::Value& value, const char* what);
// Reads a model config object ({ numClasses, depth, ..., rpn: {...}, roi: {...}, relation: {...} }).
model::ModelConfig parseModelConfig(const Napi::Value& value);
// Reads the reasoning options of a relation config object (k, layers, lambda, overlapThreshold,
// semantic, spatial, edgeWeights, propagation, auxLossWeight) over `base`.
model::RelationOptions parseRelationOptions(const Napi::Object& options, model::RelationOptions base);

}  // namespace ir_rcnn::addon
