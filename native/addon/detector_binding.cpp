// Bindings of the detector (typed in src/detector.ts): create one from a config, read and load
// its state dict, count its parameters, move it between devices, and run detection.
#include <sstream>

#include "addon/binding.h"
#include "addon/detector_handle.h"

namespace ir_rcnn::addon {
namespace {

using Shared = std::shared_ptr<DetectorHandle>;

std::vector<double> numbers(const Napi::Object& object, const char* key, std::vector<double> fallback) {
  Napi::Value v = object.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsArray()) throw UserError(std::string(key) + ": expected an array of numbers");
  auto array = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw UserError(std::string(key) + "[" + std::to_string(i) + "]: expected a number");
    out.push_back(item.As<Napi::Number>().DoubleValue());
  }
  return out;
}

Napi::Object section(const Napi::Object& object, const char* key) {
  Napi::Value v = object.Get(key);
  if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(object.Env());
  if (!v.IsObject()) throw UserError(std::string(key) + ": expected an object");
  return v.As<Napi::Object>();
}

Out detectionsOut(const std::vector<model::ImageDetections>& detections) {
  Out list = Out::list();
  for (const auto& d : detections) {
    Out item = Out::object()
                   .set("boxes", d.boxes.contiguous())
                   .set("scores", d.scores.contiguous())
                   .set("labels", d.labels.contiguous())
                   .set("proposalIndex", d.proposalIndex.contiguous());
    if (d.graph)
      item.set("graph", Out::object()
                            .set("src", d.graph->src)
                            .set("dst", d.graph->dst)
                            .set("type", d.graph->type)
                            .set("weight", d.graph->weight));
    list.push(item);
  }
  return list;
}

// images: [{ data: Uint8Array (HWC RGB), height, width }]
std::vector<at::Tensor> parseImages(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw UserError(std::string(what) + ": expected an array of images");
  auto array = value.As<Napi::Array>();
  if (array.Length() == 0) throw UserError(std::string(what) + ": no images");
  std::vector<at::Tensor> images;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    std::string name = std::string(what) + " image " + std::to_string(i);
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw UserError(name + ": expected { data, height, width }");
    auto object = item.As<Napi::Object>();
    int64_t height = optInt(object, "height", -1), width = optInt(object, "width", -1);
    if (height < 1 || width < 1) throw UserError(name + ": height and width must be positive integers");
    auto tensorObject = Napi::Object::New(value.Env());
    tensorObject.Set("data", object.Get("data"));
    auto shape = Napi::Array::New(value.Env(), 3);
    shape.Set(0u, Napi::Number::New(value.Env(), static_cast<double>(height)));
    shape.Set(1u, Napi::Number::New(value.Env(), static_cast<double>(width)));
    shape.Set(2u, Napi::Number::New(value.Env(), 3));
    tensorObject.Set("shape", shape);
    images.push_back(toTensor(tensorObject, name, TensorSpec{at::kByte, {height, width, 3}}));
  }
  return images;
}

model::PostprocessOptions parsePostprocess(const Napi::Value& value, const model::ModelConfig& config) {
  model::PostprocessOptions o;
  o.scoreThreshold = config.roi.scoreThreshold;
  o.nmsThreshold = config.roi.nmsThreshold;
  o.maxDetections = config.roi.maxDetections;
  if (value.IsUndefined() || value.IsNull()) return o;
  if (!value.IsObject()) throw UserError("detect options: expected an object");
  auto object = value.As<Napi::Object>();
  o.scoreThreshold = optNumber(object, "scoreThreshold", o.scoreThreshold);
  o.nmsThreshold = optNumber(object, "nmsThreshold", o.nmsThreshold);
  o.maxDetections = optInt(object, "maxDetections", o.maxDetections);
  o.returnGraph = optBool(object, "returnGraph", false);
  if (o.maxDetections < 0) throw UserError("maxDetections: expected an integer >= 0");
  if (!(o.nmsThreshold >= 0 && o.nmsThreshold <= 1)) throw UserError("nmsThreshold: expected a number in [0, 1]");
  return o;
}

