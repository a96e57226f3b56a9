// JS bindings of the detection ops (native/ops). Each takes one options object, validates and
// copies its tensors on the JS thread, and runs the op on the thread pool, returning a Promise.
// `device` ('cpu' by default, 'cuda', 'cuda:N') runs the op there: the inputs are copied to it and
// the result comes back to the host, so that the CUDA kernels can be compared with the CPU ones.
#include <cmath>

#include "addon/binding.h"
#include "ops/box_ops.h"
#include "ops/nms.h"
#include "ops/roi_align.h"

namespace ir_rcnn::addon {
namespace {

// runAsync with autograd off (InferenceMode), as every op here is a pure function of its inputs.
Napi::Promise runInference(Napi::Env env, std::function<Out()> work) {
  return runAsync(env, [work = std::move(work)] {
    c10::InferenceMode guard;
    return work();
  });
}

// A float32/float64 tensor of the given shape (-1 = any size).
at::Tensor floatTensor(const Napi::Value& value, const std::string& what, std::vector<int64_t> shape, bool finite) {
  at::Tensor t = toTensor(value, what, TensorSpec{std::nullopt, std::move(shape), finite});
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
    throw UserError(what + ": expected a Float32Array or Float64Array, got dtype " +
                    std::string(c10::toString(t.scalar_type())));
  return t;
}

std::vector<at::Tensor> onDevice(const std::vector<at::Tensor>& tensors, c10::Device device) {
  std::vector<at::Tensor> moved;
  for (const auto& t : tensors) moved.push_back(t.to(device));
  return moved;
}

void sameDtype(const at::Tensor& a, const at::Tensor& b, const std::string& what) {
  if (a.scalar_type() != b.scalar_type())
    throw UserError(what + ": dtypes differ (" + c10::toString(a.scalar_type()) + " vs " + c10::toString(b.scalar_type()) +
                    "); use the same typed array for both");
}

int64_t positiveInt(const Napi::Value& value, const std::string& what) {
  double d = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0;
  if (!(d >= 1) || d != std::floor(d) || d > 1e9) throw UserError(what + ": expected an integer >= 1");
  return static_cast<int64_t>(d);
}

int64_t positiveInt(const Napi::Object& options, const char* key, int64_t fallback, const std::string& where) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  return positiveInt(v, where + "." + key);
}

// [height, width] as two positive integers.
std::pair<int64_t, int64_t> sizePair(const Napi::Value& value, const std::string& what) {
  if (!value.IsArray() || value.As<Napi::Array>().Length() != 2) throw UserError(what + ": expected [height, width]");
  auto a = value.As<Napi::Array>();
  return {positiveInt(a.Get(0u), what + "[0]"), positiveInt(a.Get(1u), what + "[1]")};
}

double positiveNumber(const Napi::Object& options, const char* key, double fallback, const std::string& where) {
  double v = optNumber(options, key, fallback);
  if (!(v > 0) || !std::isfinite(v)) throw UserError(where + "." + key + ": expected a positive number");
  return v;
}

double iouThreshold(const Napi::Object& options, const std::string& where) {
  double v = reqNumber(options, "iouThreshold");
  if (!std::isfinite(v)) throw UserError(where + ".iouThreshold: expected a finite number");
  return v;
}

// Output size as torchvision accepts it: one integer, or [height, width].
std::pair<int64_t, int64_t> outputSize(const Napi::Object& options, int64_t fallback, const std::string& where) {
  Napi::Value v = options.Get("outputSize");
  if (v.IsUndefined() || v.IsNull()) return {fallback, fallback};
  if (v.IsArray()) return sizePair(v, where + ".outputSize");
  int64_t s = positiveInt(options, "outputSize", fallback, where);
  return {s, s};
}

// sampling ratio <= 0 is adaptive (torchvision's -1).
int64_t samplingRatio(const Napi::Object& options, int64_t fallback) { return optInt(options, "samplingRatio", fallback); }

std::array<double, 4> coderWeights(const Napi::Object& options, const std::string& where) {
  std::array<double, 4> weights{1, 1, 1, 1};
  Napi::Value v = options.Get("weights");
  if (v.IsUndefined() || v.IsNull()) return weights;
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 4)
    throw UserError(where + ".weights: expected [wx, wy, ww, wh]");
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 4; ++i) {
    Napi::Value w = a.Get(i);
    if (!w.IsNumber() || !(w.As<Napi::Number>().DoubleValue() > 0) || !std::isfinite(w.As<Napi::Number>().DoubleValue()))
      throw UserError(where + ".weights[" + std::to_string(i) + "]: expected a positive number");
    weights[i] = w.As<Napi::Number>().DoubleValue();
  }
  return weights;
}

