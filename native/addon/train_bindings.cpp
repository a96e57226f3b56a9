// Training from JS: a trainer is created once (model, optimizer, schedule, and the c10d process
// group when distributed), then stepped, saved and restored through an integer handle. Each job
// holds the trainer's lock, so a step and a state() never overlap.
#include <mutex>
#include <unordered_map>

#include "addon/binding.h"
#include "addon/detector_handle.h"
#include "model/detector.h"
#include "train/ddp.h"
#include "train/probe_model.h"
#include "train/trainer.h"

namespace ir_rcnn::addon {
namespace {

using train::Trainer;

struct Slot {
  std::mutex mutex;
  std::unique_ptr<Trainer> trainer;  // set by the create job
};

std::mutex g_slotsMutex;
std::unordered_map<int64_t, std::shared_ptr<Slot>> g_slots;
int64_t g_nextHandle = 1;

std::shared_ptr<Slot> slotOf(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw UserError("trainer: expected a trainer handle");
  std::lock_guard<std::mutex> lock(g_slotsMutex);
  auto it = g_slots.find(info[0].As<Napi::Number>().Int64Value());
  if (it == g_slots.end()) throw UserError("trainer: closed or unknown trainer");
  return it->second;
}

// Runs `work` with the slot's trainer, serialized with the slot's other jobs.
Napi::Promise withTrainer(Napi::Env env, std::shared_ptr<Slot> slot, std::function<Out(Trainer&)> work) {
  return runAsync(env, [slot, work]() {
    std::lock_guard<std::mutex> lock(slot->mutex);
    if (!slot->trainer) throw UserError("trainer: was not created (its creation failed) or is closed");
    return work(*slot->trainer);
  });
}

std::vector<int64_t> intList(const Napi::Object& options, const char* key) {
  std::vector<int64_t> out;
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw UserError(std::string(key) + ": expected an array of integers");
  auto array = v.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    double d = item.IsNumber() ? item.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != std::floor(d)) throw UserError(std::string(key) + "[" + std::to_string(i) + "]: expected an integer >= 0");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// { "name": tensor, ... } → map (copied on the JS thread).
std::map<std::string, at::Tensor> tensorMap(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject()) throw UserError(what + ": expected an object of tensors");
  auto object = value.As<Napi::Object>();
  auto keys = object.GetPropertyNames();
  std::map<std::string, at::Tensor> out;
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    out[key] = toTensor(object.Get(key), what + "['" + key + "']");
  }
  return out;
}

std::vector<train::MicroBatch> microBatches(const Napi::Value& value) {
  if (!value.IsArray()) throw UserError("step: expected an array of micro-batches");
  auto list = value.As<Napi::Array>();
  std::vector<train::MicroBatch> out;
  for (uint32_t m = 0; m < list.Length(); ++m) {
    std::string where = "batch[" + std::to_string(m) + "]";
    if (!list.Get(m).IsObject()) throw UserError(where + ": expected { images, targets }");
    auto batch = list.Get(m).As<Napi::Object>();
    Napi::Value images = batch.Get("images"), targets = batch.Get("targets");
    if (!images.IsArray() || !targets.IsArray()) throw UserError(where + ": expected arrays images and targets");
    auto imageList = images.As<Napi::Array>(), targetList = targets.As<Napi::Array>();
    if (imageList.Length() == 0 || imageList.Length() != targetList.Length())
      throw UserError(where + ": expected as many targets as images (at least one)");
    train::MicroBatch mb;
    for (uint32_t i = 0; i < imageList.Length(); ++i) {
      std::string at = where + ".images[" + std::to_string(i) + "]";
      mb.images.push_back(toTensor(imageList.Get(i), at, TensorSpec{at::kByte, {-1, -1, 3}}));
      if (mb.images.back().size(0) == 0 || mb.images.back().size(1) == 0) throw UserError(at + ": empty image");
      std::string tw = where + ".targets[" + std::to_string(i) + "]";
      if (!targetList.Get(i).IsObject()) throw UserError(tw + ": expected { boxes, labels, crowdBoxes }");
      auto t = targetList.Get(i).As<Napi::Object>();
      model::Target target;
      target.boxes = toTensor(t.Get("boxes"), tw + ".boxes", TensorSpec{at::kFloat, {-1, 4}, true});
      target.labels = toTensor(t.Get("labels"), tw + ".labels", TensorSpec{at::kInt, {-1}}).to(at::kLong);
      target.crowd = toTensor(t.Get("crowdBoxes"), tw + ".crowdBoxes", TensorSpec{at::kFloat, {-1, 4}, true});
      if (target.labels.size(0) != target.boxes.size(0)) throw UserError(tw + ": labels and boxes differ in length");
      if (target.labels.numel() && target.labels.min().item<int64_t>() < 1)
        throw UserError(tw + ".labels: expected class indices >= 1 (0 is background)");
      mb.targets.push_back(std::move(target));
    }
    out.push_back(std::move(mb));
  }
  if (out.empty()) throw UserError("step: expected at least one micro-batch");
  return out;
}

