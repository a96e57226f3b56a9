#include "model/anchor_generator.h"

#include <stdexcept>

namespace ir_rcnn::model {

AnchorGenerator::AnchorGenerator(std::vector<double> sizes, std::vector<double> aspectRatios)
    : sizes_(std::move(sizes)), aspectRatios_(std::move(aspectRatios)) {}

at::Tensor AnchorGenerator::cellAnchors(double size) const {
  // float32 throughout, as torchvision computes them.
  auto scales = torch::tensor({size}, torch::kFloat32);
  auto ratios = torch::tensor(std::vector<float>(aspectRatios_.begin(), aspectRatios_.end()), torch::kFloat32);
  auto hRatios = torch::sqrt(ratios);
  auto wRatios = 1 / hRatios;
  auto ws = (wRatios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
  auto hs = (hRatios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
  return (torch::stack({-ws, -hs, ws, hs}, 1) / 2).round();
}

at::Tensor AnchorGenerator::operator()(const std::vector<at::Tensor>& features, int64_t batchHeight,
                                       int64_t batchWidth) const {
  if (features.size() != sizes_.size())
    throw std::invalid_argument("anchor generator: " + std::to_string(sizes_.size()) + " anchor sizes for " +
                                std::to_string(features.size()) + " feature levels");
  std::vector<at::Tensor> all;
  for (size_t level = 0; level < features.size(); ++level) {
    int64_t gridH = features[level].size(-2), gridW = features[level].size(-1);
    int64_t strideH = batchHeight / gridH, strideW = batchWidth / gridW;
    auto device = features[level].device();
    auto shiftsX = torch::arange(0, gridW, torch::dtype(torch::kInt64).device(device)) * strideW;
    auto shiftsY = torch::arange(0, gridH, torch::dtype(torch::kInt64).device(device)) * strideH;
    auto grid = torch::meshgrid({shiftsY, shiftsX}, "ij");
    auto sx = grid[1].reshape(-1), sy = grid[0].reshape(-1);
    auto shifts = torch::stack({sx, sy, sx, sy}, 1);
    auto base = cellAnchors(sizes_[level]).to(device);
    all.push_back((shifts.view({-1, 1, 4}) + base.view({1, -1, 4})).reshape({-1, 4}));
  }
  return torch::cat(all, 0);
}

}  // namespace ir_rcnn::model
