// Training from JS: a trainer is created once (model, optimizer, schedule, its random generator,
// and the c10d process group when distributed), then stepped, saved, restored and disposed of
// through a handle (addon/handle.h): jobs on one trainer run one at a time.
#include "addon/args.h"
#include "addon/binding.h"
#include "addon/handle.h"
#include "addon/model_config.h"
#include "model/detector.h"
#include "model/state_dict.h"
#include "train/ddp.h"
#include "train/probe_model.h"
#include "train/trainer.h"

namespace ir_rcnn::addon {
namespace {

using train::Trainer;
using Shared = std::shared_ptr<Owned<Trainer>>;
constexpr napi_type_tag kTrainerTag{0x6972726e6e747261ULL, 0x696e657200000001ULL};

Shared trainerOf(const Args& args) { return handleFromJS<Trainer>(args.at(0, "handle"), kTrainerTag, "trainer"); }

std::vector<train::MicroBatch> readMicroBatches(const Value& value) {
  std::vector<train::MicroBatch> out;
  for (const auto& item : value.list()) {
    Object batch = item.object();
    train::MicroBatch mb;
    mb.images = readImages(batch.get("images"));
    mb.targets = readTargets(batch.get("targets"), mb.images.size());
    batch.done();
    out.push_back(std::move(mb));
  }
  if (out.empty()) value.fail("expected at least one micro-batch");
  return out;
}

// { name: tensor } → map (copied on the JS thread).
std::map<std::string, at::Tensor> readTensorMap(const Value& value) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, tensor] : value.object().entries()) out[name] = tensor.tensor();
  return out;
}

// Checked further by train::Distributed, and only when there are several ranks (one process
// needs no master).
train::DistributedOptions readDistributed(const Value& value) {
  Object o = value.object();
  train::DistributedOptions d;
  d.masterAddr = o.get("masterAddr").string();
  d.masterPort = static_cast<int>(o.integer("masterPort").range(0, 65535));
  d.worldSize = static_cast<int>(o.integer("worldSize").min(1));
  d.rank = static_cast<int>(o.integer("rank").range(0, d.worldSize - 1));
  d.timeout = std::chrono::milliseconds(o.integer("timeoutMs").min(1));
  o.done();
  return d;
}

// The detector of `config` as a trainable model. `initial` (name → tensor, e.g. ImageNet or
// Faster R-CNN weights already mapped to our names) overwrites the matching tensors.
train::TrainModel detectorModel(const model::ModelConfig& config, const std::map<std::string, at::Tensor>& initial) {
  auto detector = model::FasterRCNN(config);
  model::loadState(*detector, initial, "initialWeights", /*complete=*/false);
  auto module = detector.ptr();
  return {module, [module](const train::MicroBatch& batch, at::Generator& generator) {
            return module->losses(batch.images, batch.targets, generator);
          }};
}