void finalizeHandle(Napi::Env, Shared* handle) { delete handle; }

// createDetector(config) → handle
Napi::Value CreateDetector(const Napi::CallbackInfo& info) {
  if (info.Length() < 1) throw UserError("createDetector: expected a config object");
  auto config = parseModelConfig(info[0]);
  Shared handle;
  try {
    handle = std::make_shared<DetectorHandle>(config);
  } catch (const std::invalid_argument& error) {
    throw UserError(error.what());
  }
  handle->model->eval();
  return Napi::External<Shared>::New(info.Env(), new Shared(handle), finalizeHandle);
}
IR_RCNN_BINDING("createDetector", CreateDetector);

// detectorStateShapes(handle) → { name: shape[] } in state-dict order (parameters, then buffers).
Napi::Value DetectorStateShapes(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorStateShapes");
  Out out = Out::object();
  for (const auto& [name, sizes] : handle->stateShapes) {
    Out shape = Out::list();
    for (auto size : sizes) shape.push(static_cast<double>(size));
    out.set(name, shape);
  }
  return out.toJS(info.Env());
}
IR_RCNN_BINDING("detectorStateShapes", DetectorStateShapes);

// detectorLoadState(handle, { name: tensor }) → Promise<void>. Every given name must exist with
// the same shape; names not given keep their values (the caller reports missing keys).
Napi::Value DetectorLoadState(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorLoadState");
  if (info.Length() < 2 || !info[1].IsObject()) throw UserError("detectorLoadState: expected { name: tensor }");
  auto object = info[1].As<Napi::Object>();
  std::map<std::string, at::IntArrayRef> expected;
  for (const auto& [name, sizes] : handle->stateShapes) expected.emplace(name, sizes);
  std::map<std::string, at::Tensor> state;
  auto names = object.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    auto it = expected.find(name);
    if (it == expected.end()) throw UserError("weights: unexpected key '" + name + "' for this model");
    at::Tensor t = toTensor(object.Get(name), "weights '" + name + "'", TensorSpec{std::nullopt, {}});
    if (t.sizes() != it->second) {
      std::ostringstream message;
      message << "weights: '" << name << "' has shape " << t.sizes() << " but the model expects " << it->second;
      throw UserError(message.str());
    }
    if (!t.is_floating_point()) throw UserError("weights: '" + name + "' is not a floating-point tensor");
    state[name] = t;
  }
  return runAsync(info.Env(), [handle, state] {
    std::lock_guard<std::mutex> lock(handle->mutex);
    torch::NoGradGuard noGrad;
    std::map<std::string, at::Tensor> targets;
    for (const auto& p : handle->model->named_parameters()) targets[p.key()] = p.value();
    for (const auto& b : handle->model->named_buffers()) targets[b.key()] = b.value();
    for (const auto& [name, t] : state) targets.at(name).copy_(t);
    return Out();
  });
}
IR_RCNN_BINDING("detectorLoadState", DetectorLoadState);

// detectorStateDict(handle) → Promise<{ name: tensor }> (float32, on the CPU).
Napi::Value DetectorStateDict(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorStateDict");
  return runAsync(info.Env(), [handle] {
    std::lock_guard<std::mutex> lock(handle->mutex);
    Out out = Out::object();
    for (const auto& p : handle->model->named_parameters()) out.set(p.key(), p.value().detach().cpu().contiguous().clone());
    for (const auto& b : handle->model->named_buffers()) out.set(b.key(), b.value().detach().cpu().contiguous().clone());
    return out;
  });
}
IR_RCNN_BINDING("detectorStateDict", DetectorStateDict);

// detectorParameterCount(handle) → { total, trainable, relation }; FrozenBatchNorm statistics
// are buffers, not parameters, as in torchvision.
Napi::Value DetectorParameterCount(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorParameterCount");
  return Out::object()
      .set("total", handle->totalParameters)
      .set("trainable", handle->trainableParameters)
      .set("relation", handle->relationParameters)
      .toJS(info.Env());
}
IR_RCNN_BINDING("detectorParameterCount", DetectorParameterCount);

