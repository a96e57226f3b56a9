// A module's state dict as torch's state_dict() walks it: every parameter, then every buffer, by
// dotted name in registration order (torchvision's names for the detector). One walk, one check
// of names and shapes and one message format, for weights files, initial weights, checkpoints
// and the test hooks alike.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ir_rcnn::model {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
// Module tensors paired with the values that replace them.
using StateCopies = std::vector<std::pair<at::Tensor, at::Tensor>>;

// The module's parameters, then its buffers: the tensors themselves, not copies.
NamedTensors stateTensors(const torch::nn::Module& module);
// Detached, contiguous CPU copies of stateTensors, for saving.
NamedTensors exportState(const torch::nn::Module& module);

// Pairs each of `values` with the module tensor of its name, after checking every name, shape and
// kind (floating point or not) and, when `complete`, that no module tensor is left out. The first
// problem is a UserError (ERR_WEIGHTS) "<what>: key <name> ...".
StateCopies matchState(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& values,
                       const std::string& what, bool complete);
// Copies the values in, without autograd, converting dtypes.
void copyState(const StateCopies& copies);
// matchState, then copyState: values that do not fit leave the module as it was.
void loadState(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& values, const std::string& what,
               bool complete);

}  // namespace ir_rcnn::model