// The detector of `config` as a trainable model. `initial` (name → tensor, e.g. ImageNet or
// Faster R-CNN weights already mapped to our names) overwrites the matching tensors.
train::TrainModel detectorModel(const model::ModelConfig& config, const std::map<std::string, at::Tensor>& initial) {
  auto detector = model::FasterRCNN(config);
  if (!initial.empty()) {
    torch::NoGradGuard noGrad;
    std::map<std::string, at::Tensor> targets;
    for (auto& item : detector->named_parameters(true)) targets[item.key()] = item.value();
    for (auto& item : detector->named_buffers(true)) targets[item.key()] = item.value();
    for (auto& [name, value] : initial) {
      auto it = targets.find(name);
      if (it == targets.end()) throw UserError("weights: the model has no tensor '" + name + "'");
      if (!value.sizes().equals(it->second.sizes()))
        throw UserError("weights: tensor '" + name + "' has shape " + c10::str(value.sizes()) + ", the model needs " + c10::str(it->second.sizes()));
      it->second.copy_(value.to(it->second.dtype()));
    }
  }
  auto module = detector.ptr();
  return {module, [module](const train::MicroBatch& batch) { return module->losses(batch.images, batch.targets); }};
}

// trainerCreate(options) → Promise<handle>. The process-group rendezvous blocks, so the whole
// creation runs off the JS thread.
Napi::Value TrainerCreate(const Napi::CallbackInfo& info) {
  Napi::Object o = argObject(info, 0, "trainerCreate");
  std::string model = optString(o, "model", "detector");
  int64_t numClasses = optInt(o, "numClasses", 2);
  uint64_t seed = static_cast<uint64_t>(optInt(o, "seed", 0));
  train::TrainerOptions options;
  options.schedule.baseLr = optNumber(o, "lr", 0.02);
  options.schedule.warmupFactor = optNumber(o, "warmupFactor", 1.0 / 1000);
  options.schedule.warmupIters = optInt(o, "warmupIters", 0);
  options.schedule.milestones = intList(o, "milestones");
  options.schedule.gamma = optNumber(o, "gamma", 0.1);
  options.momentum = optNumber(o, "momentum", 0.9);
  options.weightDecay = optNumber(o, "weightDecay", 1e-4);
  options.clipGradNorm = optNumber(o, "clipGradNorm", 0);
  options.amp = optBool(o, "amp", false);
  options.device = parseDevice(optString(o, "device", "cpu"));
  std::optional<train::DistributedOptions> dist;
  if (Napi::Value d = o.Get("distributed"); !d.IsUndefined() && !d.IsNull()) {
    if (!d.IsObject()) throw UserError("distributed: expected { masterAddr, masterPort, rank, worldSize }");
    auto dobj = d.As<Napi::Object>();
    train::DistributedOptions dopt;
    dopt.masterAddr = optString(dobj, "masterAddr", dopt.masterAddr);
    dopt.masterPort = static_cast<int>(optInt(dobj, "masterPort", dopt.masterPort));
    dopt.rank = static_cast<int>(optInt(dobj, "rank", 0));
    dopt.worldSize = static_cast<int>(optInt(dobj, "worldSize", 1));
    dopt.timeout = std::chrono::milliseconds(optInt(dobj, "timeoutMs", dopt.timeout.count()));
    if (dopt.timeout.count() < 1) throw UserError("distributed.timeoutMs: expected an integer >= 1");
    dist = dopt;
  }
  std::optional<model::ModelConfig> modelConfig;
  std::map<std::string, at::Tensor> initial;
  if (model == "detector") {
    modelConfig = parseModelConfig(o.Get("modelConfig"));
    if (Napi::Value w = o.Get("initialWeights"); !w.IsUndefined() && !w.IsNull()) initial = tensorMap(w, "initialWeights");
  } else if (model != "probe") {
    throw UserError("model '" + model + "': expected 'detector' or 'probe'");
  }

  auto slot = std::make_shared<Slot>();
  int64_t handle;
  {
    std::lock_guard<std::mutex> lock(g_slotsMutex);
    handle = g_nextHandle++;
    g_slots[handle] = slot;
  }
  return runAsync(info.Env(), [=]() {
    std::lock_guard<std::mutex> lock(slot->mutex);
    try {
      torch::manual_seed(seed);
      train::TrainModel trainModel = modelConfig ? detectorModel(*modelConfig, initial) : train::makeProbeModel(numClasses);
      std::unique_ptr<train::Distributed> ddp;
      if (dist && dist->worldSize > 1) ddp = std::make_unique<train::Distributed>(*dist, options.device);
      slot->trainer = std::make_unique<Trainer>(std::move(trainModel), options, std::move(ddp));
    } catch (const std::invalid_argument& e) {
      std::lock_guard<std::mutex> lock(g_slotsMutex);
      g_slots.erase(handle);
      throw UserError(e.what());
    } catch (...) {
      std::lock_guard<std::mutex> lock(g_slotsMutex);
      g_slots.erase(handle);
      throw;
    }
    return Out(static_cast<double>(handle));
  });
}
IR_RCNN_BINDING("trainerCreate", TrainerCreate);

