// The IR module (paper §3.2–3.4, eqs. 1–7). Choices the paper leaves open, made here:
// - The semantic top-K ranks Φ(f)Φ(f)ᵀ itself: the sigmoid of eq. 1 keeps the order, and ranking
//   before it avoids float saturation turning distinct scores into ties at 1.0.
// - δ enters both graphs as the keep-mask of the top-K (IoU > overlapThreshold or i = j: dropped).
// - The union (eq. 5) is symmetrised: an edge chosen by row i or by row j joins i and j both ways.
//   Its type is the set of graphs that chose it in either direction (1 semantic, 2 spatial, 3 both).
// - Edge weights: "binary" (the paper: 1) or "relatedness": the largest of the scores of the graphs
//   that chose the edge (sigmoid(Φ(f_i)Φ(f_j)ᵀ) for semantic, m_ij·w_ij for spatial; both are
//   symmetric in i and j). Relatedness weights keep their gradient, so Φ also learns through the
//   graph; binary edges give Φ no gradient there and the auxiliary loss trains it.
// - Degrees are weighted (D_ii = Σ_j E_ij). "laplacian" is eq. 6 as written, D^-½ (D − E) D^-½:
//   1 on the diagonal, −E_ij / √(D_ii D_jj) off it, and an all-zero row for a node of degree 0.
//   "adjacency" is Kipf and Welling's D̃^-½ (E + I) D̃^-½ with D̃ = D + I.
// - σ of eq. 6 is LeakyReLU with torch's default slope 0.01. W^l has no bias (eq. 6 has none).
// - With both graphs off there is nothing to reason over and the module is the identity.
// Choices made for training at real scale (README, "The IR module", has the measurements):
// - Scale of the relatedness: Φ sees each RoI feature standardised over its D values (zero mean,
//   unit variance, no parameters) and Φ(f̂_i)·Φ(f̂_j) is divided by √D, as scaled dot-product
//   attention does. The logits then start near 0 (the relation loss near ln 2) whatever the
//   magnitude of the box-head features; unscaled, a torchvision R50-FPN's features gave logits of
//   ~1e5 and the paper's learning rate diverged.
// - The last GCN layer W^L starts at zero, so Hᴸ = 0 and f̃ = f: IR R-CNN built on a Faster R-CNN
//   checkpoint starts as exactly that detector, and the reasoning grows in during fine-tuning.
//   Φ's output layer starts at a quarter of torch's default scale (see the constructor).
// - The auxiliary loss counts the pairs the semantic graph ranks (i ≠ j, IoU ≤ overlapThreshold),
//   every pair alike, and trains the shared features through Φ as well.
// - Under autocast the relatedness (Φ, its scores, the boxes, the spatial term) runs in float32:
//   the top-K needs an exact order and exp(−λ·distance) underflows in half precision.
// - Non-finite features or boxes (a diverging run) skip the reasoning: f̃ = f carries the NaN to
//   the losses, where the trainer stops cleanly, instead of an error from the graph builder.
#include "model/relation.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include "ops/box_ops.h"
#include "ops/sparse_product.h"
#include "ops/topk_graph.h"

#include <algorithm>
#include <stdexcept>

namespace ir_rcnn::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

class SparsePropagation : public torch::autograd::Function<SparsePropagation> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& rows, const at::Tensor& cols,
                            const at::Tensor& values, const at::Tensor& input) {
    ctx->save_for_backward({rows, cols, values, input});
    return ops::sparseProduct(rows, cols, values, input);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list gradOutputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& rows = saved[0];
    const at::Tensor& cols = saved[1];
    const at::Tensor& values = saved[2];
    const at::Tensor& input = saved[3];
    const at::Tensor gradOutput = gradOutputs[0].contiguous();
    at::Tensor gradValues, gradInput;
    if (ctx->needs_input_grad(2)) gradValues = ops::entryDots(rows, cols, gradOutput, input);
    if (ctx->needs_input_grad(3)) gradInput = ops::sparseProduct(cols, rows, values, gradOutput);  // Pᵀ·G
    return {at::Tensor(), at::Tensor(), gradValues, gradInput};
  }
};