// detectorToDevice(handle, 'cpu' | 'cuda' | 'cuda:N') → Promise<void>
Napi::Value DetectorToDevice(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorToDevice");
  if (info.Length() < 2 || !info[1].IsString()) throw UserError("detectorToDevice: expected a device name");
  c10::Device device = parseDevice(info[1].As<Napi::String>().Utf8Value());
  return runAsync(info.Env(), [handle, device] {
    std::lock_guard<std::mutex> lock(handle->mutex);
    handle->model->to(device);
    return Out();
  });
}
IR_RCNN_BINDING("detectorToDevice", DetectorToDevice);

// detectorDetect(handle, images, { scoreThreshold, nmsThreshold, maxDetections, returnGraph })
//   → Promise<[{ boxes [D,4] (original pixels), scores, labels, proposalIndex, graph? }]>
Napi::Value DetectorDetect(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detect");
  auto images = parseImages(info.Length() > 1 ? info[1] : info.Env().Undefined(), "detect");
  auto options = parsePostprocess(info.Length() > 2 ? info[2] : info.Env().Undefined(), handle->model->config());
  return runAsync(info.Env(), [handle, images, options] {
    std::lock_guard<std::mutex> lock(handle->mutex);
    c10::InferenceMode inference;
    handle->model->eval();
    return detectionsOut(handle->model->detect(images, options));
  });
}
IR_RCNN_BINDING("detectorDetect", DetectorDetect);

// detectorTrace(handle, images, options, proposals?: tensor[] (network pixels)) → Promise<{
//   imageSizes, batchShape, features: tensor[], proposals: tensor[], classLogits, boxRegression,
//   detections }>: every stage of one pass, for parity tests and inspection.
Napi::Value DetectorTrace(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorTrace");
  auto images = parseImages(info.Length() > 1 ? info[1] : info.Env().Undefined(), "detectorTrace");
  auto options = parsePostprocess(info.Length() > 2 ? info[2] : info.Env().Undefined(), handle->model->config());
  std::optional<std::vector<at::Tensor>> proposals;
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
    if (!info[3].IsArray()) throw UserError("detectorTrace proposals: expected one tensor per image");
    auto array = info[3].As<Napi::Array>();
    proposals.emplace();
    for (uint32_t i = 0; i < array.Length(); ++i)
      proposals->push_back(toTensor(array.Get(i), "detectorTrace proposals", TensorSpec{at::kFloat, {-1, 4}, true}));
  }
  return runAsync(info.Env(), [handle, images, options, proposals] {
    std::lock_guard<std::mutex> lock(handle->mutex);
    c10::InferenceMode inference;
    handle->model->eval();
    auto trace = handle->model->trace(images, options, proposals);
    Out sizes = Out::list(), features = Out::list(), props = Out::list();
    for (const auto& [h, w] : trace.batch.imageSizes) sizes.push(Out::list({static_cast<double>(h), static_cast<double>(w)}));
    for (const auto& f : trace.features) features.push(f.contiguous());
    for (const auto& p : trace.proposals) props.push(p.contiguous());
    Out batchShape = Out::list();
    for (auto s : trace.batch.tensors.sizes()) batchShape.push(static_cast<double>(s));
    return Out::object()
        .set("imageSizes", sizes)
        .set("batchShape", batchShape)
        .set("features", features)
        .set("proposals", props)
        .set("classLogits", trace.classLogits.contiguous())
        .set("boxRegression", trace.boxRegression.contiguous())
        .set("detections", detectionsOut(trace.detections));
  });
}
IR_RCNN_BINDING("detectorTrace", DetectorTrace);