// trainerStep(handle, microBatches, requestStop?) → Promise<{ losses, lr, iteration, finite, skipped, stop }>
Napi::Value TrainerStep(const Napi::CallbackInfo& info) {
  auto slot = slotOf(info);
  auto batches = microBatches(info[1]);
  bool requestStop = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  return withTrainer(info.Env(), slot, [batches, requestStop](Trainer& trainer) {
    train::StepResult r = trainer.step(batches, requestStop);
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
  auto slot = slotOf(info);
  return withTrainer(info.Env(), slot, [](Trainer& trainer) {
    Out tensors = Out::object();
    for (auto& [name, value] : trainer.state()) tensors.set(name, value);
    return Out::object().set("iteration", static_cast<double>(trainer.iteration())).set("tensors", tensors);
  });
}
IR_RCNN_BINDING("trainerState", TrainerState);

// trainerLoadState(handle, { iteration, tensors }) → Promise<void>
Napi::Value TrainerLoadState(const Napi::CallbackInfo& info) {
  auto slot = slotOf(info);
  Napi::Object state = argObject(info, 1, "trainerLoadState");
  int64_t iteration = optInt(state, "iteration", -1);
  if (iteration < 0) throw UserError("checkpoint: iteration: expected an integer >= 0");
  auto tensors = tensorMap(state.Get("tensors"), "checkpoint.tensors");
  return withTrainer(info.Env(), slot, [tensors, iteration](Trainer& trainer) {
    try {
      trainer.loadState(tensors, iteration);
    } catch (const std::invalid_argument& e) {
      throw UserError(e.what());
    }
    return Out();
  });
}
IR_RCNN_BINDING("trainerLoadState", TrainerLoadState);

// trainerClose(handle) → Promise<void>: waits for a running job, then frees the trainer (and
// leaves the process group).
Napi::Value TrainerClose(const Napi::CallbackInfo& info) {
  auto slot = slotOf(info);
  {
    std::lock_guard<std::mutex> lock(g_slotsMutex);
    g_slots.erase(info[0].As<Napi::Number>().Int64Value());
  }
  return runAsync(info.Env(), [slot]() {
    std::lock_guard<std::mutex> lock(slot->mutex);
    slot->trainer.reset();
    return Out();
  });
}
IR_RCNN_BINDING("trainerClose", TrainerClose);

Napi::Value DistributedAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), train::distributedAvailable());
}
IR_RCNN_BINDING("distributedAvailable", DistributedAvailable);

}  // namespace
}  // namespace ir_rcnn::addon
