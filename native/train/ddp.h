// Data-parallel training on PyTorch's c10d: a TCPStore rendezvous (torchrun's MASTER_ADDR /
// MASTER_PORT / RANK / WORLD_SIZE), ProcessGroupGloo on CPU (ProcessGroupNCCL for CUDA tensors
// when Torch has CUDA), parameters broadcast from rank 0, and gradients averaged in flat buckets.
// Every collective has a timeout, so a dead or unreachable peer ends in an error, not a hang.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ir_rcnn::train {

struct DistributedOptions {  // all given by the caller (src/train/native_trainer.ts)
  std::string masterAddr;
  int masterPort{};
  int rank{};
  int worldSize{};
  std::chrono::milliseconds timeout{};
  size_t bucketBytes = 25u << 20;  // not an option: torch DDP's default bucket_cap_mb
};

// True when this build has c10d (IR_RCNN_WITH_C10D).
bool distributedAvailable();

class Distributed {
 public:
  // Connects to the other ranks; throws a message naming the address when they do not come.
  Distributed(const DistributedOptions& options, c10::Device device);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return options_.rank; }
  int worldSize() const { return options_.worldSize; }

  // Overwrites `tensors` on every rank with rank 0's values.
  void broadcast(const std::vector<at::Tensor>& tensors);
  // Replaces each tensor by its mean over the ranks, in buckets of at most bucketBytes.
  void allreduceMean(const std::vector<at::Tensor>& tensors);

 private:
  struct Impl;
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ir_rcnn::train