// targets: [{ boxes: Float32Array [n, 4] (x1, y1, x2, y2, image pixels), labels: Int32Array [n],
//   crowdBoxes: Float32Array [m, 4] }]
std::vector<model::Target> parseTargets(const Napi::Value& value, size_t count) {
  if (!value.IsArray() || value.As<Napi::Array>().Length() != count)
    throw UserError("detectorLosses targets: expected one target per image");
  auto array = value.As<Napi::Array>();
  std::vector<model::Target> targets;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    std::string name = "detectorLosses target " + std::to_string(i);
    if (!array.Get(i).IsObject()) throw UserError(name + ": expected { boxes, labels, crowdBoxes }");
    auto object = array.Get(i).As<Napi::Object>();
    model::Target t;
    t.boxes = toTensor(object.Get("boxes"), name + " boxes", TensorSpec{at::kFloat, {-1, 4}, true});
    t.labels = toTensor(object.Get("labels"), name + " labels", TensorSpec{at::kInt, {t.boxes.size(0)}}).to(at::kLong);
    Napi::Value crowd = object.Get("crowdBoxes");
    t.crowd = crowd.IsUndefined() || crowd.IsNull() ? torch::zeros({0, 4})
                                                   : toTensor(crowd, name + " crowdBoxes", TensorSpec{at::kFloat, {-1, 4}, true});
    targets.push_back(std::move(t));
  }
  return targets;
}

// detectorLosses(handle, images, targets, { seed? }) → Promise<{ loss_name: number }>: the
// training losses of one batch (no gradients), after torch::manual_seed(seed) when given.
Napi::Value DetectorLosses(const Napi::CallbackInfo& info) {
  auto handle = detectorFromJS(info[0], "detectorLosses");
  auto images = parseImages(info.Length() > 1 ? info[1] : info.Env().Undefined(), "detectorLosses");
  auto targets = parseTargets(info.Length() > 2 ? info[2] : info.Env().Undefined(), images.size());
  std::optional<uint64_t> seed;
  if (info.Length() > 3 && info[3].IsObject()) {
    int64_t s = optInt(info[3].As<Napi::Object>(), "seed", -1);
    if (s >= 0) seed = static_cast<uint64_t>(s);
  }
  return runAsync(info.Env(), [handle, images, targets, seed] {
    std::lock_guard<std::mutex> lock(handle->mutex);
    torch::NoGradGuard noGrad;
    if (seed) torch::manual_seed(*seed);
    handle->model->train();
    std::map<std::string, at::Tensor> losses;
    try {
      losses = handle->model->losses(images, targets);
    } catch (...) {
      handle->model->eval();
      throw;
    }
    handle->model->eval();
    Out out = Out::object();
    for (const auto& [name, value] : losses) out.set(name, value.item<double>());
    return out;
  });
}
IR_RCNN_BINDING("detectorLosses", DetectorLosses);

}  // namespace

DetectorHandle::DetectorHandle(const model::ModelConfig& config) : model(config) {
  for (const auto& p : model->named_parameters()) {
    stateShapes.emplace_back(p.key(), p.value().sizes().vec());
    double n = static_cast<double>(p.value().numel());
    totalParameters += n;
    if (p.value().requires_grad()) trainableParameters += n;
    if (p.key().rfind("roi_heads.relation.", 0) == 0) relationParameters += n;
  }
  for (const auto& b : model->named_buffers()) stateShapes.emplace_back(b.key(), b.value().sizes().vec());
}

std::shared_ptr<DetectorHandle> detectorFromJS(const Napi::Value& value, const char* what) {
  if (value.IsEmpty() || !value.IsExternal()) throw UserError(std::string(what) + ": expected a detector handle");
  auto* shared = value.As<Napi::External<Shared>>().Data();
  if (!shared || !*shared) throw UserError(std::string(what) + ": invalid detector handle");
  return *shared;
}

