#include "model/roi_heads.h"

#include <algorithm>

#include "model/matcher.h"
#include "model/sampler.h"
#include "ops/nms.h"
#include "ops/roi_align.h"

namespace ir_rcnn::model {
namespace {

constexpr int64_t kPoolSize = 7;
constexpr int64_t kSamplingRatio = 2;
constexpr int64_t kPooledLevels = 4;  // P2..P5; torchvision's 'pool' level is not pooled from

std::vector<at::Tensor> pooledLevels(const std::vector<at::Tensor>& features) {
  return {features.begin(), features.begin() + std::min<size_t>(kPooledLevels, features.size())};
}

std::vector<int64_t> counts(const std::vector<at::Tensor>& perImage) {
  std::vector<int64_t> n;
  for (const auto& t : perImage) n.push_back(t.size(0));
  return n;
}

// Edges between proposals become edges between the detections made from them (a proposal may
// give several detections, one per class; a proposal without detections drops its edges).
DetectionGraph mapGraph(const RelationGraph& graph, const at::Tensor& proposalIndex, int64_t numProposals) {
  auto prop = proposalIndex.cpu();
  std::vector<std::vector<int64_t>> detsOf(numProposals);
  auto p = prop.accessor<int64_t, 1>();
  for (int64_t d = 0; d < prop.size(0); ++d) detsOf[p[d]].push_back(d);
  auto src = graph.src.cpu(), dst = graph.dst.cpu();
  auto type = graph.type.cpu().to(torch::kUInt8);
  auto weight = graph.weight.detach().cpu().to(torch::kFloat32).contiguous();
  auto s = src.accessor<int64_t, 1>(), t = dst.accessor<int64_t, 1>();
  auto ty = type.accessor<uint8_t, 1>();
  auto w = weight.accessor<float, 1>();
  std::vector<int64_t> outSrc, outDst;
  std::vector<uint8_t> outType;
  std::vector<float> outWeight;
  for (int64_t e = 0; e < src.size(0); ++e)
    for (int64_t a : detsOf[s[e]])
      for (int64_t b : detsOf[t[e]]) {
        outSrc.push_back(a), outDst.push_back(b), outType.push_back(ty[e]), outWeight.push_back(w[e]);
      }
  auto n = static_cast<int64_t>(outSrc.size());
  return {torch::tensor(outSrc, torch::kInt64).view({n}), torch::tensor(outDst, torch::kInt64).view({n}),
          torch::from_blob(outType.data(), {n}, torch::kUInt8).clone(),
          torch::from_blob(outWeight.data(), {n}, torch::kFloat32).clone()};
}

}  // namespace

TwoMLPHeadImpl::TwoMLPHeadImpl(int64_t inChannels, int64_t representationSize) {
  fc6_ = register_module("fc6", torch::nn::Linear(inChannels, representationSize));
  fc7_ = register_module("fc7", torch::nn::Linear(representationSize, representationSize));
}

at::Tensor TwoMLPHeadImpl::forward(const at::Tensor& x) {
  return fc7_(fc6_(x.flatten(1)).relu_()).relu_();
}

FastRCNNPredictorImpl::FastRCNNPredictorImpl(int64_t inChannels, int64_t numClasses) {
  clsScore_ = register_module("cls_score", torch::nn::Linear(inChannels, numClasses));
  bboxPred_ = register_module("bbox_pred", torch::nn::Linear(inChannels, numClasses * 4));
}

std::pair<at::Tensor, at::Tensor> FastRCNNPredictorImpl::forward(const at::Tensor& x) {
  auto flat = x.flatten(1);
  return {clsScore_(flat), bboxPred_(flat)};
}

RoIHeadsImpl::RoIHeadsImpl(const ModelConfig& config, int64_t inChannels) : config_(config) {
  coder_.weights = {10.0, 10.0, 5.0, 5.0};
  int64_t rep = config.roi.representationSize;
  boxHead_ = register_module("box_head", TwoMLPHead(inChannels * kPoolSize * kPoolSize, rep));
  boxPredictor_ = register_module("box_predictor", FastRCNNPredictor(rep, config.numClasses));
  if (config.relation.enabled) {
    RelationOptions options = config.relation;
    options.dim = rep;
    relation_ = register_module("relation", RelationModule(options));
  }
}

at::Tensor RoIHeadsImpl::boxFeatures(const std::vector<at::Tensor>& features, const std::vector<at::Tensor>& proposals,
                                     const ImageSizes& imageSizes) {
  return boxHead_(ops::multiScaleRoiAlign(pooledLevels(features), proposals, imageSizes, kPoolSize, kSamplingRatio));
}

std::pair<at::Tensor, at::Tensor> RoIHeadsImpl::predict(const std::vector<at::Tensor>& features,
                                                        const std::vector<at::Tensor>& proposals,
                                                        const ImageSizes& imageSizes,
                                                        std::vector<RelationOutput>* relationOut) {
  return classify(boxFeatures(features, proposals, imageSizes), proposals, relationOut);
}

std::pair<at::Tensor, at::Tensor> RoIHeadsImpl::classify(at::Tensor roiFeatures, const std::vector<at::Tensor>& proposals,
                                                         std::vector<RelationOutput>* relationOut) {
  if (hasRelation()) {
    // The graph is built per image: proposals of different images are unrelated.
    auto perImage = roiFeatures.split_with_sizes(counts(proposals), 0);
    std::vector<at::Tensor> refined;
    for (size_t i = 0; i < perImage.size(); ++i) {
      auto out = relation_->forward(perImage[i], proposals[i]);
      refined.push_back(out.features);
      if (relationOut) relationOut->push_back(std::move(out));
    }
    roiFeatures = torch::cat(refined, 0);
  }
  return boxPredictor_(roiFeatures);
}

std::vector<ImageDetections> RoIHeadsImpl::detect(const std::vector<at::Tensor>& features,
                                                  const std::vector<at::Tensor>& proposals,
                                                  const ImageSizes& imageSizes, const PostprocessOptions& options) {
  return detectFromBoxFeatures(boxFeatures(features, proposals, imageSizes), proposals, imageSizes, options);
}

std::vector<ImageDetections> RoIHeadsImpl::detectFromBoxFeatures(const at::Tensor& roiFeatures,
                                                                 const std::vector<at::Tensor>& proposals,
                                                                 const ImageSizes& imageSizes,
                                                                 const PostprocessOptions& options) {
  std::vector<RelationOutput> relationOut;
  auto [classLogits, boxRegression] = classify(roiFeatures, proposals, &relationOut);
  auto detections = postprocess(classLogits, boxRegression, proposals, imageSizes, options);
  if (options.returnGraph && hasRelation())
    for (size_t i = 0; i < detections.size(); ++i)
      detections[i].graph = mapGraph(relationOut[i].graph, detections[i].proposalIndex, proposals[i].size(0));
  return detections;
}

std::vector<ImageDetections> RoIHeadsImpl::postprocess(const at::Tensor& classLogits, const at::Tensor& boxRegression,
                                                       const std::vector<at::Tensor>& proposals,
                                                       const ImageSizes& imageSizes,
                                                       const PostprocessOptions& options) const {
  int64_t numClasses = classLogits.size(-1);
  auto predBoxes = coder_.decode(boxRegression, torch::cat(proposals, 0));  // [R, C, 4]
  auto predScores = torch::softmax(classLogits, -1);
  auto boxesPerImage = predBoxes.split_with_sizes(counts(proposals), 0);
  auto scoresPerImage = predScores.split_with_sizes(counts(proposals), 0);
  std::vector<ImageDetections> result;
  for (size_t i = 0; i < proposals.size(); ++i) {
    auto n = boxesPerImage[i].size(0);
    auto boxes = ops::clipBoxesToImage(boxesPerImage[i].reshape({-1, 4}), imageSizes[i].first, imageSizes[i].second)
                     .view({n, numClasses, 4});
    auto labels = torch::arange(numClasses, torch::dtype(torch::kInt64).device(boxes.device()))
                      .view({1, -1})
                      .expand({n, numClasses});
    // Every (proposal, foreground class) pair is a candidate detection.
    boxes = boxes.slice(1, 1).reshape({-1, 4});
    auto scores = scoresPerImage[i].slice(1, 1).reshape(-1);
    labels = labels.slice(1, 1).reshape(-1);
    auto candidate = torch::arange(scores.size(0), labels.options());
    auto keep = torch::nonzero(scores > options.scoreThreshold).view(-1);
    boxes = boxes.index({keep}), scores = scores.index({keep}), labels = labels.index({keep}), candidate = candidate.index({keep});
    keep = ops::removeSmallBoxes(boxes, 1e-2);
    boxes = boxes.index({keep}), scores = scores.index({keep}), labels = labels.index({keep}), candidate = candidate.index({keep});
    keep = ops::batchedNms(boxes, scores, labels, options.nmsThreshold).slice(0, 0, options.maxDetections);
    ImageDetections det;
    det.boxes = boxes.index({keep});
    det.scores = scores.index({keep});
    det.labels = labels.index({keep});
    det.proposalIndex = torch::div(candidate.index({keep}), numClasses - 1, "floor");
    result.push_back(std::move(det));
  }
  return result;
}

std::map<std::string, at::Tensor> RoIHeadsImpl::losses(const std::vector<at::Tensor>& features,
                                                      std::vector<at::Tensor> proposals, const ImageSizes& imageSizes,
                                                      const Training& training) {
  Matcher matcher(config_.roi.fgIouThreshold, config_.roi.bgIouThreshold, false);
  BalancedPositiveNegativeSampler sampler(config_.roi.batchSizePerImage, config_.roi.positiveFraction);
  std::vector<at::Tensor> labels, regressionTargets;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const auto& target = training.targets[i];
    // The ground-truth boxes are proposals too, so that every object has positives.
    auto props = torch::cat({proposals[i].detach(), target.boxes.to(proposals[i].dtype())}, 0);
    at::Tensor matches, matchedBoxes, imageLabels;
    if (target.boxes.size(0) == 0) {
      matches = torch::full({props.size(0)}, Matcher::kBelowLowThreshold, props.options().dtype(torch::kInt64));
      matches = ignoreCrowdOverlaps(matches, props, target.crowd);
      matchedBoxes = torch::zeros_like(props);
      imageLabels = torch::zeros({props.size(0)}, matches.options());
    } else {
      matches = ignoreCrowdOverlaps(matcher(ops::boxIou(target.boxes, props)), props, target.crowd);
      matchedBoxes = target.boxes.index({matches.clamp_min(0)});
      imageLabels = target.labels.index({matches.clamp_min(0)});
    }
    imageLabels.masked_fill_(matches == Matcher::kBelowLowThreshold, 0);
    imageLabels.masked_fill_(matches == Matcher::kBetweenThresholds, -1);
    auto [pos, neg] = sampler(imageLabels, training.generator);
    // torchvision keeps the sampled proposals in ascending index order.
    auto sampled = std::get<0>(torch::cat({pos, neg}).sort());
    proposals[i] = props.index({sampled});
    labels.push_back(imageLabels.index({sampled}));
    regressionTargets.push_back(coder_.encode(matchedBoxes.index({sampled}), proposals[i]));
  }

