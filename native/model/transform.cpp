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
  // torchvision divides in float32 (a Python float by a float32 tensor) and then multiplies the
  // sizes by that float32 value in double precision: the same here, so sizes agree exactly.
  float shortSide = static_cast<float>(std::min(height, width));
  float longSide = static_cast<float>(std::max(height, width));
  float scale = std::min(static_cast<float>(minSize_) / shortSide, static_cast<float>(maxSize_) / longSide);
  double s = scale;
  return {static_cast<int64_t>(std::floor(static_cast<double>(height) * s)),
          static_cast<int64_t>(std::floor(static_cast<double>(width) * s))};
}

ImageBatch GeneralizedRCNNTransform::operator()(const std::vector<at::Tensor>& imagesHWC, const c10::Device& device,
                                                bool training) const {
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
    if (training) torch::empty({1}).uniform_(0.0, 1.0);  // torchvision's torch_choice over one size
    auto [rh, rw] = resizedSize(h, w);
    if (rh < 1 || rw < 1) throw std::invalid_argument("detector: image " + std::to_string(i) + " is too thin to resize");
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