// Eqs. 3 and 4 for every pair: m_ij · w_ij, from (x1, y1, x2, y2) boxes in network-input pixels.
at::Tensor spatialRelatedness(const at::Tensor& boxes, double lambda) {
  const at::Tensor x1 = boxes.select(1, 0), y1 = boxes.select(1, 1);
  const at::Tensor x2 = boxes.select(1, 2), y2 = boxes.select(1, 3);
  const at::Tensor w = x2 - x1, h = y2 - y1;
  const at::Tensor cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
  const at::Tensor minArea = at::minimum(w.unsqueeze(1), w.unsqueeze(0)) * at::minimum(h.unsqueeze(1), h.unsqueeze(0));
  const at::Tensor area = w * h;
  const at::Tensor denominator = area.unsqueeze(1) + area.unsqueeze(0) - minArea;
  // Two boxes of zero area have no shape to compare: similarity 0 rather than 0/0.
  const at::Tensor similarity = at::where(denominator > 0, minArea / denominator, at::zeros_like(denominator));
  const at::Tensor distance = at::hypot(cx.unsqueeze(1) - cx.unsqueeze(0), cy.unsqueeze(1) - cy.unsqueeze(0));
  return similarity * at::exp(-lambda * distance);
}

// The CSR rows of a top-K graph as one source index per edge.
at::Tensor edgeRows(const ops::TopKGraph& graph) {
  const at::Tensor& ptr = graph.rowPtr;
  return at::repeat_interleave(ptr.slice(0, 1) - ptr.slice(0, 0, graph.numNodes));
}

}  // namespace

GcnProduct productByDensity(int64_t entries, int64_t n) {
  return n <= 4096 && entries * kDenseProductDensity >= n * n ? GcnProduct::Dense : GcnProduct::Sparse;
}

at::Tensor propagate(const PropagationMatrix& matrix, const at::Tensor& input, GcnProduct product) {
  // Under CUDA autocast the features are half while the edge weights stay float: one dtype for both.
  const at::Tensor values = matrix.values.to(input.scalar_type());
  const int64_t n = input.size(0);
  if (product == GcnProduct::ByDensity) product = productByDensity(values.numel(), n);
  if (product == GcnProduct::Sparse) return SparsePropagation::apply(matrix.rows, matrix.cols, values, input);
  // Autograd gives the gradient of values by gathering from that of the dense matrix.
  const at::Tensor dense = at::zeros({n, n}, input.options()).index_put({matrix.rows, matrix.cols}, values, /*accumulate=*/true);
  return at::mm(dense, input);
}

RelationModuleImpl::RelationModuleImpl(RelationOptions options) : options_(std::move(options)) {
  const RelationOptions& o = options_;
  // The module's config: wrong values are ERR_CONFIG when a detector is built from them.
  const auto check = [](bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument("relation." + message);
  };
  check(o.dim >= 1, "dim: expected >= 1, got " + std::to_string(o.dim));
  check(o.k >= 1, "k: expected >= 1, got " + std::to_string(o.k));
  check(o.layers >= 1, "layers: expected >= 1, got " + std::to_string(o.layers));
  check(o.lambda >= 0 && std::isfinite(o.lambda), "lambda: expected a finite number >= 0, got " + c10::str(o.lambda));
  check(o.overlapThreshold >= 0 && o.overlapThreshold <= 1,
        "overlapThreshold: expected a number in [0, 1], got " + c10::str(o.overlapThreshold));
  check(o.edgeWeights == "binary" || o.edgeWeights == "relatedness",
        "edgeWeights: expected 'binary' or 'relatedness', got '" + o.edgeWeights + "'");
  check(o.propagation == "laplacian" || o.propagation == "adjacency",
        "propagation: expected 'laplacian' or 'adjacency', got '" + o.propagation + "'");
  check(o.auxLossWeight >= 0 && std::isfinite(o.auxLossWeight),
        "auxLossWeight: expected a finite number >= 0, got " + c10::str(o.auxLossWeight));

  // Φ exists only with the semantic graph, which is its only use. Its output layer starts at a
  // quarter of torch's default initialisation: Φ's ReLU makes every pair's dot product positive
  // on average, and the smaller start puts the mean logit near 0.1 instead of 1, so that the
  // relation loss starts at ln 2 (not ~0.9) with the gradient still flowing to both layers.
  if (o.semantic) {
    torch::nn::Linear output(o.dim, o.dim);
    {
      torch::NoGradGuard noGrad;
      output->weight.mul_(0.25);
      output->bias.mul_(0.25);
    }
    phi_ = register_module("phi", torch::nn::Sequential(torch::nn::Linear(o.dim, o.dim), torch::nn::ReLU(), output));
  }
  gcn_ = register_module("gcn", torch::nn::ModuleList());
  for (int64_t l = 0; l < o.layers; ++l) {
    torch::nn::Linear layer(torch::nn::LinearOptions(o.dim, o.dim).bias(false));
    if (l == o.layers - 1) {
      torch::NoGradGuard noGrad;
      layer->weight.zero_();
    }
    gcn_->push_back(layer);
  }
}