Napi::Value RoiAlign(const Napi::CallbackInfo& info) {
  const std::string where = "roiAlign";
  auto options = argObject(info, 0, "roiAlign");
  const c10::Device device = opDevice(options, where);
  auto input = floatTensor(options.Get("input"), where + ".input", {-1, -1, -1, -1}, false);
  auto rois = floatTensor(options.Get("rois"), where + ".rois", {-1, 5}, true);
  sameDtype(input, rois, where);
  double scale = positiveNumber(options, "spatialScale", 1.0, where);
  auto [ph, pw] = outputSize(options, 7, where);
  int64_t sampling = samplingRatio(options, -1);
  bool aligned = optBool(options, "aligned", false);
  return runInference(info.Env(), [=] {
    return Out(ops::roiAlignForward(input.to(device), rois.to(device), scale, ph, pw, sampling, aligned));
  });
}
IR_RCNN_BINDING("roiAlign", RoiAlign);

Napi::Value RoiAlignBackward(const Napi::CallbackInfo& info) {
  const std::string where = "roiAlignBackward";
  auto options = argObject(info, 0, "roiAlignBackward");
  const c10::Device device = opDevice(options, where);
  auto grad = floatTensor(options.Get("gradOutput"), where + ".gradOutput", {-1, -1, -1, -1}, false);
  auto rois = floatTensor(options.Get("rois"), where + ".rois", {-1, 5}, true);
  sameDtype(grad, rois, where);
  Napi::Value shapeValue = options.Get("inputShape");
  if (!shapeValue.IsArray() || shapeValue.As<Napi::Array>().Length() != 4)
    throw UserError(where + ".inputShape: expected [batch, channels, height, width]");
  std::array<int64_t, 4> shape{};
  for (uint32_t i = 0; i < 4; ++i) {
    Napi::Value s = shapeValue.As<Napi::Array>().Get(i);
    double d = s.IsNumber() ? s.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != std::floor(d) || d > 1e9)
      throw UserError(where + ".inputShape[" + std::to_string(i) + "]: expected a non-negative integer");
    shape[i] = static_cast<int64_t>(d);
  }
  double scale = positiveNumber(options, "spatialScale", 1.0, where);
  int64_t sampling = samplingRatio(options, -1);
  bool aligned = optBool(options, "aligned", false);
  return runInference(info.Env(), [=] {
    return Out(ops::roiAlignBackward(grad.to(device), rois.to(device), scale, grad.size(2), grad.size(3), shape[0], shape[1], shape[2],
                                     shape[3], sampling, aligned));
  });
}
IR_RCNN_BINDING("roiAlignBackward", RoiAlignBackward);

