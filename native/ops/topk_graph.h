// The per-row top-K graph builder of the IR module (paper §3.2–3.3): from an N×N score matrix
// and an N×N keep-mask (δ), the K best kept columns of every row, as a CSR edge list.
#pragma once
#include <torch/torch.h>

namespace ir_rcnn::ops {

struct TopKGraph {
  at::Tensor rowPtr;  // [N + 1] int64: edges of row i are rowPtr[i] .. rowPtr[i+1]-1
  at::Tensor cols;    // [E] int64, the kept column of each edge
  at::Tensor scores;  // [E] the score of each edge (same dtype as the scores matrix)
  int64_t numNodes = 0;
};

// See topk_graph.cpp for the rules on K >= N, fully masked rows and ties.
TopKGraph buildTopKGraph(const at::Tensor& scores, const at::Tensor& keep, int64_t k);

}  // namespace ir_rcnn::ops