at::Tensor RelationModuleImpl::relatednessLogits(const at::Tensor& features) {
  const at::Tensor standardized = at::layer_norm(features, {options_.dim}, {}, {}, 1e-5);
  const at::Tensor projected = phi_->forward(standardized);
  return projected.mm(projected.t()).div_(std::sqrt(static_cast<double>(options_.dim)));
}

RelationGraph RelationModuleImpl::buildGraph(const at::Tensor& semanticLogits, const at::Tensor& boxes,
                                             const at::Tensor& candidates) const {
  const int64_t n = boxes.size(0);
  const at::Tensor b = boxes.detach();
  const at::Tensor keepCpu = candidates.to(at::kCPU);

  // Both directions of every chosen edge marked in an N×N table, bit 1 for the semantic graph and
  // bit 2 for the spatial one: the union's pairs then come out of nonzero() sorted by (src, dst).
  // N² bytes, like the score matrices themselves, and no sort.
  at::Tensor type = at::zeros({n * n}, at::kByte);
  auto mark = [&](const ops::TopKGraph& g, int64_t bit) {
    const at::Tensor rows = edgeRows(g);
    const at::Tensor keys = at::cat({rows * n + g.cols, g.cols * n + rows});
    type.index_put_({keys}, type.index_select(0, keys).bitwise_or(bit));
  };
  if (options_.semantic) mark(ops::buildTopKGraph(semanticLogits.detach().to(at::kCPU), keepCpu, options_.k), 1);
  at::Tensor spatial;
  if (options_.spatial) {
    spatial = spatialRelatedness(b, options_.lambda);
    mark(ops::buildTopKGraph(spatial.to(at::kCPU), keepCpu, options_.k), 2);
  }
  const at::Tensor pairs = type.nonzero().squeeze(1);
  type = type.index_select(0, pairs);
  const at::Tensor bySemantic = type.bitwise_and(1).to(at::kBool);
  const at::Tensor bySpatial = type.bitwise_and(2).to(at::kBool);
  const int64_t numPairs = pairs.size(0);

  const at::Device device = boxes.device();
  const at::Tensor flat = pairs.to(device);
  RelationGraph graph;
  graph.src = flat.div(n, "floor");
  graph.dst = flat.remainder(n);
  graph.type = type.to(device);
  if (options_.edgeWeights == "binary") {
    graph.weight = at::ones({numPairs}, boxes.options());
  } else {
    graph.weight = at::zeros({numPairs}, boxes.options());
    if (options_.semantic)
      graph.weight = at::where(bySemantic.to(device), semanticLogits.reshape(-1).index_select(0, flat).sigmoid(), graph.weight);
    if (options_.spatial)
      graph.weight = at::maximum(graph.weight, at::where(bySpatial.to(device), spatial.reshape(-1).index_select(0, flat), 0.0));
  }
  return graph;
}

PropagationMatrix RelationModuleImpl::propagationMatrix(const RelationGraph& graph, int64_t numNodes) const {
  const at::Tensor& w = graph.weight;
  const at::Tensor degree = at::zeros({numNodes}, w.options()).scatter_add(0, graph.src, w);
  const at::Tensor nodes = at::arange(numNodes, graph.src.options());
  at::Tensor offDiagonal, diagonal, diagonalNodes;
  if (options_.propagation == "laplacian") {
    const at::Tensor connected = degree > 0;
    // The clamp keeps the unused branch finite, so that its gradient (multiplied by 0) is not NaN.
    const at::Tensor invSqrt = at::where(connected, degree.clamp_min(1e-30).rsqrt(), at::zeros_like(degree));
    offDiagonal = -w * invSqrt.index_select(0, graph.src) * invSqrt.index_select(0, graph.dst);
    diagonalNodes = nodes.masked_select(connected);
    diagonal = at::ones({diagonalNodes.size(0)}, w.options());
  } else {
    const at::Tensor invSqrt = (degree + 1).rsqrt();
    offDiagonal = w * invSqrt.index_select(0, graph.src) * invSqrt.index_select(0, graph.dst);
    diagonalNodes = nodes;
    diagonal = (degree + 1).reciprocal();
  }
  // Entries in no particular order (the edges, then the diagonal): sparseProduct groups them itself.
  return {at::cat({graph.src, diagonalNodes}), at::cat({graph.dst, diagonalNodes}), at::cat({offDiagonal, diagonal})};
}

