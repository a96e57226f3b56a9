// Box utilities written with the same tensor expressions as torchvision.ops.boxes and
// torchvision.models.detection._utils.BoxCoder, so that float32 results round identically.
#include "ops/box_ops.h"

namespace ir_rcnn::ops {
namespace {

void checkBoxes(const at::Tensor& boxes, const char* where) {
  TORCH_CHECK_VALUE(boxes.dim() == 2 && boxes.size(1) == 4, where, ": boxes must be [N, 4], got ", boxes.sizes());
  TORCH_CHECK_VALUE(boxes.is_floating_point(), where, ": boxes must be floating point, got ", boxes.scalar_type());
}

}  // namespace

at::Tensor boxArea(const at::Tensor& boxes) {
  checkBoxes(boxes, "boxArea");
  return (boxes.select(1, 2) - boxes.select(1, 0)) * (boxes.select(1, 3) - boxes.select(1, 1));
}

at::Tensor boxIou(const at::Tensor& a, const at::Tensor& b) {
  checkBoxes(a, "boxIou");
  checkBoxes(b, "boxIou");
  TORCH_CHECK_VALUE(a.scalar_type() == b.scalar_type(), "boxIou: dtypes differ (", a.scalar_type(), " vs ", b.scalar_type(),
              ")");
  auto area1 = boxArea(a);
  auto area2 = boxArea(b);
  auto lt = at::max(a.slice(1, 0, 2).unsqueeze(1), b.slice(1, 0, 2).unsqueeze(0));
  auto rb = at::min(a.slice(1, 2, 4).unsqueeze(1), b.slice(1, 2, 4).unsqueeze(0));
  auto wh = (rb - lt).clamp_min(0);
  auto inter = wh.select(2, 0) * wh.select(2, 1);
  auto unionArea = area1.unsqueeze(1) + area2.unsqueeze(0) - inter;
  return inter / unionArea;
}

at::Tensor clipBoxesToImage(const at::Tensor& boxes, int64_t height, int64_t width) {
  checkBoxes(boxes, "clipBoxes");
  TORCH_CHECK_VALUE(height >= 0 && width >= 0, "clipBoxes: image size must be non-negative, got ", height, "x", width);
  auto x = boxes.slice(1, 0, 4, 2).clamp(0, static_cast<double>(width));
  auto y = boxes.slice(1, 1, 4, 2).clamp(0, static_cast<double>(height));
  return at::stack({x, y}, 2).reshape(boxes.sizes());
}

at::Tensor removeSmallBoxes(const at::Tensor& boxes, double minSize) {
  checkBoxes(boxes, "removeSmallBoxes");
  auto ws = boxes.select(1, 2) - boxes.select(1, 0);
  auto hs = boxes.select(1, 3) - boxes.select(1, 1);
  return at::nonzero((ws >= minSize) & (hs >= minSize)).squeeze(1);
}

at::Tensor BoxCoder::encode(const at::Tensor& reference, const at::Tensor& proposals) const {
  checkBoxes(reference, "encodeBoxes (reference)");
  checkBoxes(proposals, "encodeBoxes (proposals)");
  TORCH_CHECK_VALUE(reference.size(0) == proposals.size(0), "encodeBoxes: ", reference.size(0), " reference boxes for ",
              proposals.size(0), " proposals");
  TORCH_CHECK_VALUE(reference.scalar_type() == proposals.scalar_type(), "encodeBoxes: dtypes differ");
  // torchvision turns the weights into tensors of the boxes' dtype.
  auto w = at::tensor(std::vector<double>(weights.begin(), weights.end()), reference.options());
  auto col = [](const at::Tensor& t, int64_t i) { return t.select(1, i).unsqueeze(1); };
  auto exWidths = col(proposals, 2) - col(proposals, 0);
  auto exHeights = col(proposals, 3) - col(proposals, 1);
  auto exCtrX = col(proposals, 0) + 0.5 * exWidths;
  auto exCtrY = col(proposals, 1) + 0.5 * exHeights;
  auto gtWidths = col(reference, 2) - col(reference, 0);
  auto gtHeights = col(reference, 3) - col(reference, 1);
  auto gtCtrX = col(reference, 0) + 0.5 * gtWidths;
  auto gtCtrY = col(reference, 1) + 0.5 * gtHeights;
  auto dx = w[0] * (gtCtrX - exCtrX) / exWidths;
  auto dy = w[1] * (gtCtrY - exCtrY) / exHeights;
  auto dw = w[2] * at::log(gtWidths / exWidths);
  auto dh = w[3] * at::log(gtHeights / exHeights);
  return at::cat({dx, dy, dw, dh}, 1);
}

at::Tensor BoxCoder::decode(const at::Tensor& relCodes, const at::Tensor& boxes) const {
  checkBoxes(boxes, "decodeBoxes (boxes)");
  TORCH_CHECK_VALUE(relCodes.dim() == 2 && relCodes.size(1) % 4 == 0 && relCodes.size(0) == boxes.size(0),
              "decodeBoxes: deltas must be [", boxes.size(0), ", 4*C], got ", relCodes.sizes());
  TORCH_CHECK_VALUE(relCodes.is_floating_point(), "decodeBoxes: deltas must be floating point");
  auto b = boxes.to(relCodes.scalar_type());
  auto widths = (b.select(1, 2) - b.select(1, 0)).unsqueeze(1);
  auto heights = (b.select(1, 3) - b.select(1, 1)).unsqueeze(1);
  auto ctrX = b.select(1, 0).unsqueeze(1) + 0.5 * widths;
  auto ctrY = b.select(1, 1).unsqueeze(1) + 0.5 * heights;
  auto dx = relCodes.slice(1, 0, c10::nullopt, 4) / weights[0];
  auto dy = relCodes.slice(1, 1, c10::nullopt, 4) / weights[1];
  // Clamped so that exp() cannot overflow on wild regressions.
  auto dw = (relCodes.slice(1, 2, c10::nullopt, 4) / weights[2]).clamp_max(bboxXformClip);
  auto dh = (relCodes.slice(1, 3, c10::nullopt, 4) / weights[3]).clamp_max(bboxXformClip);
  auto predCtrX = dx * widths + ctrX;
  auto predCtrY = dy * heights + ctrY;
  auto halfW = at::scalar_tensor(0.5, predCtrX.options()) * (at::exp(dw) * widths);
  auto halfH = at::scalar_tensor(0.5, predCtrY.options()) * (at::exp(dh) * heights);
  return at::stack({predCtrX - halfW, predCtrY - halfH, predCtrX + halfW, predCtrY + halfH}, 2);
}

}  // namespace ir_rcnn::ops
