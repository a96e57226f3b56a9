#include "train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "error.h"
#include "model/autocast_scope.h"
#include "model/state_dict.h"

namespace ir_rcnn::train {

namespace {

const char* kModel = "model.";
const char* kMomentum = "optimizer.momentum.";

}  // namespace

Trainer::Trainer(TrainModel model, TrainerOptions options, std::unique_ptr<Distributed> ddp)
    : model_(std::move(model)),
      options_(std::move(options)),
      ddp_(std::move(ddp)),
      generator_(at::make_generator<at::CPUGeneratorImpl>(options_.seed)) {
  options_.schedule.validate();
  if (options_.clipGradNorm < 0 || !std::isfinite(options_.clipGradNorm))
    throw std::invalid_argument("clipGradNorm: expected a number >= 0 (0 turns clipping off)");
  if (options_.amp && !options_.device.is_cuda())
    throw std::invalid_argument("amp: mixed precision needs a CUDA device");
  model_.module->to(options_.device);
  for (auto& item : model_.module->named_parameters(true))
    if (item.value().requires_grad()) trainable_.emplace_back(item.key(), item.value());
  if (trainable_.empty()) throw std::invalid_argument("model: has no trainable parameters");
  sgd_ = std::make_unique<SGD>(trainable_, options_.momentum, options_.weightDecay);
  if (options_.amp) {
    auto f = at::TensorOptions().device(options_.device).dtype(at::kFloat);
    ampScale_ = at::full({1}, 65536.0, f);  // GradScaler's init_scale
    ampGrowth_ = at::zeros({1}, f.dtype(at::kInt));
  }
  if (ddp_) {
    std::vector<at::Tensor> all;
    for (auto& [name, tensor] : model::stateTensors(*model_.module)) all.push_back(tensor.detach());
    ddp_->broadcast(all);
  }
}

std::vector<at::Tensor> Trainer::gradients() {
  // Every trainable parameter gets a gradient (zeros when unused) so that the ranks' buckets line
  // up and the update does not depend on how the batch was split.
  std::vector<at::Tensor> grads;
  for (auto& [name, p] : trainable_) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  return grads;
}

StepResult Trainer::step(const std::vector<MicroBatch>& microBatches, bool requestStop) {
  if (microBatches.empty()) throw std::invalid_argument("step: expected at least one micro-batch");
  model_.module->train();
  for (auto& [name, p] : trainable_) p.mutable_grad() = at::Tensor();

  const double share = 1.0 / static_cast<double>(microBatches.size());
  std::vector<std::string> names;
  at::Tensor terms;  // [T] float32 running mean of the loss terms
  for (size_t m = 0; m < microBatches.size(); ++m) {
    std::map<std::string, at::Tensor> losses;
    {
      model::AutocastScope autocast(options_.amp, c10::DeviceType::CUDA);
      losses = model_.losses(microBatches[m], generator_);
    }
    if (losses.empty()) throw std::runtime_error("model: returned no loss terms");
    std::vector<at::Tensor> values;
    std::vector<std::string> these;
    for (auto& [name, value] : losses) {
      these.push_back(name);
      values.push_back(value.to(at::kFloat).reshape({}));
    }
    if (m == 0) names = these;
    else if (these != names) throw std::runtime_error("model: loss terms changed between micro-batches");
    at::Tensor stacked = at::stack(values);
    at::Tensor total = stacked.sum() * share;
    (options_.amp ? total * ampScale_ : total).backward();
    at::Tensor detached = stacked.detach() * share;
    terms = m == 0 ? detached : terms + detached;
  }

  std::vector<at::Tensor> grads = gradients();
  // [terms..., stop]: the stop request is averaged with the terms; > 0 means some rank asked.
  terms = at::cat({terms, at::full({1}, requestStop ? 1.0 : 0.0, terms.options())});
  if (ddp_) {
    // The loss terms ride along with the last bucket: every rank sees the global mean, and a
    // NaN on any rank stops every rank at the same iteration.
    at::Tensor shared = terms.to(grads.back().options());
    std::vector<at::Tensor> all = grads;
    all.push_back(shared);
    ddp_->allreduceMean(all);
    terms = shared;
  }

  at::Tensor foundInf = at::zeros({1}, terms.options());
  if (options_.amp) {
    at::Tensor invScale = ampScale_.to(at::kDouble).reciprocal().to(at::kFloat);
    at::_amp_foreach_non_finite_check_and_unscale_(grads, foundInf, invScale);
  }
  if (options_.clipGradNorm > 0) {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(g.norm());
    at::Tensor totalNorm = at::stack(norms).norm();
    at::Tensor coef = (options_.clipGradNorm / (totalNorm + 1e-6)).clamp_max(1.0);
    for (auto& g : grads) g.mul_(coef);
  }

  // The one host sync of the step.
  at::Tensor host = at::cat({terms.to(at::kFloat), foundInf.to(terms.device(), at::kFloat)}).to(at::kCPU, at::kDouble);
  const double* h = host.data_ptr<double>();
  StepResult result;
  result.stop = h[names.size()] > 0;
  result.lr = options_.schedule.lrAt(iteration_);
  double sum = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    result.losses[names[i]] = h[i];
    sum += h[i];
    if (!std::isfinite(h[i])) result.finite = false;
  }
  result.losses["loss"] = sum;
  if (!result.finite) {
    for (auto& [name, p] : trainable_) p.mutable_grad() = at::Tensor();
    result.iteration = iteration_;
    return result;
  }
  result.skipped = h[names.size() + 1] != 0;
  if (!result.skipped) sgd_->step(result.lr);
  if (options_.amp) at::_amp_update_scale_(ampScale_, ampGrowth_, foundInf, 2.0, 0.5, 2000);
  result.iteration = ++iteration_;
  return result;
}