Napi::Value MultiScaleRoiAlign(const Napi::CallbackInfo& info) {
  const std::string where = "multiScaleRoiAlign";
  auto options = argObject(info, 0, "multiScaleRoiAlign");
  const c10::Device device = opDevice(options, where);
  auto list = [&](const char* key) {
    Napi::Value v = options.Get(key);
    if (!v.IsArray()) throw UserError(where + "." + key + ": expected an array");
    return v.As<Napi::Array>();
  };
  std::vector<at::Tensor> features, boxes;
  auto featureList = list("features");
  for (uint32_t i = 0; i < featureList.Length(); ++i) {
    features.push_back(floatTensor(featureList.Get(i), where + ".features[" + std::to_string(i) + "]", {-1, -1, -1, -1}, false));
  }
  auto boxList = list("boxes");
  for (uint32_t i = 0; i < boxList.Length(); ++i) {
    boxes.push_back(floatTensor(boxList.Get(i), where + ".boxes[" + std::to_string(i) + "]", {-1, 4}, true));
  }
  if (features.empty()) throw UserError(where + ".features: needs at least one feature map");
  for (const auto& t : features) sameDtype(features[0], t, where + ".features");
  for (const auto& t : boxes) sameDtype(features[0], t, where + ".boxes");
  if (static_cast<int64_t>(boxes.size()) != features[0].size(0))
    throw UserError(where + ".boxes: " + std::to_string(boxes.size()) + " box lists for a batch of " +
                    std::to_string(features[0].size(0)));
  std::vector<std::pair<int64_t, int64_t>> imageSizes;
  auto sizeList = list("imageSizes");
  for (uint32_t i = 0; i < sizeList.Length(); ++i) {
    imageSizes.push_back(sizePair(sizeList.Get(i), where + ".imageSizes[" + std::to_string(i) + "]"));
  }
  if (imageSizes.empty()) throw UserError(where + ".imageSizes: needs the (height, width) of each image");
  int64_t size = positiveInt(options, "outputSize", 7, where);
  int64_t sampling = samplingRatio(options, 2);
  int64_t canonicalScale = positiveInt(options, "canonicalScale", 224, where);
  int64_t canonicalLevel = optInt(options, "canonicalLevel", 4);
  return runInference(info.Env(), [=] {
    return Out(ops::multiScaleRoiAlign(onDevice(features, device), onDevice(boxes, device), imageSizes, size, sampling, canonicalScale, canonicalLevel));
  });
}
IR_RCNN_BINDING("multiScaleRoiAlign", MultiScaleRoiAlign);

Napi::Value AssignFpnLevels(const Napi::CallbackInfo& info) {
  const std::string where = "assignFpnLevels";
  auto options = argObject(info, 0, "assignFpnLevels");
  const c10::Device device = opDevice(options, where);
  auto boxes = floatTensor(options.Get("boxes"), where + ".boxes", {-1, 4}, true);
  int64_t kMin = optInt(options, "kMin", 2), kMax = optInt(options, "kMax", 5);
  if (kMin > kMax) throw UserError(where + ": kMin must not exceed kMax");
  int64_t canonicalScale = positiveInt(options, "canonicalScale", 224, where);
  int64_t canonicalLevel = optInt(options, "canonicalLevel", 4);
  return runInference(info.Env(), [=] {
    return Out(ops::assignFpnLevels(boxes.to(device), kMin, kMax, canonicalScale, canonicalLevel));
  });
}
IR_RCNN_BINDING("assignFpnLevels", AssignFpnLevels);

Napi::Value Nms(const Napi::CallbackInfo& info) {
  const std::string where = "nms";
  auto options = argObject(info, 0, "nms");
  const c10::Device device = opDevice(options, where);
  auto boxes = floatTensor(options.Get("boxes"), where + ".boxes", {-1, 4}, true);
  auto scores = floatTensor(options.Get("scores"), where + ".scores", {boxes.size(0)}, true);
  sameDtype(boxes, scores, where);
  double threshold = iouThreshold(options, where);
  return runInference(info.Env(), [=] {
    return Out(ops::nms(boxes.to(device), scores.to(device), threshold));
  });
}
IR_RCNN_BINDING("nms", Nms);

Napi::Value BatchedNms(const Napi::CallbackInfo& info) {
  const std::string where = "batchedNms";
  auto options = argObject(info, 0, "batchedNms");
  const c10::Device device = opDevice(options, where);
  auto boxes = floatTensor(options.Get("boxes"), where + ".boxes", {-1, 4}, true);
  auto scores = floatTensor(options.Get("scores"), where + ".scores", {boxes.size(0)}, true);
  sameDtype(boxes, scores, where);
  auto idxs = toTensor(options.Get("idxs"), where + ".idxs", TensorSpec{std::nullopt, {boxes.size(0)}, false});
  if (idxs.scalar_type() != at::kInt && idxs.scalar_type() != at::kLong)
    throw UserError(where + ".idxs: expected an Int32Array or BigInt64Array of class indices");
  double threshold = iouThreshold(options, where);
  return runInference(info.Env(), [=] {
    return Out(ops::batchedNms(boxes.to(device), scores.to(device), idxs.to(device, at::kLong), threshold));
  });
}
IR_RCNN_BINDING("batchedNms", BatchedNms);

