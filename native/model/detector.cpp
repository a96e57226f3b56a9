#include "model/detector.h"

#include "ops/nms.h"

#include <stdexcept>
#include <string>

namespace ir_rcnn::model {
namespace {

void toOriginal(std::vector<ImageDetections>& detections, const ImageBatch& batch) {
  for (size_t i = 0; i < detections.size(); ++i)
    detections[i].boxes = GeneralizedRCNNTransform::resizeBoxes(detections[i].boxes, batch.imageSizes[i], batch.originalSizes[i]);
}

ModelConfig checked(const ModelConfig& config) {
  if (config.numClasses < 2) throw std::invalid_argument("model.numClasses: expected >= 2 (background + 1), got " + std::to_string(config.numClasses));
  if (config.minSize < 1 || config.maxSize < config.minSize)
    throw std::invalid_argument("model.minSize/maxSize: expected 1 <= minSize <= maxSize");
  if (config.anchorSizes.size() != 5) throw std::invalid_argument("model.anchorSizes: expected 5 sizes (P2..P6)");
  if (config.aspectRatios.empty()) throw std::invalid_argument("model.aspectRatios: expected at least one ratio");
  if (config.imageMean.size() != 3 || config.imageStd.size() != 3)
    throw std::invalid_argument("model.imageMean/imageStd: expected 3 numbers each");
  return config;
}

}  // namespace

FasterRCNNImpl::FasterRCNNImpl(const ModelConfig& config)
    : config_(checked(config)),
      transform_(config.minSize, config.maxSize, config.imageMean, config.imageStd) {
  backbone_ = register_module("backbone", BackboneWithFPN(config.depth, config.trainableLayers));
  rpn_ = register_module("rpn", RegionProposalNetwork(config.rpn, AnchorGenerator(config.anchorSizes, config.aspectRatios),
                                                      BackboneWithFPNImpl::outChannels));
  roiHeads_ = register_module("roi_heads", RoIHeads(config, BackboneWithFPNImpl::outChannels));
}

c10::Device FasterRCNNImpl::device() const { return parameters().front().device(); }

std::map<std::string, at::Tensor> FasterRCNNImpl::losses(const std::vector<at::Tensor>& imagesHWCu8,
                                                         const std::vector<Target>& targets, const at::Generator& generator) {
  if (imagesHWCu8.size() != targets.size())
    throw std::invalid_argument("detector: " + std::to_string(imagesHWCu8.size()) + " images but " +
                                std::to_string(targets.size()) + " targets");
  auto device = this->device();
  auto batch = transform_(imagesHWCu8, device, is_training() ? std::optional<at::Generator>(generator) : std::nullopt);
  std::vector<Target> scaled;
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    auto boxes = t.boxes.to(device, torch::kFloat32).reshape({-1, 4});
    auto crowd = t.crowd.defined() ? t.crowd.to(device, torch::kFloat32).reshape({-1, 4}) : torch::zeros({0, 4}, boxes.options());
    auto labels = t.labels.to(device, torch::kInt64).reshape(-1);
    if (labels.size(0) != boxes.size(0))
      throw std::invalid_argument("detector: target " + std::to_string(i) + " has " + std::to_string(boxes.size(0)) +
                                  " boxes but " + std::to_string(labels.size(0)) + " labels");
    if (labels.numel() > 0 && (labels.min().item<int64_t>() < 1 || labels.max().item<int64_t>() >= config_.numClasses))
      throw std::invalid_argument("detector: target " + std::to_string(i) + " has labels outside 1.." +
                                  std::to_string(config_.numClasses - 1));
    scaled.push_back({GeneralizedRCNNTransform::resizeBoxes(boxes, batch.originalSizes[i], batch.imageSizes[i]), labels,
                      GeneralizedRCNNTransform::resizeBoxes(crowd, batch.originalSizes[i], batch.imageSizes[i])});
  }
  const Training training{scaled, generator};
  auto features = backbone_(batch.tensors);
  auto rpnOut = rpn_(features, batch.tensors.size(2), batch.tensors.size(3), batch.imageSizes, &training);
  auto out = roiHeads_->losses(features, rpnOut.boxes, batch.imageSizes, training);
  out.insert(rpnOut.losses.begin(), rpnOut.losses.end());
  return out;
}

std::vector<ImageDetections> FasterRCNNImpl::detect(const std::vector<at::Tensor>& imagesHWCu8,
                                                    const PostprocessOptions& options) {
  auto batch = transform_(imagesHWCu8, device());
  auto features = backbone_(batch.tensors);
  auto rpnOut = rpn_(features, batch.tensors.size(2), batch.tensors.size(3), batch.imageSizes);
  auto detections = roiHeads_->detect(features, rpnOut.boxes, batch.imageSizes, options);
  toOriginal(detections, batch);
  return detections;
}

