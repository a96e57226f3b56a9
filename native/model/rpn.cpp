#include "model/rpn.h"

#include <algorithm>

#include "model/matcher.h"
#include "model/sampler.h"
#include "ops/nms.h"

namespace ir_rcnn::model {
namespace {

// [N, A*C, H, W] -> [N, H*W*A, C], the order of torchvision's permute_and_flatten.
at::Tensor permuteAndFlatten(const at::Tensor& layer, int64_t c) {
  int64_t n = layer.size(0), h = layer.size(2), w = layer.size(3);
  return layer.view({n, -1, c, h, w}).permute({0, 3, 4, 1, 2}).reshape({n, -1, c});
}

}  // namespace

RPNHeadImpl::RPNHeadImpl(int64_t inChannels, int64_t numAnchors) {
  conv_ = torch::nn::Conv2d(torch::nn::Conv2dOptions(inChannels, inChannels, 3).padding(1));
  clsLogits_ = torch::nn::Conv2d(torch::nn::Conv2dOptions(inChannels, numAnchors, 1));
  bboxPred_ = torch::nn::Conv2d(torch::nn::Conv2dOptions(inChannels, numAnchors * 4, 1));
  for (auto* layer : {&conv_, &clsLogits_, &bboxPred_}) {
    torch::nn::init::normal_((*layer)->weight, 0, 0.01);
    torch::nn::init::constant_((*layer)->bias, 0);
  }
  // torchvision 0.14: conv = Sequential(Conv2dNormActivation(conv, ReLU)) -> conv.0.0.weight.
  register_module("conv", torch::nn::ModuleList(torch::nn::Sequential(conv_)));
  register_module("cls_logits", clsLogits_);
  register_module("bbox_pred", bboxPred_);
}

std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> RPNHeadImpl::forward(const std::vector<at::Tensor>& features) {
  std::vector<at::Tensor> logits, deltas;
  for (const auto& feature : features) {
    auto t = conv_(feature).relu_();
    logits.push_back(clsLogits_(t));
    deltas.push_back(bboxPred_(t));
  }
  return {logits, deltas};
}

RegionProposalNetworkImpl::RegionProposalNetworkImpl(const RpnConfig& config, AnchorGenerator anchors, int64_t inChannels)
    : config_(config), anchors_(std::move(anchors)) {
  head_ = register_module("head", RPNHead(inChannels, anchors_.anchorsPerLocation()));
}

RpnOutput RegionProposalNetworkImpl::forward(const std::vector<at::Tensor>& features, int64_t batchHeight,
                                             int64_t batchWidth, const ImageSizes& imageSizes,
                                             const Training* training) {
  auto [logitsPerLevel, deltasPerLevel] = head_(features);
  auto anchors = anchors_(features, batchHeight, batchWidth);
  int64_t numImages = features[0].size(0);
  std::vector<int64_t> anchorsPerLevel;
  std::vector<at::Tensor> logitsFlat, deltasFlat;
  for (size_t i = 0; i < logitsPerLevel.size(); ++i) {
    const auto& l = logitsPerLevel[i];
    anchorsPerLevel.push_back(l.size(1) * l.size(2) * l.size(3));
    logitsFlat.push_back(permuteAndFlatten(l, 1));
    deltasFlat.push_back(permuteAndFlatten(deltasPerLevel[i], 4));
  }
  auto objectness = torch::cat(logitsFlat, 1).flatten(0, -2);  // [N*A_total, 1]
  auto deltas = torch::cat(deltasFlat, 1).reshape({-1, 4});    // [N*A_total, 4]

  auto allAnchors = anchors.repeat({numImages, 1});
  auto proposals = coder_.decode(deltas.detach(), allAnchors).view({numImages, -1, 4});
  RpnOutput out;
  std::tie(out.boxes, out.scores) = filterProposals(proposals, objectness.detach(), imageSizes, anchorsPerLevel);
  if (is_training()) {
    if (!training) throw std::invalid_argument("rpn: targets are required in training mode");
    out.losses = loss(objectness, deltas, anchors, *training);
  }
  return out;
}

std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> RegionProposalNetworkImpl::filterProposals(
    const at::Tensor& proposals, const at::Tensor& objectnessFlat, const ImageSizes& imageSizes,
    const std::vector<int64_t>& anchorsPerLevel) const {
  int64_t numImages = proposals.size(0);
  auto objectness = objectnessFlat.reshape({numImages, -1});
  auto device = objectness.device();
  std::vector<at::Tensor> levelIds, topIdx;
  int64_t offset = 0;
  int64_t preNmsTopN = is_training() ? config_.preNmsTopNTrain : config_.preNmsTopNTest;
  int64_t postNmsTopN = is_training() ? config_.postNmsTopNTrain : config_.postNmsTopNTest;
  for (size_t level = 0; level < anchorsPerLevel.size(); ++level) {
    int64_t n = anchorsPerLevel[level];
    levelIds.push_back(torch::full({n}, static_cast<int64_t>(level), torch::dtype(torch::kInt64).device(device)));
    auto ob = objectness.narrow(1, offset, n);
    topIdx.push_back(std::get<1>(ob.topk(std::min(preNmsTopN, n), 1)) + offset);
    offset += n;
  }
  auto top = torch::cat(topIdx, 1);
  auto levels = torch::cat(levelIds, 0).reshape({1, -1}).expand_as(objectness);
  auto batchIdx = torch::arange(numImages, torch::dtype(torch::kInt64).device(device)).unsqueeze(1);
  auto scoresAll = torch::sigmoid(objectness.index({batchIdx, top}));
  auto levelsAll = levels.index({batchIdx, top});
  auto boxesAll = proposals.index({batchIdx, top});

  std::vector<at::Tensor> finalBoxes, finalScores;
  for (int64_t i = 0; i < numImages; ++i) {
    auto boxes = ops::clipBoxesToImage(boxesAll[i], imageSizes[i].first, imageSizes[i].second);
    auto scores = scoresAll[i];
    auto lvl = levelsAll[i];
    auto keep = ops::removeSmallBoxes(boxes, 1e-3);
    boxes = boxes.index({keep}), scores = scores.index({keep}), lvl = lvl.index({keep});
    keep = torch::nonzero(scores >= config_.scoreThreshold).view(-1);
    boxes = boxes.index({keep}), scores = scores.index({keep}), lvl = lvl.index({keep});
    keep = ops::batchedNms(boxes, scores, lvl, config_.nmsThreshold).slice(0, 0, postNmsTopN);
    finalBoxes.push_back(boxes.index({keep}));
    finalScores.push_back(scores.index({keep}));
  }
  return {finalBoxes, finalScores};
}

std::map<std::string, at::Tensor> RegionProposalNetworkImpl::loss(const at::Tensor& objectness, const at::Tensor& deltas,
                                                                  const at::Tensor& anchors,
                                                                  const Training& training) const {
  Matcher matcher(config_.fgIouThreshold, config_.bgIouThreshold, true);
  BalancedPositiveNegativeSampler sampler(config_.batchSizePerImage, config_.positiveFraction);
  const std::vector<Target>& targets = training.targets;
  std::vector<at::Tensor> labels, regressionTargets, sampledPos, sampledNeg;
  int64_t perImage = anchors.size(0);
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto& gt = targets[i].boxes;
    at::Tensor imageLabels, matchedBoxes;
    if (gt.numel() == 0) {
      matchedBoxes = torch::zeros_like(anchors);
      auto matches = ignoreCrowdOverlaps(torch::full({perImage}, Matcher::kBelowLowThreshold, anchors.options().dtype(torch::kInt64)),
                                         anchors, targets[i].crowd);
      imageLabels = torch::zeros({perImage}, anchors.options());
      imageLabels.masked_fill_(matches == Matcher::kBetweenThresholds, -1.0);
    } else {
      auto matches = matcher(ops::boxIou(gt, anchors));
      matches = ignoreCrowdOverlaps(matches, anchors, targets[i].crowd);
      matchedBoxes = gt.index({matches.clamp_min(0)});
      imageLabels = (matches >= 0).to(anchors.scalar_type());
      imageLabels.masked_fill_(matches == Matcher::kBelowLowThreshold, 0.0);
      imageLabels.masked_fill_(matches == Matcher::kBetweenThresholds, -1.0);
    }
    auto [pos, neg] = sampler(imageLabels, training.generator);
    sampledPos.push_back(pos + static_cast<int64_t>(i) * perImage);
    sampledNeg.push_back(neg + static_cast<int64_t>(i) * perImage);
    labels.push_back(imageLabels);
    regressionTargets.push_back(coder_.encode(matchedBoxes, anchors));
  }
  // torchvision takes sampled indices in ascending order (torch.where over a mask).
  auto posInds = std::get<0>(torch::cat(sampledPos).sort());
  auto negInds = std::get<0>(torch::cat(sampledNeg).sort());
  auto sampled = torch::cat({posInds, negInds});
  auto allLabels = torch::cat(labels);
  auto allTargets = torch::cat(regressionTargets);
  auto boxLoss = torch::nn::functional::smooth_l1_loss(
                     deltas.index({posInds}), allTargets.index({posInds}),
                     torch::nn::functional::SmoothL1LossFuncOptions().reduction(torch::kSum), 1.0 / 9) /
                 std::max<int64_t>(sampled.numel(), 1);
  auto objectnessLoss = torch::binary_cross_entropy_with_logits(objectness.flatten().index({sampled}), allLabels.index({sampled}));
  return {{"loss_objectness", objectnessLoss}, {"loss_rpn_box_reg", boxLoss}};
}

}  // namespace ir_rcnn::model