// trainerCreate({ model: 'detector' | 'probe', modelConfig + initialWeights? (detector) |
//   numClasses (probe), lr, momentum, weightDecay, warmupFactor, warmupIters, milestones, gamma,
//   clipGradNorm, amp, device, seed, distributed? }) → Promise<handle>. Every option is given
// (src/train/native_trainer.ts passes the resolved solver config). The process-group rendezvous
// blocks, so the whole creation runs off the JS thread.
Napi::Value TrainerCreate(const Napi::CallbackInfo& info) {
  Object o = Args(info, "trainerCreate").object(0);
  const std::string kind = o.get("model").oneOf({"detector", "probe"});
  std::optional<model::ModelConfig> modelConfig;
  std::map<std::string, at::Tensor> initial;
  int64_t numClasses = 0;
  if (kind == "detector") {
    modelConfig = readModelConfig(o.get("modelConfig"));
    if (auto weights = o.optional("initialWeights")) initial = readTensorMap(*weights);
  } else {
    numClasses = o.integer("numClasses").min(2);
  }
  train::TrainerOptions options;
  options.schedule.baseLr = o.number("lr");
  options.schedule.warmupFactor = o.number("warmupFactor");
  options.schedule.warmupIters = o.integer("warmupIters");
  for (const auto& m : o.get("milestones").list()) options.schedule.milestones.push_back(m.integer());
  options.schedule.gamma = o.number("gamma");
  options.momentum = o.number("momentum");
  options.weightDecay = o.number("weightDecay");
  options.clipGradNorm = o.number("clipGradNorm");
  options.amp = o.boolean("amp");
  options.device = o.get("device").device();
  options.seed = static_cast<uint64_t>(static_cast<int64_t>(o.integer("seed").min(0)));
  std::optional<train::DistributedOptions> dist;
  if (auto value = o.optional("distributed")) dist = readDistributed(*value);
  o.done();

  return runAsync(info.Env(), [=] {
    std::unique_ptr<Trainer> trainer;
    try {
      // The initial weights come from torch's global generator, seeded here; training draws
      // from the trainer's own generator (TrainerOptions::seed).
      torch::manual_seed(options.seed);
      train::TrainModel trainModel = modelConfig ? detectorModel(*modelConfig, initial) : train::makeProbeModel(numClasses);
      std::unique_ptr<train::Distributed> ddp;
      if (dist && dist->worldSize > 1) ddp = std::make_unique<train::Distributed>(*dist, options.device);
      trainer = std::make_unique<Trainer>(std::move(trainModel), options, std::move(ddp));
    } catch (const std::invalid_argument& e) {
      throw UserError(e.what(), ErrorCode::Config);  // a model or schedule that cannot be built
    }
    auto owned = std::make_shared<Owned<Trainer>>("trainer", std::move(trainer));
    return Out::onJsThread([owned](Napi::Env env) { return handleToJS(env, owned, kTrainerTag); });
  });
}
IR_RCNN_BINDING("trainerCreate", TrainerCreate);

// trainerStep(handle, microBatches, requestStop) → Promise<{ losses, lr, iteration, finite, skipped, stop }>
Napi::Value TrainerStep(const Napi::CallbackInfo& info) {
  Args args(info, "step");
  auto trainer = trainerOf(args);
  auto batches = readMicroBatches(args.at(1, "batch"));
  const bool requestStop = args.at(2, "requestStop").boolean();
  return runWith(info.Env(), trainer, [batches, requestStop](Trainer& t) {
    train::StepResult r = t.step(batches, requestStop);
    Out losses = Out::object();
    for (auto& [name, value] : r.losses) losses.set(name, value);
    return Out::object()
        .set("losses", losses)
        .set("lr", r.lr)
        .set("iteration", static_cast<double>(r.iteration))
        .set("finite", r.finite)
        .set("skipped", r.skipped)
        .set("stop", r.stop);
  });
}
IR_RCNN_BINDING("trainerStep", TrainerStep);

// trainerState(handle) → Promise<{ iteration, tensors }>
Napi::Value TrainerState(const Napi::CallbackInfo& info) {
  return runWith(info.Env(), trainerOf(Args(info, "state")), [](Trainer& t) {
    Out tensors = Out::object();
    for (auto& [name, value] : t.state()) tensors.set(name, value);
    return Out::object().set("iteration", static_cast<double>(t.iteration())).set("tensors", tensors);
  });
}
IR_RCNN_BINDING("trainerState", TrainerState);

// trainerLoadState(handle, { iteration, tensors }) → Promise<void>
Napi::Value TrainerLoadState(const Napi::CallbackInfo& info) {
  Args args(info, "loadState");
  auto trainer = trainerOf(args);
  Object state = args.at(1, "state").object();
  const int64_t iteration = state.integer("iteration").min(0);
  auto tensors = readTensorMap(state.get("tensors"));
  state.done();
  return runWith(info.Env(), trainer, [tensors, iteration](Trainer& t) {
    t.loadState(tensors, iteration);
    return Out();
  });
}
IR_RCNN_BINDING("trainerLoadState", TrainerLoadState);

// trainerDispose(handle) → Promise<void>: waits for a running job, then frees the trainer (and
// leaves the process group).
Napi::Value TrainerDispose(const Napi::CallbackInfo& info) {
  return disposeHandle<Trainer>(info.Env(), Args(info, "dispose").at(0, "handle"), kTrainerTag, "trainer");
}
IR_RCNN_BINDING("trainerDispose", TrainerDispose);

Napi::Value DistributedAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), train::distributedAvailable());
}
IR_RCNN_BINDING("distributedAvailable", DistributedAvailable);

}  // namespace
}  // namespace ir_rcnn::addon