at::Tensor RelationModuleImpl::candidatePairs(const at::Tensor& boxes) const {
  at::Tensor keep = ops::boxIou(boxes, boxes).gt(options_.overlapThreshold).logical_not_();
  return keep.fill_diagonal_(false);
}

RelationOutput RelationModuleImpl::forward(const at::Tensor& features, const at::Tensor& boxes) {
  TORCH_CHECK_VALUE(features.dim() == 2 && features.size(1) == options_.dim, "relation: features must be [N, ",
              options_.dim, "], got ", features.sizes());
  TORCH_CHECK_VALUE(boxes.dim() == 2 && boxes.size(1) == 4 && boxes.size(0) == features.size(0),
              "relation: boxes must be [", features.size(0), ", 4], got ", boxes.sizes());
  const int64_t n = features.size(0);
  RelationOutput out;
  const bool finite = n == 0 || (features.isfinite().all().item<bool>() && boxes.isfinite().all().item<bool>());
  if ((!options_.semantic && !options_.spatial) || !finite) {
    const at::TensorOptions index = boxes.options().dtype(at::kLong);
    out.features = features;
    out.graph = {at::empty({0}, index), at::empty({0}, index), at::empty({0}, features.options()),
                 at::empty({0}, index.dtype(at::kByte))};
    return out;
  }
  TORCH_CHECK_VALUE((boxes.select(1, 2) >= boxes.select(1, 0)).all().item<bool>() &&
                  (boxes.select(1, 3) >= boxes.select(1, 1)).all().item<bool>(),
              "relation: boxes must be (x1, y1, x2, y2) with x2 >= x1 and y2 >= y1");
  // The relatedness in float32 (double stays double) with autocast off: see the notes above.
  const at::ScalarType scoreType = features.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor scoreBoxes = boxes.to(scoreType);
  {
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
    if (options_.semantic) out.semanticLogits = relatednessLogits(features.to(scoreType));
    out.candidatePairs = candidatePairs(scoreBoxes.detach());
    out.graph = buildGraph(out.semanticLogits, scoreBoxes, out.candidatePairs);
  }
  out.propagation = propagationMatrix(out.graph, n);
  at::Tensor hidden = features;
  for (const auto& layer : *gcn_)
    hidden = at::leaky_relu(propagate(out.propagation, layer->as<torch::nn::Linear>()->forward(hidden)), 0.01);
  out.features = features + hidden;
  out.graph.weight = out.graph.weight.detach();
  return out;
}

at::Tensor RelationModuleImpl::auxiliaryLoss(const RelationOutput& output, const at::Tensor& labels) const {
  const at::Tensor& logits = output.semanticLogits;
  // Without the semantic graph there is no Φ to train, and a skipped image (non-finite input) has
  // no scores: the loss is zero.
  if (!logits.defined()) return at::zeros({}, labels.options().dtype(at::kFloat));
  const int64_t n = logits.size(0);
  TORCH_CHECK_VALUE(labels.dim() == 1 && labels.size(0) == n, "relation: labels must be [", n, "], got ", labels.sizes());
  const at::Tensor l = labels.to(logits.device(), at::kLong);
  const at::Tensor target = (l.unsqueeze(1) == l.unsqueeze(0)).logical_and(l.gt(0).unsqueeze(1)).to(logits.scalar_type());
  const at::Tensor pairs = output.candidatePairs.to(logits.scalar_type());
  const at::Tensor total = at::binary_cross_entropy_with_logits(logits, target, pairs, {}, at::Reduction::Sum);
  // Mean over the candidate pairs; with none the sum is 0 and stays attached to Φ.
  return total * options_.auxLossWeight / pairs.sum().clamp_min(1);
}

}  // namespace ir_rcnn::model