DetectorTrace FasterRCNNImpl::trace(const std::vector<at::Tensor>& imagesHWCu8, const PostprocessOptions& options,
                                    const std::optional<std::vector<at::Tensor>>& proposals) {
  DetectorTrace out;
  out.batch = transform_(imagesHWCu8, device());
  out.features = backbone_(out.batch.tensors);
  if (proposals) {
    if (proposals->size() != imagesHWCu8.size()) throw std::invalid_argument("trace: one proposal tensor per image expected");
    for (const auto& p : *proposals) out.proposals.push_back(p.to(device(), torch::kFloat32).reshape({-1, 4}));
  } else {
    out.proposals = rpn_(out.features, out.batch.tensors.size(2), out.batch.tensors.size(3), out.batch.imageSizes).boxes;
  }
  std::tie(out.classLogits, out.boxRegression) = roiHeads_->predict(out.features, out.proposals, out.batch.imageSizes);
  out.detections = roiHeads_->detect(out.features, out.proposals, out.batch.imageSizes, options);
  toOriginal(out.detections, out.batch);
  return out;
}

TileProposals FasterRCNNImpl::gatherTileProposals(const std::vector<at::Tensor>& regionsHWCu8,
                                                  const std::vector<RegionPlacement>& placements,
                                                  const std::optional<TileProposals>& gathered, int64_t maxProposals) {
  if (regionsHWCu8.size() != placements.size()) throw std::invalid_argument("tiles: one placement per region expected");
  auto batch = transform_(regionsHWCu8, device());
  auto features = backbone_(batch.tensors);
  auto rpnOut = rpn_(features, batch.tensors.size(2), batch.tensors.size(3), batch.imageSizes);
  TileProposals out;
  out.features = roiHeads_->boxFeatures(features, rpnOut.boxes, batch.imageSizes);
  std::vector<at::Tensor> boxes;
  for (size_t i = 0; i < rpnOut.boxes.size(); ++i) {
    auto inRegion = GeneralizedRCNNTransform::resizeBoxes(rpnOut.boxes[i], batch.imageSizes[i], batch.originalSizes[i]);
    const auto& p = placements[i];
    const auto f = [](double v) { return static_cast<float>(v); };
    auto options = inRegion.options();
    boxes.push_back(inRegion * torch::tensor({f(p.factorX), f(p.factorY), f(p.factorX), f(p.factorY)}, options) +
                    torch::tensor({f(p.x), f(p.y), f(p.x), f(p.y)}, options));
  }
  out.boxes = torch::cat(boxes, 0);
  out.scores = torch::cat(rpnOut.scores, 0);
  // The first tiles set the scale; every tile of an image has the same size, hence the same scale.
  out.scale = gathered ? gathered->scale
                       : static_cast<double>(batch.imageSizes[0].first) / static_cast<double>(batch.originalSizes[0].first);
  if (gathered) {
    out.boxes = torch::cat({gathered->boxes, out.boxes}, 0);
    out.scores = torch::cat({gathered->scores, out.scores}, 0);
    out.features = torch::cat({gathered->features, out.features}, 0);
  }
  auto keep = ops::nms(out.boxes, out.scores, config_.rpn.nmsThreshold).slice(0, 0, maxProposals);
  out.boxes = out.boxes.index({keep});
  out.scores = out.scores.index({keep});
  out.features = out.features.index({keep});
  return out;
}

ImageDetections FasterRCNNImpl::detectGathered(const TileProposals& proposals, int64_t height, int64_t width,
                                               const PostprocessOptions& options) {
  // The network frame of the whole image at the tiles' scale: box deltas, the clip and the
  // relation module's spatial term see the sizes they were trained on.
  const std::pair<int64_t, int64_t> network{std::max<int64_t>(1, std::llround(height * proposals.scale)),
                                            std::max<int64_t>(1, std::llround(width * proposals.scale))};
  auto boxes = GeneralizedRCNNTransform::resizeBoxes(proposals.boxes.to(device()), {height, width}, network);
  auto detections = roiHeads_->detectFromBoxFeatures(proposals.features.to(device()), {boxes}, {network}, options);
  detections[0].boxes = GeneralizedRCNNTransform::resizeBoxes(detections[0].boxes, network, {height, width});
  return detections[0];
}

}  // namespace ir_rcnn::model
