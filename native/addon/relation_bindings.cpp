// Bindings of the IR module for tests and inspection (typed in src/relation.ts): the top-K graph
// builder, one forward (and optionally backward) pass of the module on given features and boxes,
// and the sparse propagation P·X with its gradients. Each takes `device` as the ops do (inputs
// copied there, results back to the host).
#include "addon/binding.h"
#include "addon/detector_handle.h"
#include "model/autocast_scope.h"
#include "model/relation.h"
#include "ops/topk_graph.h"

namespace ir_rcnn::addon {
namespace {

at::ScalarType floatingDtype(const at::Tensor& t, const std::string& what) {
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
    throw UserError(what + ": expected a Float32Array or Float64Array");
  return t.scalar_type();
}

at::Tensor indexTensor(const Napi::Value& value, const std::string& what, int64_t length, int64_t bound) {
  at::Tensor t = toTensor(value, what, TensorSpec{at::kInt, {length}});
  if (t.numel() > 0 && (t.min().item<int>() < 0 || t.max().item<int>() >= bound))
    throw UserError(what + ": indices must be in [0, " + std::to_string(bound) + ")");
  return t.to(at::kLong);
}

Out graphOut(const ops::TopKGraph& g) {
  return Out::object().set("rowPtr", g.rowPtr).set("cols", g.cols).set("scores", g.scores);
}

// buildTopKGraph({ scores: [N, N] float, keep: [N, N] Uint8Array, k }) → { rowPtr, cols, scores }
Napi::Value BuildTopKGraph(const Napi::CallbackInfo& info) {
  Napi::Object args = argObject(info, 0, "buildTopKGraph");
  at::Tensor scores = toTensor(args.Get("scores"), "buildTopKGraph scores", TensorSpec{std::nullopt, {-1, -1}});
  floatingDtype(scores, "buildTopKGraph scores");
  at::Tensor keep = toTensor(args.Get("keep"), "buildTopKGraph keep", TensorSpec{at::kByte, {-1, -1}}).ne(0);
  if (scores.size(0) != scores.size(1)) throw UserError("buildTopKGraph scores: expected a square [N, N] matrix");
  if (keep.sizes() != scores.sizes()) throw UserError("buildTopKGraph keep: expected the shape of scores");
  int64_t k = optInt(args, "k", -1);
  if (k < 0) throw UserError("buildTopKGraph k: expected an integer >= 0");
  const c10::Device device = opDevice(args, "buildTopKGraph");
  return runAsync(info.Env(), [=] { return graphOut(ops::buildTopKGraph(scores.to(device), keep.to(device), k)); });
}
IR_RCNN_BINDING("buildTopKGraph", BuildTopKGraph);

model::RelationOptions parseOptions(const Napi::Value& value, int64_t dim) {
  model::RelationOptions o;
  o.enabled = true;
  o.dim = dim;
  if (value.IsUndefined() || value.IsNull()) return o;
  if (!value.IsObject()) throw UserError("relationForward options: expected an object");
  return parseRelationOptions(value.As<Napi::Object>(), o);
}

// relationForward({ features [N, D], boxes [N, 4], options?, weights?: { name: tensor },
//   labels?: Int32Array [N], gradOutput?: [N, D], autocast?: boolean }) → { features, graph, semanticLogits?,
//   propagation?, auxLoss?, gradients? }. With labels the auxiliary loss is computed; with labels
// or gradOutput, backward runs on sum(f̃ · gradOutput) + auxLoss and `gradients` holds the
// gradient of features and of every parameter (zeros where none flows).
Napi::Value RelationForward(const Napi::CallbackInfo& info) {
  Napi::Object args = argObject(info, 0, "relationForward");
  at::Tensor features = toTensor(args.Get("features"), "relationForward features", TensorSpec{std::nullopt, {-1, -1}, true});
  const at::ScalarType dtype = floatingDtype(features, "relationForward features");
  const int64_t n = features.size(0), d = features.size(1);
  at::Tensor boxes = toTensor(args.Get("boxes"), "relationForward boxes", TensorSpec{std::nullopt, {n, 4}, true});
  floatingDtype(boxes, "relationForward boxes");
  boxes = boxes.to(dtype);
  const model::RelationOptions options = parseOptions(args.Get("options"), d);

  std::vector<std::pair<std::string, at::Tensor>> weights;
  Napi::Value weightsValue = args.Get("weights");
  if (!weightsValue.IsUndefined() && !weightsValue.IsNull()) {
    if (!weightsValue.IsObject()) throw UserError("relationForward weights: expected an object { name: tensor }");
    Napi::Object object = weightsValue.As<Napi::Object>();
    Napi::Array names = object.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      weights.emplace_back(name, toTensor(object.Get(name), "relationForward weights." + name, TensorSpec{dtype, {}, true}));
    }
  }
  at::Tensor labels;
  if (!args.Get("labels").IsUndefined()) labels = toTensor(args.Get("labels"), "relationForward labels", TensorSpec{at::kInt, {n}}).to(at::kLong);
  const Napi::Value autocastValue = args.Get("autocast");
  if (!autocastValue.IsUndefined() && !autocastValue.IsBoolean()) throw UserError("relationForward autocast: expected a boolean");
  const bool autocast = autocastValue.IsBoolean() && autocastValue.As<Napi::Boolean>().Value();
  at::Tensor gradOutput;
  if (!args.Get("gradOutput").IsUndefined())
    gradOutput = toTensor(args.Get("gradOutput"), "relationForward gradOutput", TensorSpec{dtype, {n, d}, true});
  const c10::Device device = opDevice(args, "relationForward");

