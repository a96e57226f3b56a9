// The product of a sparse N×N matrix, given as (rows, cols, values) entries, with a dense [N, C]
// matrix, and the per-entry dot products its backward needs: the GCN propagation of the IR module
// (paper eq. 6) costs entries × C instead of N² × C.
#pragma once
#include <torch/torch.h>

namespace ir_rcnn::ops {

// out[i] = Σ_{e : rows[e] = i} values[e] · input[cols[e]]. Entries need no order and may repeat.
at::Tensor sparseProduct(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values,
                         const at::Tensor& input);

// out[e] = left[rows[e]] · right[cols[e]]: the gradient of sparseProduct with respect to values
// when left is the output's gradient and right the input.
at::Tensor entryDots(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& left,
                     const at::Tensor& right);

}  // namespace ir_rcnn::ops
