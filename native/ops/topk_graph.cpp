// The per-row top-K graph builder of the IR module (paper §3.2 and §3.3: "sort the score matrix
// by rows and preserve the top K values in each row").
//
// Rules (the tests rely on them):
// - Row i keeps the K highest-scoring columns j with keep[i][j] true, in decreasing score order.
// - K >= (number of kept columns in the row) keeps all of them; K = 0 keeps none.
// - A fully masked row gives no edges (not an error).
// - Ties are broken by the lower column index, so the graph is deterministic whatever the thread
//   count.
// - NaN scores in kept positions are an error (they have no place in an order).
// The work is parallel over rows; besides the inputs only one column list per thread is held.
#include "ops/topk_graph.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

namespace ir_rcnn::ops {

TopKGraph buildTopKGraph(const at::Tensor& scores, const at::Tensor& keep, int64_t k) {
  TORCH_CHECK_VALUE(scores.dim() == 2 && scores.size(0) == scores.size(1),
              "buildTopKGraph: scores must be a square [N, N] matrix, got ", scores.sizes());
  TORCH_CHECK_VALUE(keep.sizes() == scores.sizes(), "buildTopKGraph: keep must have the shape of scores ",
              scores.sizes(), ", got ", keep.sizes());
  TORCH_CHECK_VALUE(keep.scalar_type() == at::kBool, "buildTopKGraph: keep must be bool, got ", keep.scalar_type());
  TORCH_CHECK_VALUE(scores.scalar_type() == at::kFloat || scores.scalar_type() == at::kDouble,
              "buildTopKGraph: scores must be float32 or float64, got ", scores.scalar_type());
  TORCH_CHECK_VALUE(k >= 0, "buildTopKGraph: k must be >= 0, got ", k);

  // The selection runs on the CPU; a CUDA graph is moved back at the end.
  const at::Device device = scores.device();
  const at::Tensor s = scores.detach().to(at::kCPU).contiguous();
  const at::Tensor m = keep.to(at::kCPU).contiguous();

  const int64_t n = s.size(0);
  const at::Tensor edgesPerRow = m.sum(1).clamp_max(k);
  at::Tensor rowPtr = at::zeros({n + 1}, at::kLong);
  rowPtr.slice(0, 1).copy_(edgesPerRow.cumsum(0));
  const int64_t numEdges = rowPtr[n].item<int64_t>();
  at::Tensor cols = at::empty({numEdges}, at::kLong);
  at::Tensor edgeScores = at::empty({numEdges}, s.options());

  std::atomic<bool> sawNaN{false};
  AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "buildTopKGraph", [&] {
    const scalar_t* sData = s.data_ptr<scalar_t>();
    const bool* mData = m.data_ptr<bool>();
    const int64_t* ptr = rowPtr.data_ptr<int64_t>();
    int64_t* colData = cols.data_ptr<int64_t>();
    scalar_t* scoreData = edgeScores.data_ptr<scalar_t>();
    at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> candidates;
      candidates.reserve(n);
      for (int64_t i = begin; i < end; ++i) {
        const scalar_t* row = sData + i * n;
        const bool* rowKeep = mData + i * n;
        candidates.clear();
        bool rowHasNaN = false;
        for (int64_t j = 0; j < n; ++j) {
          if (!rowKeep[j]) continue;
          rowHasNaN |= std::isnan(row[j]);
          candidates.push_back(j);
        }
        if (rowHasNaN) {  // no order to sort by; reported below, once the threads are done
          sawNaN = true;
          continue;
        }
        const int64_t count = ptr[i + 1] - ptr[i];
        auto higher = [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
        // `higher` is a strict total order (ties go to the lower column), so selecting the K best
        // and then sorting them gives what a partial sort would, in O(N + K log K).
        std::nth_element(candidates.begin(), candidates.begin() + count, candidates.end(), higher);
        std::sort(candidates.begin(), candidates.begin() + count, higher);
        for (int64_t e = 0; e < count; ++e) {
          colData[ptr[i] + e] = candidates[e];
          scoreData[ptr[i] + e] = row[candidates[e]];
        }
      }
    });
  });
  TORCH_CHECK_VALUE(!sawNaN, "buildTopKGraph: scores contain NaN");

  TopKGraph graph;
  graph.rowPtr = rowPtr.to(device);
  graph.cols = cols.to(device);
  graph.scores = edgeScores.to(device);
  graph.numNodes = n;
  return graph;
}

}  // namespace ir_rcnn::ops