model::ModelConfig parseModelConfig(const Napi::Value& value) {
  if (!value.IsObject()) throw UserError("model config: expected an object");
  auto o = value.As<Napi::Object>();
  model::ModelConfig c;
  c.numClasses = optInt(o, "numClasses", c.numClasses);
  c.depth = optInt(o, "depth", c.depth);
  c.trainableLayers = optInt(o, "trainableLayers", c.trainableLayers);
  c.minSize = optInt(o, "minSize", c.minSize);
  c.maxSize = optInt(o, "maxSize", c.maxSize);
  c.imageMean = numbers(o, "imageMean", c.imageMean);
  c.imageStd = numbers(o, "imageStd", c.imageStd);
  c.anchorSizes = numbers(o, "anchorSizes", c.anchorSizes);
  c.aspectRatios = numbers(o, "aspectRatios", c.aspectRatios);
  if (c.imageMean.size() != 3 || c.imageStd.size() != 3) throw UserError("imageMean/imageStd: expected 3 numbers each");
  auto rpn = section(o, "rpn");
  c.rpn.preNmsTopNTrain = optInt(rpn, "preNmsTopNTrain", c.rpn.preNmsTopNTrain);
  c.rpn.preNmsTopNTest = optInt(rpn, "preNmsTopNTest", c.rpn.preNmsTopNTest);
  c.rpn.postNmsTopNTrain = optInt(rpn, "postNmsTopNTrain", c.rpn.postNmsTopNTrain);
  c.rpn.postNmsTopNTest = optInt(rpn, "postNmsTopNTest", c.rpn.postNmsTopNTest);
  c.rpn.nmsThreshold = optNumber(rpn, "nmsThreshold", c.rpn.nmsThreshold);
  c.rpn.fgIouThreshold = optNumber(rpn, "fgIouThreshold", c.rpn.fgIouThreshold);
  c.rpn.bgIouThreshold = optNumber(rpn, "bgIouThreshold", c.rpn.bgIouThreshold);
  c.rpn.batchSizePerImage = optInt(rpn, "batchSizePerImage", c.rpn.batchSizePerImage);
  c.rpn.positiveFraction = optNumber(rpn, "positiveFraction", c.rpn.positiveFraction);
  c.rpn.scoreThreshold = optNumber(rpn, "scoreThreshold", c.rpn.scoreThreshold);
  auto roi = section(o, "roi");
  c.roi.fgIouThreshold = optNumber(roi, "fgIouThreshold", c.roi.fgIouThreshold);
  c.roi.bgIouThreshold = optNumber(roi, "bgIouThreshold", c.roi.bgIouThreshold);
  c.roi.batchSizePerImage = optInt(roi, "batchSizePerImage", c.roi.batchSizePerImage);
  c.roi.positiveFraction = optNumber(roi, "positiveFraction", c.roi.positiveFraction);
  c.roi.scoreThreshold = optNumber(roi, "scoreThreshold", c.roi.scoreThreshold);
  c.roi.nmsThreshold = optNumber(roi, "nmsThreshold", c.roi.nmsThreshold);
  c.roi.maxDetections = optInt(roi, "maxDetections", c.roi.maxDetections);
  c.roi.representationSize = optInt(roi, "representationSize", c.roi.representationSize);
  auto relation = o.Get("relation");
  if (!relation.IsUndefined() && !relation.IsNull()) {
    if (!relation.IsObject()) throw UserError("relation: expected an object");
    auto r = relation.As<Napi::Object>();
    const bool enabled = optBool(r, "enabled", true);
    c.relation = parseRelationOptions(r, c.relation);
    c.relation.enabled = enabled;
  }
  return c;
}

model::RelationOptions parseRelationOptions(const Napi::Object& options, model::RelationOptions base) {
  base.k = optInt(options, "k", base.k);
  base.layers = optInt(options, "layers", base.layers);
  base.lambda = optNumber(options, "lambda", base.lambda);
  base.overlapThreshold = optNumber(options, "overlapThreshold", base.overlapThreshold);
  base.semantic = optBool(options, "semantic", base.semantic);
  base.spatial = optBool(options, "spatial", base.spatial);
  base.edgeWeights = optString(options, "edgeWeights", base.edgeWeights);
  base.propagation = optString(options, "propagation", base.propagation);
  base.auxLossWeight = optNumber(options, "auxLossWeight", base.auxLossWeight);
  return base;
}

}  // namespace ir_rcnn::addon