std::map<std::string, at::Tensor> Trainer::state() const {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, tensor] : model::exportState(*model_.module)) out[kModel + name] = tensor;
  for (auto& [name, buffer] : sgd_->momentumBuffers()) out[kMomentum + name] = buffer.cpu().clone();
  {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    out["rng.cpu"] = generator_.get_state();
  }
  if (options_.amp) {
    out["amp.scale"] = ampScale_.cpu().clone();
    out["amp.growth"] = ampGrowth_.cpu().clone();
  }
  return out;
}

void Trainer::loadState(const std::map<std::string, at::Tensor>& state, int64_t iteration) {
  if (iteration < 0) throw UserError("checkpoint: iteration must be >= 0");
  std::map<std::string, at::Tensor> modelState, momentum;
  for (auto& [key, value] : state) {
    if (key.rfind(kModel, 0) == 0) {
      modelState[key.substr(std::strlen(kModel))] = value;
    } else if (key.rfind(kMomentum, 0) == 0) {
      momentum[key.substr(std::strlen(kMomentum))] = value;
    } else if (key != "rng.cpu" && key != "amp.scale" && key != "amp.growth") {
      throw UserError("checkpoint: unexpected tensor '" + key + "'", ErrorCode::Weights);
    }
  }
  // Everything is checked before anything is copied: a bad checkpoint leaves the trainer as it was.
  const model::StateCopies copies = model::matchState(*model_.module, modelState, "checkpoint", /*complete=*/true);
  sgd_->loadMomentumBuffers(momentum);
  model::copyState(copies);
  if (auto it = state.find("rng.cpu"); it != state.end()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(it->second.to(at::kByte));
  }
  if (options_.amp) {
    if (auto it = state.find("amp.scale"); it != state.end()) ampScale_.copy_(it->second);
    if (auto it = state.find("amp.growth"); it != state.end()) ampGrowth_.copy_(it->second);
  }
  iteration_ = iteration;
}

}  // namespace ir_rcnn::train
