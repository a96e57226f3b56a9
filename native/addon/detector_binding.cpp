// Bindings of the detector (typed in src/detector.ts): create one from a config, read and load
// its state dict, count its parameters, move it between devices, run detection, compute training
// losses, and dispose of it. JS holds it through a handle (addon/handle.h).
#include <ATen/CPUGeneratorImpl.h>

#include <map>

#include "addon/args.h"
#include "addon/binding.h"
#include "addon/handle.h"
#include "addon/model_config.h"
#include "model/batch_norm_folding.h"
#include "model/detector.h"
#include "model/state_dict.h"

namespace ir_rcnn::addon {
namespace {

// A detector as its jobs see it.
struct Detector {
  explicit Detector(const model::ModelConfig& config) : model(config) {
    for (const auto& [name, tensor] : model::stateTensors(*model)) stateShapes.emplace_back(name, tensor.sizes().vec());
    for (const auto& p : model->named_parameters()) {
      const auto n = static_cast<double>(p.value().numel());
      totalParameters += n;
      if (p.value().requires_grad()) trainableParameters += n;
      if (p.key().rfind("roi_heads.relation.", 0) == 0) relationParameters += n;
    }
    model->eval();
  }
  model::FasterRCNN model;
  // Folded before the first inference pass, unfolded before weights are loaded or moved.
  model::BatchNormFolding folding{*model};
  // The random stream of losses() calls without a seed; it starts at torch's default seed, as a
  // fresh process's generator does, and is the detector's own (never the trainer's).
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>();
  // Fixed at construction, so that JS reads them without waiting for a running job.
  std::vector<std::pair<std::string, std::vector<int64_t>>> stateShapes;  // parameters, then buffers
  double totalParameters = 0, trainableParameters = 0, relationParameters = 0;
};

using Shared = std::shared_ptr<Owned<Detector>>;
constexpr napi_type_tag kDetectorTag{0x6972726e6e646574ULL, 0x6563746f72000001ULL};

Shared detectorOf(const Args& args) { return handleFromJS<Detector>(args.at(0, "handle"), kDetectorTag, "detector"); }

Out detectionsOut(const std::vector<model::ImageDetections>& detections) {
  Out list = Out::list();
  for (const auto& d : detections) {
    Out item = Out::object()
                   .set("boxes", d.boxes.contiguous())
                   .set("scores", d.scores.contiguous())
                   .set("labels", d.labels.contiguous())
                   .set("proposalIndex", d.proposalIndex.contiguous());
    if (d.graph)
      item.set("graph", Out::object()
                            .set("src", d.graph->src)
                            .set("dst", d.graph->dst)
                            .set("type", d.graph->type)
                            .set("weight", d.graph->weight));
    list.push(item);
  }
  return list;
}

// { scoreThreshold, nmsThreshold, maxDetections, returnGraph }, all given (src/detector.ts fills
// the absent ones from the config).
model::PostprocessOptions readPostprocess(const Value& value) {
  Object o = value.object();
  model::PostprocessOptions options;
  options.scoreThreshold = o.number("scoreThreshold").finite();
  options.nmsThreshold = o.number("nmsThreshold").range(0, 1);
  options.maxDetections = o.integer("maxDetections").min(0);
  options.returnGraph = o.boolean("returnGraph");
  o.done();
  return options;
}

// createDetector(config) → handle. A config the model cannot be built from is ERR_CONFIG.
Napi::Value CreateDetector(const Napi::CallbackInfo& info) {
  const model::ModelConfig config = readModelConfig(Args(info, "model").at(0));
  std::unique_ptr<Detector> detector;
  try {
    detector = std::make_unique<Detector>(config);
  } catch (const std::invalid_argument& error) {
    throw UserError(error.what(), ErrorCode::Config);
  }
  return handleToJS(info.Env(), std::make_shared<Owned<Detector>>("detector", std::move(detector)), kDetectorTag);
}
IR_RCNN_BINDING("createDetector", CreateDetector);

// detectorStateShapes(handle) → { name: shape[] } in state-dict order (parameters, then buffers).
Napi::Value DetectorStateShapes(const Napi::CallbackInfo& info) {
  Out out = Out::object();
  for (const auto& [name, sizes] : detectorOf(Args(info, "stateShapes"))->peek().stateShapes) {
    Out shape = Out::list();
    for (auto size : sizes) shape.push(static_cast<double>(size));
    out.set(name, shape);
  }
  return out.toJS(info.Env());
}
IR_RCNN_BINDING("detectorStateShapes", DetectorStateShapes);

// detectorLoadState(handle, { name: tensor }) → Promise<void>. Every given name must exist with
// the same shape; names not given keep their values (the caller reports missing keys).
Napi::Value DetectorLoadState(const Napi::CallbackInfo& info) {
  Args args(info, "loadState");
  auto detector = detectorOf(args);
  std::map<std::string, at::Tensor> state;
  for (auto& [name, value] : args.at(1, "state").object().entries()) state[name] = value.tensor();
  return runWith(info.Env(), detector, [state](Detector& d) {
    d.folding.unfold();
    model::loadState(*d.model, state, "weights", /*complete=*/false);
    return Out();
  });
}
IR_RCNN_BINDING("detectorLoadState", DetectorLoadState);

// detectorStateDict(handle) → Promise<{ name: tensor }> (float32, on the CPU).
Napi::Value DetectorStateDict(const Napi::CallbackInfo& info) {
  return runWith(info.Env(), detectorOf(Args(info, "stateDict")), [](Detector& d) {
    Out out = Out::object();
    model::NamedTensors state = model::exportState(*d.model);
    d.folding.restoreWeights(state);
    for (auto& [name, tensor] : state) out.set(name, tensor);
    return out;
  });
}
IR_RCNN_BINDING("detectorStateDict", DetectorStateDict);

// detectorParameterCount(handle) → { total, trainable, relation }; FrozenBatchNorm statistics
// are buffers, not parameters, as in torchvision.
Napi::Value DetectorParameterCount(const Napi::CallbackInfo& info) {
  const Detector& d = detectorOf(Args(info, "parameterCount"))->peek();
  return Out::object()
      .set("total", d.totalParameters)
      .set("trainable", d.trainableParameters)
      .set("relation", d.relationParameters)
      .toJS(info.Env());
}
IR_RCNN_BINDING("detectorParameterCount", DetectorParameterCount);

// detectorToDevice(handle, 'cpu' | 'cuda' | 'cuda:N') → Promise<void>
Napi::Value DetectorToDevice(const Napi::CallbackInfo& info) {
  Args args(info, "toDevice");
  auto detector = detectorOf(args);
  const c10::Device device = args.at(1, "device").device();
  return runWith(info.Env(), detector, [device](Detector& d) {
    // The folded biases are not registered tensors, so to() would leave them behind.
    d.folding.unfold();
    d.model->to(device);
    return Out();
  });
}
IR_RCNN_BINDING("detectorToDevice", DetectorToDevice);

// detectorDetect(handle, images, { scoreThreshold, nmsThreshold, maxDetections, returnGraph })
//   → Promise<[{ boxes [D,4] (original pixels), scores, labels, proposalIndex, graph? }]>
Napi::Value DetectorDetect(const Napi::CallbackInfo& info) {
  Args args(info, "detect");
  auto detector = detectorOf(args);
  auto images = readImages(args.at(1, "images"));
  auto options = readPostprocess(args.at(2, "options"));
  return runWith(info.Env(), detector, [images, options](Detector& d) {
    d.folding.fold();  // outside inference mode: the biases outlive this pass
    c10::InferenceMode inference;
    return detectionsOut(d.model->detect(images, options));
  });
}
IR_RCNN_BINDING("detectorDetect", DetectorDetect);

// detectorTrace(handle, images, options, proposals?: tensor[] (network pixels)) → Promise<{
//   imageSizes, batchShape, features: tensor[], proposals: tensor[], classLogits, boxRegression,
//   detections }>: every stage of one pass, for parity tests and inspection.
Napi::Value DetectorTrace(const Napi::CallbackInfo& info) {
  Args args(info, "trace");
  auto detector = detectorOf(args);
  auto images = readImages(args.at(1, "images"));
  auto options = readPostprocess(args.at(2, "options"));
  std::optional<std::vector<at::Tensor>> proposals;
  if (Value given = args.at(3, "proposals"); !given.absent()) {
    proposals.emplace();
    for (const auto& item : given.list()) proposals->push_back(item.tensor(at::kFloat, {-1, 4}).finite());
  }
  return runWith(info.Env(), detector, [images, options, proposals](Detector& d) {
    d.folding.fold();  // outside inference mode: the biases outlive this pass
    c10::InferenceMode inference;
    auto trace = d.model->trace(images, options, proposals);
    Out sizes = Out::list(), features = Out::list(), props = Out::list();
    for (const auto& [h, w] : trace.batch.imageSizes) sizes.push(Out::list({static_cast<double>(h), static_cast<double>(w)}));
    for (const auto& f : trace.features) features.push(f.contiguous());
    for (const auto& p : trace.proposals) props.push(p.contiguous());
    Out batchShape = Out::list();
    for (auto s : trace.batch.tensors.sizes()) batchShape.push(static_cast<double>(s));
    return Out::object()
        .set("imageSizes", sizes)
        .set("batchShape", batchShape)
        .set("features", features)
        .set("proposals", props)
        .set("classLogits", trace.classLogits.contiguous())
        .set("boxRegression", trace.boxRegression.contiguous())
        .set("detections", detectionsOut(trace.detections));
  });
}
IR_RCNN_BINDING("detectorTrace", DetectorTrace);

// detectorLosses(handle, images, targets, { seed? }) → Promise<{ loss_name: number }>: the
// training losses of one batch (no gradients). Its random draws come from a generator of its
// own: seeded with `seed` when given (the stream torch.manual_seed(seed) gives), else the
// detector's; never from a trainer's.
Napi::Value DetectorLosses(const Napi::CallbackInfo& info) {
  Args args(info, "losses");
  auto detector = detectorOf(args);
  auto images = readImages(args.at(1, "images"));
  auto targets = readTargets(args.at(2, "targets"), images.size());
  Object options = args.object(3);
  std::optional<uint64_t> seed;
  if (auto value = options.optional("seed")) seed = static_cast<uint64_t>(static_cast<int64_t>(value->integer().min(0)));
  options.done();
  return runWith(info.Env(), detector, [images, targets, seed](Detector& d) {
    torch::NoGradGuard noGrad;
    at::Generator generator = seed ? at::make_generator<at::CPUGeneratorImpl>(*seed) : d.generator;
    d.model->train();
    std::map<std::string, at::Tensor> losses;
    try {
      losses = d.model->losses(images, targets, generator);
    } catch (...) {
      d.model->eval();
      throw;
    }
    d.model->eval();
    Out out = Out::object();
    for (const auto& [name, value] : losses) out.set(name, value.item<double>());
    return out;
  });
}
IR_RCNN_BINDING("detectorLosses", DetectorLosses);

// Gathered tile proposals as JS holds them between calls: { boxes [N, 4], scores [N],
// features [N, D], scale } (see model::TileProposals).
model::TileProposals readTileProposals(const Value& value) {
  Object o = value.object();
  model::TileProposals p;
  p.boxes = o.get("boxes").tensor(at::kFloat, {-1, 4}).finite();
  p.scores = o.get("scores").tensor(at::kFloat, {p.boxes.size(0)}).finite();
  p.features = o.get("features").tensor(at::kFloat, {p.boxes.size(0), -1}).finite();
  p.scale = o.number("scale").positive();
  o.done();
  return p;
}

Out tileProposalsOut(const model::TileProposals& p) {
  return Out::object()
      .set("boxes", p.boxes.contiguous())
      .set("scores", p.scores.contiguous())
      .set("features", p.features.contiguous())
      .set("scale", p.scale);
}

// detectorGatherTiles(handle, [image], regions: [{ x, y, width, height, factorX?, factorY? }],
//   gathered | null, maxProposals) → Promise<gathered>: relation scope 'image', the per-tile
// half. Each region is cropped from the image given, and its proposals and box features join
// those gathered so far in whole-image pixels (region pixels × factor + (x, y); factors default
// to 1, a tile of the image itself). See FasterRCNN::gatherTileProposals.
Napi::Value DetectorGatherTiles(const Napi::CallbackInfo& info) {
  Args args(info, "gatherTiles");
  auto detector = detectorOf(args);
  const at::Tensor image = readImages(args.at(1, "image"))[0];
  std::vector<at::Tensor> regions;
  std::vector<model::RegionPlacement> placements;
  for (const Value& item : args.at(2, "regions").list()) {
    Object region = item.object();
    const int64_t x = region.integer("x").range(0, image.size(1) - 1), y = region.integer("y").range(0, image.size(0) - 1);
    const int64_t width = region.integer("width").range(1, image.size(1) - x);
    const int64_t height = region.integer("height").range(1, image.size(0) - y);
    const auto factor = [&region](const char* key) {
      auto value = region.optional(key);
      return value ? static_cast<double>(value->number().positive()) : 1.0;
    };
    placements.push_back({static_cast<double>(x), static_cast<double>(y), factor("factorX"), factor("factorY")});
    region.done();
    regions.push_back(image.slice(0, y, y + height).slice(1, x, x + width).contiguous());
  }
  if (regions.empty()) args.at(2, "regions").fail("expected at least one region");
  std::optional<model::TileProposals> gathered;
  if (Value given = args.at(3, "gathered"); !given.absent()) gathered = readTileProposals(given);
  const int64_t maxProposals = args.at(4, "maxProposals").integer().min(1);
  return runWith(info.Env(), detector, [regions, placements, gathered, maxProposals](Detector& d) {
    d.folding.fold();  // outside inference mode: the biases outlive this pass
    c10::InferenceMode inference;
    return tileProposalsOut(d.model->gatherTileProposals(regions, placements, gathered, maxProposals));
  });
}
IR_RCNN_BINDING("detectorGatherTiles", DetectorGatherTiles);

// detectorDetectGathered(handle, gathered, { height, width }, options) → Promise<detections of
// the one image>: relation scope 'image', the whole-image half.
Napi::Value DetectorDetectGathered(const Napi::CallbackInfo& info) {
  Args args(info, "detectGathered");
  auto detector = detectorOf(args);
  const model::TileProposals gathered = readTileProposals(args.at(1, "gathered"));
  Object size = args.at(2, "imageSize").object();
  const int64_t height = size.integer("height").min(1), width = size.integer("width").min(1);
  size.done();
  auto options = readPostprocess(args.at(3, "options"));
  return runWith(info.Env(), detector, [gathered, height, width, options](Detector& d) {
    d.folding.fold();  // outside inference mode: the biases outlive this pass
    c10::InferenceMode inference;
    return detectionsOut({d.model->detectGathered(gathered, height, width, options)});
  });
}
IR_RCNN_BINDING("detectorDetectGathered", DetectorDetectGathered);

// detectorDispose(handle) → Promise<void>: frees the model after the running job.
Napi::Value DetectorDispose(const Napi::CallbackInfo& info) {
  return disposeHandle<Detector>(info.Env(), Args(info, "dispose").at(0, "handle"), kDetectorTag, "detector");
}
IR_RCNN_BINDING("detectorDispose", DetectorDispose);

}  // namespace
}  // namespace ir_rcnn::addon