  return runAsync(info.Env(), [=, features = features.to(device), boxes = boxes.to(device),
                   labels = labels.defined() ? labels.to(device) : labels,
                   gradOutput = gradOutput.defined() ? gradOutput.to(device) : gradOutput] {
    model::RelationModule module(options);
    module->to(device, dtype);
    auto parameters = module->named_parameters();
    {
      torch::NoGradGuard noGrad;
      for (const auto& [name, value] : weights) {
        at::Tensor* target = parameters.find(name);
        if (!target) throw UserError("relationForward weights." + name + ": the module has no such parameter");
        if (target->sizes() != value.sizes())
          throw UserError("relationForward weights." + name + ": expected shape " + c10::str(target->sizes()) + ", got " +
                          c10::str(value.sizes()));
        target->copy_(value);
      }
    }
    const bool backward = labels.defined() || gradOutput.defined();
    at::Tensor input = backward ? features.clone().requires_grad_(true) : features;
    model::RelationOutput result;
    {
      model::AutocastScope scope(autocast, c10::DeviceType::CPU);
      result = module->forward(input, boxes);
    }

    Out out = Out::object();
    out.set("features", result.features);
    out.set("graph", Out::object()
                         .set("src", result.graph.src)
                         .set("dst", result.graph.dst)
                         .set("weight", result.graph.weight)
                         .set("type", result.graph.type));
    if (result.semanticLogits.defined()) out.set("semanticLogits", result.semanticLogits);
    if (result.propagation.rows.defined())
      out.set("propagation", Out::object()
                                 .set("rows", result.propagation.rows)
                                 .set("cols", result.propagation.cols)
                                 .set("values", result.propagation.values));
    if (!backward) return out;

    at::Tensor loss = at::zeros({}, features.options());
    if (gradOutput.defined()) loss = loss + (result.features * gradOutput).sum();
    if (labels.defined()) {
      at::Tensor aux = module->auxiliaryLoss(result, labels);
      out.set("auxLoss", aux.item<double>());
      loss = loss + aux;
    }
    if (loss.requires_grad()) loss.backward();
    auto gradOf = [](const at::Tensor& t) { return t.grad().defined() ? t.grad() : at::zeros_like(t); };
    Out gradients = Out::object().set("features", gradOf(input));
    for (const auto& p : parameters) gradients.set(p.key(), gradOf(p.value()));
    out.set("gradients", gradients);
    return out;
  });
}
IR_RCNN_BINDING("relationForward", RelationForward);

// relationPropagate({ rows, cols: Int32Array [E], values [E], input [N, C], gradOutput [N, C] })
//   → { output: P·input, gradInput: Pᵀ·gradOutput, gradValues [E] }
Napi::Value RelationPropagate(const Napi::CallbackInfo& info) {
  Napi::Object args = argObject(info, 0, "relationPropagate");
  at::Tensor input = toTensor(args.Get("input"), "relationPropagate input", TensorSpec{std::nullopt, {-1, -1}, true});
  const at::ScalarType dtype = floatingDtype(input, "relationPropagate input");
  const int64_t n = input.size(0);
  at::Tensor values = toTensor(args.Get("values"), "relationPropagate values", TensorSpec{dtype, {-1}, true});
  const int64_t e = values.size(0);
  at::Tensor rows = indexTensor(args.Get("rows"), "relationPropagate rows", e, n);
  at::Tensor cols = indexTensor(args.Get("cols"), "relationPropagate cols", e, n);
  at::Tensor gradOutput = toTensor(args.Get("gradOutput"), "relationPropagate gradOutput", TensorSpec{dtype, {n, input.size(1)}, true});
  const c10::Device device = opDevice(args, "relationPropagate");
  return runAsync(info.Env(), [=] {
    at::Tensor x = input.to(device).clone().requires_grad_(true);
    at::Tensor v = values.to(device).clone().requires_grad_(true);
    at::Tensor output = model::sparsePropagate({rows.to(device), cols.to(device), v}, x);
    output.backward(gradOutput.to(device));
    return Out::object().set("output", output.detach()).set("gradInput", x.grad()).set("gradValues", v.grad());
  });
}
IR_RCNN_BINDING("relationPropagate", RelationPropagate);

}  // namespace
}  // namespace ir_rcnn::addon
