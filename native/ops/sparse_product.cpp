// CPU: the entries are grouped by row and tasks own whole output rows: no atomics, and the same
// sums in the same order whatever the thread count. Other devices use gather + index_add_.
// Half and bfloat16 (the GCN under autocast) are summed in their own type, as index_add_ does.
#include "ops/sparse_product.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace ir_rcnn::ops {
namespace {

void checkEntries(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values, const at::Tensor& input) {
  TORCH_CHECK_VALUE(input.dim() == 2, "sparseProduct: input must be [N, C], got ", input.sizes());
  TORCH_CHECK_VALUE(rows.dim() == 1 && cols.sizes() == rows.sizes() && values.sizes() == rows.sizes(),
              "sparseProduct: rows, cols and values must be 1-D of one length, got ", rows.sizes(), ", ",
              cols.sizes(), ", ", values.sizes());
  TORCH_CHECK_VALUE(rows.scalar_type() == at::kLong && cols.scalar_type() == at::kLong, "sparseProduct: rows and cols must be int64");
  TORCH_CHECK_VALUE(values.scalar_type() == input.scalar_type(), "sparseProduct: values and input must have one dtype");
}

// The entries grouped by row with a stable counting sort: entries order[rowPtr[i] .. rowPtr[i+1])
// are those of row i, in their given order.
struct RowGroups {
  std::vector<int64_t> rowPtr, order;
};

RowGroups groupByRow(const int64_t* rows, int64_t entries, int64_t numRows) {
  RowGroups g{std::vector<int64_t>(numRows + 1, 0), std::vector<int64_t>(entries)};
  for (int64_t e = 0; e < entries; ++e) ++g.rowPtr[rows[e] + 1];
  for (int64_t i = 0; i < numRows; ++i) g.rowPtr[i + 1] += g.rowPtr[i];
  std::vector<int64_t> next(g.rowPtr.begin(), g.rowPtr.end() - 1);
  for (int64_t e = 0; e < entries; ++e) g.order[next[rows[e]]++] = e;
  return g;
}

// Calls visitRow(i, first, last) for every row i with its entries [first, last) in their given
// order. Tasks own whole rows, so a row's own data stays in L1 while the rows it pairs with
// stream in, and no two tasks write to one place.
template <typename VisitRow>
void forEachRow(const RowGroups& g, int64_t numRows, int64_t channels, const VisitRow& visitRow) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, channels));
  at::parallel_for(0, numRows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) visitRow(i, g.order.data() + g.rowPtr[i], g.order.data() + g.rowPtr[i + 1]);
  });
}

template <typename scalar_t>
void productCpu(const RowGroups& g, const int64_t* cols, const scalar_t* values, const scalar_t* input, scalar_t* out,
                int64_t numRows, int64_t channels) {
  forEachRow(g, numRows, channels, [&](int64_t i, const int64_t* first, const int64_t* last) {
    scalar_t* y = out + i * channels;
    std::fill(y, y + channels, scalar_t(0));
    for (const int64_t* e = first; e != last; ++e) {
      const scalar_t v = values[*e];
      const scalar_t* x = input + cols[*e] * channels;
      for (int64_t c = 0; c < channels; ++c) y[c] += v * x[c];
    }
  });
}

// Eight running sums, so that the compiler can keep them in one vector register: a single sum is
// a chain it may not reorder.
template <typename scalar_t>
scalar_t dot(const scalar_t* a, const scalar_t* b, int64_t n) {
  constexpr int64_t kLanes = 8;
  scalar_t lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lanes[k] += a[c + k] * b[c + k];
  scalar_t sum = 0;
  for (int64_t k = 0; k < kLanes; ++k) sum += lanes[k];
  for (; c < n; ++c) sum += a[c] * b[c];
  return sum;
}

template <typename scalar_t>
void dotsCpu(const RowGroups& g, const int64_t* cols, const scalar_t* left, const scalar_t* right, scalar_t* out,
             int64_t numRows, int64_t channels) {
  forEachRow(g, numRows, channels, [&](int64_t i, const int64_t* first, const int64_t* last) {
    const scalar_t* a = left + i * channels;
    for (const int64_t* e = first; e != last; ++e) out[*e] = dot(a, right + cols[*e] * channels, channels);
  });
}

}  // namespace

at::Tensor sparseProduct(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values,
                         const at::Tensor& input) {
  checkEntries(rows, cols, values, input);
  if (!input.is_cpu()) {
    return at::zeros_like(input).index_add_(0, rows, input.index_select(0, cols) * values.unsqueeze(1));
  }
  const at::Tensor x = input.contiguous(), r = rows.contiguous(), c = cols.contiguous(), v = values.contiguous();
  at::Tensor out = at::empty_like(x);
  const RowGroups groups = groupByRow(r.data_ptr<int64_t>(), r.size(0), x.size(0));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "sparseProduct", [&] {
    productCpu<scalar_t>(groups, c.data_ptr<int64_t>(), v.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                         out.data_ptr<scalar_t>(), x.size(0), x.size(1));
  });
  return out;
}

at::Tensor entryDots(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& left, const at::Tensor& right) {
  TORCH_CHECK_VALUE(left.dim() == 2 && left.sizes() == right.sizes(), "entryDots: left and right must be [N, C] of one shape");
  if (!left.is_cpu()) {
    // Chunked so that the gathered rows stay small: a full gather would be entries × C twice.
    const int64_t entries = rows.size(0);
    const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, left.size(1)));
    at::Tensor out = at::empty({entries}, left.options());
    for (int64_t begin = 0; begin < entries; begin += chunk) {
      const int64_t end = std::min(entries, begin + chunk);
      out.slice(0, begin, end) = (left.index_select(0, rows.slice(0, begin, end)) *
                                  right.index_select(0, cols.slice(0, begin, end))).sum(1);
    }
    return out;
  }
  const at::Tensor a = left.contiguous(), b = right.contiguous(), r = rows.contiguous(), c = cols.contiguous();
  at::Tensor out = at::empty({r.size(0)}, a.options());
  const RowGroups groups = groupByRow(r.data_ptr<int64_t>(), r.size(0), a.size(0));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, a.scalar_type(), "entryDots", [&] {
    dotsCpu<scalar_t>(groups, c.data_ptr<int64_t>(), a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                      out.data_ptr<scalar_t>(), a.size(0), a.size(1));
  });
  return out;
}

}  // namespace ir_rcnn::ops
