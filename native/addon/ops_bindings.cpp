// JS bindings of the detection ops (native/ops), typed in src/ops.ts: one table entry per op,
// which reads its options object and binds the op to them; addon/op_runner.h runs them.
#include <cmath>

#include "addon/op_runner.h"
#include "ops/box_ops.h"
#include "ops/nms.h"
#include "ops/roi_align.h"

namespace ir_rcnn::addon {
namespace {

// ---- arguments several ops share ---------------------------------------------------------------
at::Tensor boxes(Object& o, const char* key) { return o.floats(key, {-1, 4}).finite(); }

// [height, width] as two positive integers.
std::pair<int64_t, int64_t> sizePair(const Value& value) {
  auto items = value.list();
  if (items.size() != 2) value.fail("expected [height, width]");
  return {items[0].integer().min(1), items[1].integer().min(1)};
}

// One integer, or [height, width] as torchvision accepts it; default 7.
std::pair<int64_t, int64_t> outputSize(Object& o) {
  auto value = o.optional("outputSize");
  if (value && value->js().IsArray()) return sizePair(*value);
  const int64_t size = o.integer("outputSize", 7).min(1);
  return {size, size};
}

// BoxCoder weights (wx, wy, ww, wh); default 1, 1, 1, 1.
ops::BoxCoder boxCoder(Object& o) {
  ops::BoxCoder coder;
  coder.weights = {1, 1, 1, 1};
  if (auto value = o.optional("weights")) {
    auto items = value->list();
    if (items.size() != 4) value->fail("expected [wx, wy, ww, wh]");
    for (size_t i = 0; i < 4; ++i) coder.weights[i] = items[i].number().positive();
  }
  return coder;
}

// ---- the ops ------------------------------------------------------------------------------------
const Op kOps[] = {
    {"roiAlign",
     [](Object& o) -> OpCall {
       at::Tensor input = o.floats("input", {-1, -1, -1, -1});
       at::Tensor rois = o.floats("rois", {-1, 5}).finite();
       const double scale = o.number("spatialScale", 1).positive();
       const auto [height, width] = outputSize(o);
       const int64_t sampling = o.integer("samplingRatio", -1);  // <= 0: adaptive
       const bool aligned = o.boolean("aligned", false);
       return {{input, rois}, [=](const Tensors& t) {
                 return ops::roiAlignForward(t[0], t[1], scale, height, width, sampling, aligned);
               }};
     }},
    {"roiAlignBackward",
     [](Object& o) -> OpCall {
       at::Tensor grad = o.floats("gradOutput", {-1, -1, -1, -1});
       at::Tensor rois = o.floats("rois", {-1, 5}).finite();
       Value shapeValue = o.get("inputShape");
       auto items = shapeValue.list();
       if (items.size() != 4) shapeValue.fail("expected [batch, channels, height, width]");
       std::array<int64_t, 4> shape{};
       for (size_t i = 0; i < 4; ++i) shape[i] = items[i].integer().min(0);
       const double scale = o.number("spatialScale", 1).positive();
       const int64_t sampling = o.integer("samplingRatio", -1);
       const bool aligned = o.boolean("aligned", false);
       return {{grad, rois}, [=](const Tensors& t) {
                 return ops::roiAlignBackward(t[0], t[1], scale, t[0].size(2), t[0].size(3), shape[0], shape[1], shape[2],
                                              shape[3], sampling, aligned);
               }};
     }},
    {"multiScaleRoiAlign",
     [](Object& o) -> OpCall {
       Tensors inputs;
       Value featureList = o.get("features");
       for (const auto& item : featureList.list()) inputs.push_back(item.floats({-1, -1, -1, -1}));
       if (inputs.empty()) featureList.fail("needs at least one feature map");
       const size_t levels = inputs.size();
       Value boxList = o.get("boxes");
       for (const auto& item : boxList.list()) inputs.push_back(item.floats({-1, 4}).finite());
       const int64_t batch = inputs[0].size(0);
       if (static_cast<int64_t>(inputs.size() - levels) != batch)
         boxList.fail(std::to_string(inputs.size() - levels) + " box lists for a batch of " + std::to_string(batch));
       std::vector<std::pair<int64_t, int64_t>> imageSizes;
       Value sizeList = o.get("imageSizes");
       for (const auto& item : sizeList.list()) imageSizes.push_back(sizePair(item));
       if (imageSizes.empty()) sizeList.fail("needs the [height, width] of each image");
       const int64_t size = o.integer("outputSize", 7).min(1);
       const int64_t sampling = o.integer("samplingRatio", 2);
       const int64_t canonicalScale = o.integer("canonicalScale", 224).min(1);
       const int64_t canonicalLevel = o.integer("canonicalLevel", 4);
       return {inputs, [=](const Tensors& t) {
                 return ops::multiScaleRoiAlign(Tensors(t.begin(), t.begin() + levels), Tensors(t.begin() + levels, t.end()),
                                                imageSizes, size, sampling, canonicalScale, canonicalLevel);
               }};
     }},
    {"assignFpnLevels",
     [](Object& o) -> OpCall {
       at::Tensor b = boxes(o, "boxes");
       const int64_t kMin = o.integer("kMin", 2);
       const int64_t kMax = o.integer("kMax", 5).min(kMin);
       const int64_t canonicalScale = o.integer("canonicalScale", 224).min(1);
       const int64_t canonicalLevel = o.integer("canonicalLevel", 4);
       return {{b}, [=](const Tensors& t) { return ops::assignFpnLevels(t[0], kMin, kMax, canonicalScale, canonicalLevel); }};
     }},
    {"nms",
     [](Object& o) -> OpCall {
       at::Tensor b = boxes(o, "boxes");
       at::Tensor scores = o.floats("scores", {b.size(0)}).finite();
       const double threshold = o.number("iouThreshold").finite();
       return {{b, scores}, [=](const Tensors& t) { return ops::nms(t[0], t[1], threshold); }};
     }},
    {"batchedNms",
     [](Object& o) -> OpCall {
       at::Tensor b = boxes(o, "boxes");
       at::Tensor scores = o.floats("scores", {b.size(0)}).finite();
       at::Tensor idxs = o.get("idxs").indices({b.size(0)});
       const double threshold = o.number("iouThreshold").finite();
       return {{b, scores, idxs}, [=](const Tensors& t) { return ops::batchedNms(t[0], t[1], t[2], threshold); }};
     }},
    {"boxIou",
     [](Object& o) -> OpCall {
       return {{boxes(o, "boxes1"), boxes(o, "boxes2")}, [](const Tensors& t) { return ops::boxIou(t[0], t[1]); }};
     }},
    {"encodeBoxes",
     [](Object& o) -> OpCall {
       at::Tensor reference = boxes(o, "reference");
       at::Tensor proposals = o.floats("proposals", {reference.size(0), 4}).finite();
       const ops::BoxCoder coder = boxCoder(o);
       return {{reference, proposals}, [=](const Tensors& t) { return coder.encode(t[0], t[1]); }};
     }},
    {"decodeBoxes",
     [](Object& o) -> OpCall {
       at::Tensor b = boxes(o, "boxes");
       Value deltasValue = o.get("deltas");
       at::Tensor deltas = deltasValue.floats({b.size(0), -1}).finite();
       if (deltas.size(1) % 4 != 0) deltasValue.fail("expected [N, 4*C], got " + std::to_string(deltas.size(1)) + " columns");
       ops::BoxCoder coder = boxCoder(o);
       coder.bboxXformClip = o.number("clip", std::log(1000.0 / 16));
       return {{deltas, b}, [=](const Tensors& t) { return coder.decode(t[0], t[1]); }};
     }},
    {"clipBoxes",
     [](Object& o) -> OpCall {
       at::Tensor b = boxes(o, "boxes");
       const int64_t height = o.integer("height").min(0);
       const int64_t width = o.integer("width").min(0);
       return {{b}, [=](const Tensors& t) { return ops::clipBoxesToImage(t[0], height, width); }};
     }},
    {"removeSmallBoxes",
     [](Object& o) -> OpCall {
       at::Tensor b = boxes(o, "boxes");
       const double minSize = o.number("minSize").finite();
       return {{b}, [=](const Tensors& t) { return ops::removeSmallBoxes(t[0], minSize); }};
     }},
};

const bool kRegistered = registerOps(std::begin(kOps), std::end(kOps));

}  // namespace
}  // namespace ir_rcnn::addon
