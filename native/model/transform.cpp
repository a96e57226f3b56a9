#include "model/transform.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ir_rcnn::model {

GeneralizedRCNNTransform::GeneralizedRCNNTransform(int64_t minSize, int64_t maxSize, std::vector<double> mean,
                                                   std::vector<double> std, int64_t sizeDivisible)
    : minSize_(minSize), maxSize_(maxSize), sizeDivisible_(sizeDivisible), mean_(std::move(mean)), std_(std::move(std)) {}

std::pair<int64_t, int64_t> GeneralizedRCNNTransform::resizedSize(int64_t height, int64_t width) const {
  // torchvision computes the scale as `self_min_size / min_size` with min_size a float32 tensor,
  // and Tensor.__rtruediv__ is reciprocal() * other: 1/side rounded to float32, then multiplied
  // in float32. A true division differs in the last bit for many sizes (800/480 gives 1.6666666,
  // the reciprocal product 1.6666667), and the floor below turns that bit into a pixel: 480×640
  // must become 800×1066, not 799×1066. The sizes are then floor(side * scale) in double, as
  // interpolate(recompute_scale_factor=True) computes them.
  const float shortSide = static_cast<float>(std::min(height, width));
  const float longSide = static_cast<float>(std::max(height, width));
  const float scale = std::min((1.0f / shortSide) * static_cast<float>(minSize_),
                               (1.0f / longSide) * static_cast<float>(maxSize_));
  // A side that would round to 0 px (a 4000×3 image) keeps 1 px, so every valid image resizes;
  // torchvision 0.14 raises there instead.
  auto resized = [&](int64_t side) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(side) * static_cast<double>(scale))));
  };
  return {resized(height), resized(width)};
}

ImageBatch GeneralizedRCNNTransform::operator()(const std::vector<at::Tensor>& imagesHWC, const c10::Device& device,
                                                const std::optional<at::Generator>& training) const {
  if (imagesHWC.empty()) throw std::invalid_argument("detector: no images");
  auto mean = torch::tensor(std::vector<float>(mean_.begin(), mean_.end()), torch::kFloat32).to(device).view({-1, 1, 1});
  auto stdev = torch::tensor(std::vector<float>(std_.begin(), std_.end()), torch::kFloat32).to(device).view({-1, 1, 1});
  ImageBatch batch;
  std::vector<at::Tensor> resized;
  int64_t maxH = 0, maxW = 0;
  for (size_t i = 0; i < imagesHWC.size(); ++i) {
    const auto& image = imagesHWC[i];
    if (image.dim() != 3 || image.size(2) != 3 || image.scalar_type() != torch::kUInt8 || image.size(0) < 1 || image.size(1) < 1)
      throw std::invalid_argument("detector: image " + std::to_string(i) + " is not a non-empty uint8 [H, W, 3] RGB image");
    int64_t h = image.size(0), w = image.size(1);
    // Made contiguous while still uint8: a permuted (channels-last) float image would carry its
    // strides through interpolate and cost a slow transposing copy into the batch.
    auto x = image.to(device).permute({2, 0, 1}).contiguous().to(torch::kFloat32).div(255);
    x = (x - mean) / stdev;
    if (training) torch::empty({1}).uniform_(0.0, 1.0, *training);  // torchvision's torch_choice over one size
    auto [rh, rw] = resizedSize(h, w);
    x = torch::nn::functional::interpolate(x.unsqueeze(0), torch::nn::functional::InterpolateFuncOptions()
                                                               .size(std::vector<int64_t>{rh, rw})
                                                               .mode(torch::kBilinear)
                                                               .align_corners(false));
    resized.push_back(x);
    batch.originalSizes.emplace_back(h, w);
    batch.imageSizes.emplace_back(rh, rw);
    maxH = std::max(maxH, rh), maxW = std::max(maxW, rw);
  }
  auto roundUp = [&](int64_t v) { return (v + sizeDivisible_ - 1) / sizeDivisible_ * sizeDivisible_; };
  batch.tensors = torch::zeros({static_cast<int64_t>(resized.size()), 3, roundUp(maxH), roundUp(maxW)},
                               torch::dtype(torch::kFloat32).device(device));
  for (size_t i = 0; i < resized.size(); ++i)
    batch.tensors[i].narrow(1, 0, resized[i].size(2)).narrow(2, 0, resized[i].size(3)).copy_(resized[i][0]);
  return batch;
}

at::Tensor GeneralizedRCNNTransform::resizeBoxes(const at::Tensor& boxes, std::pair<int64_t, int64_t> from,
                                                 std::pair<int64_t, int64_t> to) {
  auto opts = torch::dtype(torch::kFloat32).device(boxes.device());
  auto ratioH = torch::tensor(static_cast<float>(to.first), opts) / torch::tensor(static_cast<float>(from.first), opts);
  auto ratioW = torch::tensor(static_cast<float>(to.second), opts) / torch::tensor(static_cast<float>(from.second), opts);
  auto b = boxes.unbind(1);
  return torch::stack({b[0] * ratioW, b[1] * ratioH, b[2] * ratioW, b[3] * ratioH}, 1);
}

}  // namespace ir_rcnn::model
