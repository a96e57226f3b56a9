// The IR module of the paper (§3.2–3.4): semantic and spatial-layout top-K graphs over the
// proposals of one image, fused (eq. 5) and reasoned over by an L-layer sparse GCN (eq. 6) whose
// output is added to the box-head features (eq. 7). Parameters live under roi_heads.relation.*.
#pragma once
#include <torch/torch.h>

#include <string>

namespace ir_rcnn::model {

struct RelationOptions {  // no defaults: see model/config.h
  bool enabled{};          // false: plain Faster R-CNN, no module is built
  int64_t dim{};           // D, the box-head feature size (the config's roi.representationSize)
  int64_t k{};             // top-K per row (§3.2, §3.3)
  int64_t layers{};        // L (§3.4)
  double lambda{};         // λ of eq. 4, per pixel of the network input
  double overlapThreshold{};  // δ(i,j) = 0 when IoU > this (and when i = j)
  bool semantic{};         // E_sem on/off (Table 3)
  bool spatial{};          // E_spa on/off (Table 3)
  std::string edgeWeights;  // "binary" (paper) | "relatedness"
  std::string propagation;  // "laplacian" (eq. 6) | "adjacency" (Kipf–Welling)
  double auxLossWeight{};  // weight of the pairwise relatedness BCE that trains Φ
};

// The fused, undirected graph of one image (both directions stored), for reasoning and for
// inspection (detect({ returnGraph: true })).
struct RelationGraph {
  at::Tensor src;     // [E] int64
  at::Tensor dst;     // [E] int64
  at::Tensor weight;  // [E] float, the edge weight used in propagation
  at::Tensor type;    // [E] uint8: 1 semantic, 2 spatial, 3 both
};

// The propagation matrix of eq. 6 as a COO list (rows sorted, diagonal included where nonzero).
struct PropagationMatrix {
  at::Tensor rows;    // [P] int64
  at::Tensor cols;    // [P] int64
  at::Tensor values;  // [P] float
};

struct RelationOutput {
  at::Tensor features;         // f̃ = f + H^L, [N, D]
  at::Tensor semanticLogits;   // Φ(f̂)Φ(f̂)ᵀ/√D before the sigmoid, [N, N] (undefined if semantic off)
  at::Tensor candidatePairs;   // δ: [N, N] bool, i ≠ j and IoU ≤ overlapThreshold (undefined if no graph was built)
  RelationGraph graph;
  PropagationMatrix propagation;  // undefined tensors when no reasoning ran (both graphs off)
};

// How P·X is computed: entry by entry (work ∝ entries × C), as a dense N×N matrix through BLAS
// (∝ N² × C, but at several times the rate per multiply), or whichever the density of P favours.
enum class GcnProduct { Sparse, Dense, ByDensity };

// P·X for an [N, N] P given as a COO list (N = input.size(0)); entries may repeat and add up.
// Differentiable with respect to `input` and `values`. ByDensity takes the dense product when at
// least 1/kDenseProductDensity of P's N² entries are set (and N ≤ 4096): the crossover measured by
// `npm run bench` (section relation) on this project's 2-core CPU, where a sparse multiply cost
// about 8–9 dense ones (K = 64 makes P dense enough up to N ≈ 1000; K = 16 up to N ≈ 260).
constexpr int64_t kDenseProductDensity = 8;
// Sparse or Dense for P of `entries` entries among n × n.
GcnProduct productByDensity(int64_t entries, int64_t n);
at::Tensor propagate(const PropagationMatrix& matrix, const at::Tensor& input, GcnProduct product = GcnProduct::ByDensity);

class RelationModuleImpl : public torch::nn::Module {
 public:
  explicit RelationModuleImpl(RelationOptions options);
  // features [N, D] of one image's RoIs, boxes [N, 4] (x1, y1, x2, y2) in network-input pixels.
  RelationOutput forward(const at::Tensor& features, const at::Tensor& boxes);
  // Pairwise BCE on forward()'s semantic logits over its candidate pairs: target 1 where both RoIs
  // are foreground of the same class (labels [N] int64, 0 = background). Scaled by auxLossWeight.
  // Zero when no semantic scores were computed.
  at::Tensor auxiliaryLoss(const RelationOutput& output, const at::Tensor& labels) const;
  const RelationOptions& options() const { return options_; }

 private:
  // Φ(f̂)Φ(f̂)ᵀ/√D with f̂ each row of `features` standardised.
  at::Tensor relatednessLogits(const at::Tensor& features);
  // δ of eqs. 1–2: i ≠ j and IoU(i, j) ≤ overlapThreshold.
  at::Tensor candidatePairs(const at::Tensor& boxes) const;
  RelationGraph buildGraph(const at::Tensor& semanticLogits, const at::Tensor& boxes, const at::Tensor& candidates) const;
  PropagationMatrix propagationMatrix(const RelationGraph& graph, int64_t numNodes) const;

  RelationOptions options_;
  torch::nn::Sequential phi_{nullptr};  // Φ: Linear(D,D) ReLU Linear(D,D), registered as "phi"
  torch::nn::ModuleList gcn_{nullptr};  // W^l: bias-free Linear(D,D), registered as "gcn"
};
TORCH_MODULE(RelationModule);

}  // namespace ir_rcnn::model
