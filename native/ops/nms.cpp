// Greedy NMS with torchvision 0.14's CPU semantics: boxes visited by score (stable sort, so ties
// keep the lower index first), IoU computed in the boxes' dtype, suppression when IoU > threshold.
#include "ops/nms.h"

#include <ATen/Parallel.h>

#include <cmath>

#ifdef IR_RCNN_WITH_CUDA
#include "ops/cuda_glue.h"
#endif

namespace ir_rcnn::ops {
namespace {

// Below this many candidates a suppression sweep is cheaper than waking the thread pool: the
// vectorised sweep tests 10k boxes in a few microseconds, about what a parallel region costs.
constexpr int64_t kParallelSweep = 65536;

template <typename T>
int64_t nmsKernel(const T* boxes, const int64_t* order, int64_t n, T threshold, int64_t* keep) {
  // The boxes copied once in score order into one array per coordinate: the sweep below then reads
  // memory sequentially instead of through `order`, and being branch-free it vectorises. Testing a
  // box that is already suppressed again changes nothing, so the result is the same.
  std::vector<T> x1(n), y1(n), x2(n), y2(n), areas(n);
  for (int64_t a = 0; a < n; ++a) {
    const T* b = boxes + order[a] * 4;
    x1[a] = b[0], y1[a] = b[1], x2[a] = b[2], y2[a] = b[3];
    areas[a] = (b[2] - b[0]) * (b[3] - b[1]);
  }
  std::vector<uint8_t> suppressed(n, 0);
  int64_t kept = 0;
  for (int64_t a = 0; a < n; ++a) {
    if (suppressed[a]) continue;
    keep[kept++] = order[a];
    // Everything the sweep reads is copied into locals of the task: through the closure, every
    // byte stored to `suppressed` could alias the captured values (a uint8_t store may alias
    // anything), which forces reloads each iteration and blocks vectorisation.
    at::parallel_for(a + 1, n, kParallelSweep, [&](int64_t begin, int64_t end) {
      const T ix1 = x1[a], iy1 = y1[a], ix2 = x2[a], iy2 = y2[a], area = areas[a], limit = threshold;
      const T *bx1 = x1.data(), *by1 = y1.data(), *bx2 = x2.data(), *by2 = y2.data(), *bareas = areas.data();
      uint8_t* out = suppressed.data();
      for (int64_t b = begin; b < end; ++b) {
        T w = std::max(T(0), std::min(ix2, bx2[b]) - std::max(ix1, bx1[b]));
        T h = std::max(T(0), std::min(iy2, by2[b]) - std::max(iy1, by1[b]));
        T inter = w * h;
        out[b] |= static_cast<uint8_t>(inter / (area + bareas[b] - inter) > limit);
      }
    });
  }
  return kept;
}

void checkBoxesScores(const at::Tensor& boxes, const at::Tensor& scores, const char* where) {
  TORCH_CHECK_VALUE(boxes.dim() == 2 && boxes.size(1) == 4, where, ": boxes must be [N, 4], got ", boxes.sizes());
  TORCH_CHECK_VALUE(scores.dim() == 1 && scores.size(0) == boxes.size(0), where, ": scores must be [", boxes.size(0),
              "], got ", scores.sizes());
  TORCH_CHECK_VALUE(boxes.scalar_type() == at::kFloat || boxes.scalar_type() == at::kDouble, where,
              ": boxes must be float32 or float64, got ", boxes.scalar_type());
  TORCH_CHECK_VALUE(scores.scalar_type() == boxes.scalar_type(), where, ": scores dtype ", scores.scalar_type(),
              " differs from the boxes' ", boxes.scalar_type());
  TORCH_CHECK_VALUE(boxes.device() == scores.device(), where, ": boxes and scores are on different devices");
}

}  // namespace

at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iouThreshold) {
  checkBoxesScores(boxes, scores, "nms");
  int64_t n = boxes.size(0);
  if (n == 0) return at::empty({0}, boxes.options().dtype(at::kLong));
#ifdef IR_RCNN_WITH_CUDA
  if (boxes.is_cuda()) return cudaNms(boxes.contiguous(), scores.contiguous(), iouThreshold);
#endif
  TORCH_CHECK(boxes.is_cpu(), "nms: tensors on ", boxes.device(), " are not supported by this build");
  auto b = boxes.contiguous();
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true)).contiguous();
  at::Tensor keep = at::empty({n}, boxes.options().dtype(at::kLong));
  int64_t kept = 0;
  AT_DISPATCH_FLOATING_TYPES(b.scalar_type(), "nms", [&] {
    kept = nmsKernel<scalar_t>(b.data_ptr<scalar_t>(), order.data_ptr<int64_t>(), n,
                               static_cast<scalar_t>(iouThreshold), keep.data_ptr<int64_t>());
  });
  return keep.slice(0, 0, kept);
}

at::Tensor batchedNms(const at::Tensor& boxes, const at::Tensor& scores, const at::Tensor& idxs, double iouThreshold) {
  checkBoxesScores(boxes, scores, "batchedNms");
  TORCH_CHECK_VALUE(idxs.dim() == 1 && idxs.size(0) == boxes.size(0), "batchedNms: idxs must be [", boxes.size(0),
              "], got ", idxs.sizes());
  TORCH_CHECK_VALUE(!at::isFloatingType(idxs.scalar_type()) && idxs.scalar_type() != at::kBool,
              "batchedNms: idxs must be integers, got ", idxs.scalar_type());
  if (boxes.size(0) == 0) return at::empty({0}, boxes.options().dtype(at::kLong));
  // Shift each class into its own disjoint region so one NMS pass never compares across classes.
  auto maxCoordinate = boxes.max();
  auto offsets = idxs.to(boxes.options()) * (maxCoordinate + 1);
  return nms(boxes + offsets.unsqueeze(1), scores, iouThreshold);
}

}  // namespace ir_rcnn::ops
