#include "train/probe_model.h"

namespace ir_rcnn::train {

namespace {

struct ProbeImpl : torch::nn::Module {
  ProbeImpl(int64_t numClasses)
      : numClasses(numClasses),
        fc1(register_module("fc1", torch::nn::Linear(3 * 8 * 8, 32))),
        fc2(register_module("fc2", torch::nn::Linear(32, 4 + numClasses))) {}

  std::map<std::string, at::Tensor> losses(const MicroBatch& batch) {
    auto device = fc1->weight.device();
    std::vector<at::Tensor> pooled, boxTargets, labelTargets;
    for (size_t i = 0; i < batch.images.size(); ++i) {
      const at::Tensor& image = batch.images[i];
      at::Tensor x = image.to(device).permute({2, 0, 1}).to(at::kFloat).div(255).unsqueeze(0);
      pooled.push_back(torch::adaptive_avg_pool2d(x, {8, 8}).reshape({-1}));
      const model::Target& t = batch.targets[i];
      at::Tensor scale = at::tensor({image.size(1), image.size(0), image.size(1), image.size(0)}, at::kFloat);
      boxTargets.push_back(t.boxes.size(0) ? (t.boxes / scale).mean(0) : at::zeros({4}));
      labelTargets.push_back(t.labels.size(0) ? t.labels[0].to(at::kLong) : at::zeros({}, at::kLong));
    }
    at::Tensor out = fc2(torch::relu(fc1(at::stack(pooled))));
    at::Tensor boxLoss = torch::smooth_l1_loss(out.narrow(1, 0, 4), at::stack(boxTargets).to(device));
    at::Tensor clsLoss = torch::cross_entropy_loss(out.narrow(1, 4, numClasses), at::stack(labelTargets).to(device));
    return {{"loss_box", boxLoss}, {"loss_classifier", clsLoss}};
  }

  int64_t numClasses;
  torch::nn::Linear fc1, fc2;
};

}  // namespace

TrainModel makeProbeModel(int64_t numClasses) {
  if (numClasses < 2) throw std::invalid_argument("numClasses: expected an integer >= 2 (background included)");
  auto probe = std::make_shared<ProbeImpl>(numClasses);
  return {probe, [probe](const MicroBatch& batch, at::Generator&) { return probe->losses(batch); }};
}

}  // namespace ir_rcnn::train
