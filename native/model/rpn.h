// torchvision's RegionProposalNetwork (rpn.*): RPNHead on every FPN level, anchors decoded into
// proposals, per-level pre-NMS top-n, clipping, small-box removal, per-level NMS, post-NMS top-n;
// in training also the objectness (BCE) and box (smooth-L1, beta 1/9) losses.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model/anchor_generator.h"
#include "model/config.h"
#include "model/target.h"
#include "ops/box_ops.h"

namespace ir_rcnn::model {

using ImageSizes = std::vector<std::pair<int64_t, int64_t>>;  // (height, width) per image

class RPNHeadImpl : public torch::nn::Module {
 public:
  RPNHeadImpl(int64_t inChannels, int64_t numAnchors);
  // Per level: objectness [N, A, H, W] and box deltas [N, A*4, H, W].
  std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> forward(const std::vector<at::Tensor>& features);

 private:
  torch::nn::Conv2d conv_{nullptr}, clsLogits_{nullptr}, bboxPred_{nullptr};
};
TORCH_MODULE(RPNHead);

struct RpnOutput {
  std::vector<at::Tensor> boxes;   // proposals per image [Ni, 4]
  std::vector<at::Tensor> scores;  // their objectness probabilities [Ni]
  std::map<std::string, at::Tensor> losses;  // loss_objectness, loss_rpn_box_reg (training only)
};

class RegionProposalNetworkImpl : public torch::nn::Module {
 public:
  RegionProposalNetworkImpl(const RpnConfig& config, AnchorGenerator anchors, int64_t inChannels);
  // features P2..P6 of a padded batch of size (batchHeight, batchWidth); `training` is required
  // in training mode.
  RpnOutput forward(const std::vector<at::Tensor>& features, int64_t batchHeight, int64_t batchWidth,
                    const ImageSizes& imageSizes, const Training* training = nullptr);

 private:
  std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> filterProposals(
      const at::Tensor& proposals, const at::Tensor& objectness, const ImageSizes& imageSizes,
      const std::vector<int64_t>& anchorsPerLevel) const;
  std::map<std::string, at::Tensor> loss(const at::Tensor& objectness, const at::Tensor& deltas,
                                         const at::Tensor& anchors, const Training& training) const;

  RpnConfig config_;
  AnchorGenerator anchors_;
  ops::BoxCoder coder_;
  RPNHead head_{nullptr};
};
TORCH_MODULE(RegionProposalNetwork);

}  // namespace ir_rcnn::model