Napi::Value BoxIou(const Napi::CallbackInfo& info) {
  const std::string where = "boxIou";
  auto options = argObject(info, 0, "boxIou");
  const c10::Device device = opDevice(options, where);
  auto a = floatTensor(options.Get("boxes1"), where + ".boxes1", {-1, 4}, true);
  auto b = floatTensor(options.Get("boxes2"), where + ".boxes2", {-1, 4}, true);
  sameDtype(a, b, where);
  return runInference(info.Env(), [=] {
    return Out(ops::boxIou(a.to(device), b.to(device)));
  });
}
IR_RCNN_BINDING("boxIou", BoxIou);

Napi::Value EncodeBoxes(const Napi::CallbackInfo& info) {
  const std::string where = "encodeBoxes";
  auto options = argObject(info, 0, "encodeBoxes");
  const c10::Device device = opDevice(options, where);
  auto reference = floatTensor(options.Get("reference"), where + ".reference", {-1, 4}, true);
  auto proposals = floatTensor(options.Get("proposals"), where + ".proposals", {reference.size(0), 4}, true);
  sameDtype(reference, proposals, where);
  ops::BoxCoder coder;
  coder.weights = coderWeights(options, where);
  return runInference(info.Env(), [=] {
    return Out(coder.encode(reference.to(device), proposals.to(device)));
  });
}
IR_RCNN_BINDING("encodeBoxes", EncodeBoxes);

Napi::Value DecodeBoxes(const Napi::CallbackInfo& info) {
  const std::string where = "decodeBoxes";
  auto options = argObject(info, 0, "decodeBoxes");
  const c10::Device device = opDevice(options, where);
  auto boxes = floatTensor(options.Get("boxes"), where + ".boxes", {-1, 4}, true);
  auto deltas = floatTensor(options.Get("deltas"), where + ".deltas", {boxes.size(0), -1}, true);
  sameDtype(boxes, deltas, where);
  if (deltas.size(1) % 4 != 0) throw UserError(where + ".deltas: expected [N, 4*C], got " + std::to_string(deltas.size(1)) + " columns");
  ops::BoxCoder coder;
  coder.weights = coderWeights(options, where);
  coder.bboxXformClip = optNumber(options, "clip", coder.bboxXformClip);
  return runInference(info.Env(), [=] {
    return Out(coder.decode(deltas.to(device), boxes.to(device)));
  });
}
IR_RCNN_BINDING("decodeBoxes", DecodeBoxes);

Napi::Value ClipBoxes(const Napi::CallbackInfo& info) {
  const std::string where = "clipBoxes";
  auto options = argObject(info, 0, "clipBoxes");
  const c10::Device device = opDevice(options, where);
  auto boxes = floatTensor(options.Get("boxes"), where + ".boxes", {-1, 4}, true);
  int64_t height = optInt(options, "height", -1), width = optInt(options, "width", -1);
  if (height < 0 || width < 0) throw UserError(where + ": height and width must be non-negative integers");
  return runInference(info.Env(), [=] {
    return Out(ops::clipBoxesToImage(boxes.to(device), height, width));
  });
}
IR_RCNN_BINDING("clipBoxes", ClipBoxes);

Napi::Value RemoveSmallBoxes(const Napi::CallbackInfo& info) {
  const std::string where = "removeSmallBoxes";
  auto options = argObject(info, 0, "removeSmallBoxes");
  const c10::Device device = opDevice(options, where);
  auto boxes = floatTensor(options.Get("boxes"), where + ".boxes", {-1, 4}, true);
  double minSize = reqNumber(options, "minSize");
  return runInference(info.Env(), [=] {
    return Out(ops::removeSmallBoxes(boxes.to(device), minSize));
  });
}
IR_RCNN_BINDING("removeSmallBoxes", RemoveSmallBoxes);

}  // namespace
}  // namespace ir_rcnn::addon
