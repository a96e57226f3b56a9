// One training iteration, as the paper's recipe runs it: forward the loss terms over N
// micro-batches (gradient accumulation), backward, average gradients across ranks, optional
// gradient-norm clipping, SGD update with the scheduled learning rate. Mixed precision (autocast
// and a dynamic loss scale, as torch.cuda.amp.GradScaler) on CUDA only. The loss terms come back
// to the host once per step; nothing else in the step waits for the device.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/target.h"
#include "train/ddp.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace ir_rcnn::train {

struct MicroBatch {
  std::vector<at::Tensor> images;  // [H, W, 3] uint8 RGB, each its own size
  std::vector<model::Target> targets;  // in the pixels of their image
};

// What the trainer trains: a module and its named loss terms on a micro-batch (in train mode),
// with every random draw taken from the given generator.
struct TrainModel {
  std::shared_ptr<torch::nn::Module> module;
  std::function<std::map<std::string, at::Tensor>(const MicroBatch&, at::Generator&)> losses;
};

struct TrainerOptions {  // no defaults: the solver config (src/train/solver.ts) gives every field
  LrSchedule schedule;
  double momentum{};
  double weightDecay{};
  double clipGradNorm{};  // 0: no clipping
  bool amp{};             // CUDA only
  c10::Device device = c10::kCPU;
  uint64_t seed{};        // of the trainer's random stream (sampling, the training-size draw)
};

struct StepResult {
  std::map<std::string, double> losses;  // each term averaged over micro-batches and ranks, plus "loss"
  double lr = 0;
  int64_t iteration = 0;  // iterations done after this step
  bool finite = true;     // false: a loss term was NaN/Inf and nothing was updated
  bool skipped = false;   // AMP found Inf/NaN gradients and lowered the loss scale instead of updating
  bool stop = false;      // some rank asked to stop after this step (every rank sees the same)
};

class Trainer {
 public:
  // `ddp` may be null (one process); with it, rank 0's parameters are broadcast now.
  Trainer(TrainModel model, TrainerOptions options, std::unique_ptr<Distributed> ddp);

  // `requestStop`: this rank wants to stop after this step; the request travels with the
  // gradients so that all ranks stop at the same iteration.
  StepResult step(const std::vector<MicroBatch>& microBatches, bool requestStop = false);

  int64_t iteration() const { return iteration_; }
  // Everything a resume needs besides the data order: "model.<name>" (parameters and buffers),
  // "optimizer.momentum.<name>", "rng.cpu" (the trainer's generator), and "amp.scale" /
  // "amp.growth" when AMP is on.
  std::map<std::string, at::Tensor> state() const;
  void loadState(const std::map<std::string, at::Tensor>& state, int64_t iteration);

 private:
  std::vector<at::Tensor> gradients();

  TrainModel model_;
  TrainerOptions options_;
  std::unique_ptr<Distributed> ddp_;
  std::vector<std::pair<std::string, at::Tensor>> trainable_;
  std::unique_ptr<SGD> sgd_;
  int64_t iteration_ = 0;
  at::Tensor ampScale_, ampGrowth_;
  // The trainer's own CPU generator: nothing else in the process (a Detector.losses call with a
  // seed, another trainer) draws from it or reseeds it, so a run's stream is its seed's alone.
  mutable at::Generator generator_;
};

}  // namespace ir_rcnn::train
