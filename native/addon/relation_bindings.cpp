// Bindings of the IR module for tests and inspection (typed in src/relation.ts): the top-K graph
// builder and the sparse propagation P·X with its gradients, as ops (addon/op_runner.h), and one
// forward (and optionally backward) pass of the module on given features and boxes. Each takes
// `device` as the ops do (inputs copied there, results back to the host).
#include "addon/model_config.h"
#include "addon/op_runner.h"
#include "model/autocast_scope.h"
#include "model/relation.h"
#include "model/state_dict.h"
#include "ops/topk_graph.h"

namespace ir_rcnn::addon {
namespace {

// Indices into n nodes, `length` of them.
at::Tensor nodeIndices(const Value& value, int64_t length, int64_t n) {
  at::Tensor t = value.indices({length});
  if (t.numel() > 0 && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= n))
    value.fail("indices must be in [0, " + std::to_string(n) + ")");
  return t;
}

const Op kOps[] = {
    // buildTopKGraph({ scores: [N, N] float, keep: [N, N] Uint8Array, k }) → { rowPtr, cols, scores }
    {"buildTopKGraph",
     [](Object& o) -> OpCall {
       Value scoresValue = o.get("scores");
       at::Tensor scores = scoresValue.floats({-1, -1});
       if (scores.size(0) != scores.size(1)) scoresValue.fail("expected a square [N, N] matrix");
       at::Tensor keep = o.get("keep").tensor(at::kByte, {scores.size(0), scores.size(1)}).get().ne(0);
       const int64_t k = o.integer("k").min(0);
       return {{scores, keep}, [k](const Tensors& t) {
                 const ops::TopKGraph g = ops::buildTopKGraph(t[0], t[1], k);
                 return Out::object().set("rowPtr", g.rowPtr).set("cols", g.cols).set("scores", g.scores);
               }};
     }},
    // relationPropagate({ rows, cols: Int32Array [E], values [E], input [N, C], gradOutput [N, C],
    //   product?: 'sparse' | 'dense' | 'byDensity' }) → { output: P·input, gradInput: Pᵀ·gradOutput, gradValues [E],
    //   product: the one used }
    {"relationPropagate",
     [](Object& o) -> OpCall {
       at::Tensor input = o.floats("input", {-1, -1}).finite();
       const int64_t n = input.size(0);
       at::Tensor values = o.floats("values", {-1}).finite();
       at::Tensor rows = nodeIndices(o.get("rows"), values.size(0), n);
       at::Tensor cols = nodeIndices(o.get("cols"), values.size(0), n);
       at::Tensor gradOutput = o.floats("gradOutput", {n, input.size(1)}).finite();
       model::GcnProduct product = model::GcnProduct::ByDensity;
       if (auto given = o.optional("product")) {
         const std::string name = given->oneOf({"sparse", "dense", "byDensity"});
         product = name == "sparse" ? model::GcnProduct::Sparse : name == "dense" ? model::GcnProduct::Dense : model::GcnProduct::ByDensity;
       }
       if (product == model::GcnProduct::ByDensity) product = model::productByDensity(values.size(0), n);
       return {{input, values, rows, cols, gradOutput}, [product](const Tensors& t) {
                 at::Tensor x = t[0].clone().requires_grad_(true);
                 at::Tensor v = t[1].clone().requires_grad_(true);
                 at::Tensor output = model::propagate({t[2], t[3], v}, x, product);
                 output.backward(t[4]);
                 return Out::object()
                     .set("output", output.detach())
                     .set("gradInput", x.grad())
                     .set("gradValues", v.grad())
                     .set("product", product == model::GcnProduct::Dense ? "dense" : "sparse");
               }};
     },
     /*autograd=*/true},
};
const bool kRegistered = registerOps(std::begin(kOps), std::end(kOps));

// relationForward({ features [N, D], boxes [N, 4], options: { k, layers, ... } (every reasoning
//   option), weights?: { name: tensor }, labels?: Int32Array [N], gradOutput?: [N, D],
//   autocast?: boolean }) → { features, graph, semanticLogits?, propagation?, auxLoss?,
//   gradients? }. With labels the auxiliary loss is computed; with labels or gradOutput, backward
// runs on sum(f̃ · gradOutput) + auxLoss and `gradients` holds the gradient of features and of
// every parameter (zeros where none flows).
Napi::Value RelationForward(const Napi::CallbackInfo& info) {
  Object args = Args(info, "relationForward").object(0);
  at::Tensor features = args.floats("features", {-1, -1}).finite();
  const at::ScalarType dtype = features.scalar_type();
  const int64_t n = features.size(0), d = features.size(1);
  at::Tensor boxes = args.floats("boxes", {n, 4}).finite().get().to(dtype);
  model::RelationOptions options;
  Object optionsObject = args.object("options");
  readRelationOptions(optionsObject, options);
  optionsObject.done();
  options.enabled = true;
  options.dim = d;
  std::map<std::string, at::Tensor> weights;
  if (auto value = args.optional("weights"))
    for (auto& [name, tensor] : value->object().entries()) weights[name] = tensor.floats({}).finite();
  at::Tensor labels, gradOutput;
  if (auto value = args.optional("labels")) labels = value->tensor(at::kInt, {n}).get().to(at::kLong);
  if (auto value = args.optional("gradOutput")) gradOutput = value->floats({n, d}).finite();
  const bool autocast = args.boolean("autocast", false);
  auto deviceValue = args.optional("device");
  const c10::Device device = deviceValue ? deviceValue->device() : c10::Device(c10::kCPU);
  args.done();

  // Floating-point inputs in the features' dtype; absent ones (undefined tensors) stay absent.
  const auto onDevice = [device, dtype](const at::Tensor& t) {
    return t.defined() ? t.to(device, t.is_floating_point() ? dtype : t.scalar_type()) : t;
  };
  return runAsync(info.Env(), [=, features = onDevice(features), boxes = onDevice(boxes), labels = onDevice(labels),
                               gradOutput = onDevice(gradOutput)] {
    model::RelationModule module(options);
    module->to(device, dtype);
    model::loadState(*module, weights, "relationForward.weights", /*complete=*/false);
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
    for (const auto& p : module->named_parameters()) gradients.set(p.key(), gradOf(p.value()));
    out.set("gradients", gradients);
    return out;
  });
}
IR_RCNN_BINDING("relationForward", RelationForward);

}  // namespace
}  // namespace ir_rcnn::addon
