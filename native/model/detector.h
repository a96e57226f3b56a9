// Faster R-CNN with FPN as torchvision's FasterRCNN (backbone.*, rpn.*, roi_heads.*), optionally
// with the IR relation module in the RoI heads: the model that detect() runs and train drives.
#pragma once
#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/backbone.h"
#include "model/config.h"
#include "model/roi_heads.h"
#include "model/rpn.h"
#include "model/target.h"
#include "model/transform.h"

namespace ir_rcnn::model {

// Intermediate results of one forward pass, for inspection and parity tests.
struct DetectorTrace {
  ImageBatch batch;
  std::vector<at::Tensor> features;   // P2..P6
  std::vector<at::Tensor> proposals;  // per image, network-input pixels
  at::Tensor classLogits, boxRegression;  // for the proposals above
  std::vector<ImageDetections> detections;  // boxes in original pixels
};

// The proposals of one large image gathered tile by tile (relation scope 'image'): boxes in
// whole-image pixels, their objectness, the box head's features, and the scale the tiles were
// resized by (the network's pixels per image pixel), under which the relation module and the
// box coder see them.
struct TileProposals {
  at::Tensor boxes;     // [N, 4]
  at::Tensor scores;    // [N]
  at::Tensor features;  // [N, representationSize]
  double scale = 1;
};

// Where a region's pixels lie in the whole image: image = region × factor + offset, per axis
// (a tile: factor 1; the whole image shrunk before the pass: factor > 1).
struct RegionPlacement {
  double x = 0, y = 0;
  double factorX = 1, factorY = 1;
};

class FasterRCNNImpl : public torch::nn::Module {
 public:
  explicit FasterRCNNImpl(const ModelConfig& config);
  // Training losses (loss_objectness, loss_rpn_box_reg, loss_classifier, loss_box_reg and, with
  // the semantic relation graph, loss_relation). Images uint8 [H, W, 3] RGB; targets in the
  // pixels of their image; every random draw from `generator` (a CPU generator). Call train() first.
  std::map<std::string, at::Tensor> losses(const std::vector<at::Tensor>& imagesHWCu8, const std::vector<Target>& targets,
                                           const at::Generator& generator);
  // Detections with boxes in original-image pixels. Call eval() (and use InferenceMode) first.
  std::vector<ImageDetections> detect(const std::vector<at::Tensor>& imagesHWCu8, const PostprocessOptions& options);
  // detect() keeping every stage; `proposals` (network-input pixels) replace the RPN's when given.
  DetectorTrace trace(const std::vector<at::Tensor>& imagesHWCu8, const PostprocessOptions& options,
                      const std::optional<std::vector<at::Tensor>>& proposals = std::nullopt);
  // Proposals and box features of image regions (uint8 [h, w, 3] each, placed in the image as
  // `placements` say), in whole-image pixels, added to `gathered` (when given). Proposals that
  // overlapping tiles found twice are merged by NMS at the RPN's threshold on objectness, and
  // the `maxProposals` most confident are kept.
  TileProposals gatherTileProposals(const std::vector<at::Tensor>& regionsHWCu8, const std::vector<RegionPlacement>& placements,
                                    const std::optional<TileProposals>& gathered, int64_t maxProposals);
  // Detections among gathered proposals of an image of `height` × `width` pixels: the relation
  // module and the predictor run once over all of them. Boxes in the image's pixels.
  ImageDetections detectGathered(const TileProposals& proposals, int64_t height, int64_t width, const PostprocessOptions& options);
  const ModelConfig& config() const { return config_; }
  c10::Device device() const;

 private:
  ModelConfig config_;
  GeneralizedRCNNTransform transform_;
  BackboneWithFPN backbone_{nullptr};
  RegionProposalNetwork rpn_{nullptr};
  RoIHeads roiHeads_{nullptr};
};
TORCH_MODULE(FasterRCNN);

}  // namespace ir_rcnn::model