  std::vector<RelationOutput> relationOut;
  auto [classLogits, boxRegression] = predict(features, proposals, imageSizes, &relationOut);
  auto allLabels = torch::cat(labels);
  auto allTargets = torch::cat(regressionTargets);
  auto classification = torch::nn::functional::cross_entropy(classLogits, allLabels);
  auto posInds = torch::nonzero(allLabels > 0).view(-1);
  auto labelsPos = allLabels.index({posInds});
  auto perClass = boxRegression.reshape({boxRegression.size(0), -1, 4});
  auto boxLoss = torch::nn::functional::smooth_l1_loss(
                     perClass.index({posInds, labelsPos}), allTargets.index({posInds}),
                     torch::nn::functional::SmoothL1LossFuncOptions().reduction(torch::kSum), 1.0 / 9) /
                 std::max<int64_t>(allLabels.numel(), 1);
  std::map<std::string, at::Tensor> out{{"loss_classifier", classification}, {"loss_box_reg", boxLoss}};
  if (hasRelation() && relation_->options().semantic) {
    std::vector<at::Tensor> aux;
    for (size_t i = 0; i < relationOut.size(); ++i)
      aux.push_back(relation_->auxiliaryLoss(relationOut[i], labels[i]));
    out["loss_relation"] = torch::stack(aux).mean();
  }
  return out;
}

}  // namespace ir_rcnn::model
