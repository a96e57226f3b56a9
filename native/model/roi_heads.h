// torchvision's RoIHeads for boxes (roi_heads.*): MultiScaleRoIAlign 7x7 over P2..P5, TwoMLPHead
// (box_head.fc6/fc7), the optional relation module of the paper (relation.*), FastRCNNPredictor
// (box_predictor.cls_score/bbox_pred), post-processing to detections, and in training the
// proposal sampling and Fast R-CNN losses.
#pragma once
#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/relation.h"
#include "model/rpn.h"
#include "model/target.h"
#include "ops/box_ops.h"

namespace ir_rcnn::model {

class TwoMLPHeadImpl : public torch::nn::Module {
 public:
  TwoMLPHeadImpl(int64_t inChannels, int64_t representationSize);
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Linear fc6_{nullptr}, fc7_{nullptr};
};
TORCH_MODULE(TwoMLPHead);

class FastRCNNPredictorImpl : public torch::nn::Module {
 public:
  FastRCNNPredictorImpl(int64_t inChannels, int64_t numClasses);
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x);  // class logits, box deltas

 private:
  torch::nn::Linear clsScore_{nullptr}, bboxPred_{nullptr};
};
TORCH_MODULE(FastRCNNPredictor);

// The relation graph of one image mapped onto its detections (indices into the detections).
struct DetectionGraph {
  at::Tensor src, dst;  // [E] int64
  at::Tensor type;      // [E] uint8: 1 semantic, 2 spatial, 3 both
  at::Tensor weight;    // [E] float
};

struct ImageDetections {
  at::Tensor boxes;          // [D, 4] in network-input pixels
  at::Tensor scores;         // [D]
  at::Tensor labels;         // [D] int64
  at::Tensor proposalIndex;  // [D] int64, the proposal each detection came from
  std::optional<DetectionGraph> graph;
};

// detect()'s options, all given by the caller (src/detector.ts fills them from the config).
struct PostprocessOptions {
  double scoreThreshold{};
  double nmsThreshold{};
  int64_t maxDetections{};
  bool returnGraph{};
};

class RoIHeadsImpl : public torch::nn::Module {
 public:
  RoIHeadsImpl(const ModelConfig& config, int64_t inChannels);
  // Class logits [R, C] and box deltas [R, 4C] for the given proposals (R = sum of Ni), with the
  // relation module applied when there is one. `relationOut` receives its per-image outputs.
  std::pair<at::Tensor, at::Tensor> predict(const std::vector<at::Tensor>& features,
                                            const std::vector<at::Tensor>& proposals, const ImageSizes& imageSizes,
                                            std::vector<RelationOutput>* relationOut = nullptr);
  std::vector<ImageDetections> detect(const std::vector<at::Tensor>& features, const std::vector<at::Tensor>& proposals,
                                      const ImageSizes& imageSizes, const PostprocessOptions& options);
  // The box head's features [R, representationSize] of the proposals: RoIAlign over P2..P5, TwoMLPHead.
  at::Tensor boxFeatures(const std::vector<at::Tensor>& features, const std::vector<at::Tensor>& proposals,
                         const ImageSizes& imageSizes);
  // detect() from box features already computed (R rows, in the order of `proposals`): the
  // relation module, the predictor and post-processing. Tiled detection pools its features tile by
  // tile and classifies the proposals of all tiles together.
  std::vector<ImageDetections> detectFromBoxFeatures(const at::Tensor& roiFeatures, const std::vector<at::Tensor>& proposals,
                                                     const ImageSizes& imageSizes, const PostprocessOptions& options);
  // loss_classifier, loss_box_reg and (with the semantic relation graph) loss_relation.
  std::map<std::string, at::Tensor> losses(const std::vector<at::Tensor>& features, std::vector<at::Tensor> proposals,
                                           const ImageSizes& imageSizes, const Training& training);
  bool hasRelation() const { return !relation_.is_empty(); }

 private:
  std::pair<at::Tensor, at::Tensor> classify(at::Tensor roiFeatures, const std::vector<at::Tensor>& proposals,
                                             std::vector<RelationOutput>* relationOut);
  std::vector<ImageDetections> postprocess(const at::Tensor& classLogits, const at::Tensor& boxRegression,
                                           const std::vector<at::Tensor>& proposals, const ImageSizes& imageSizes,
                                           const PostprocessOptions& options) const;

  ModelConfig config_;
  ops::BoxCoder coder_;
  TwoMLPHead boxHead_{nullptr};
  FastRCNNPredictor boxPredictor_{nullptr};
  RelationModule relation_{nullptr};
};
TORCH_MODULE(RoIHeads);

}  // namespace ir_rcnn::model
