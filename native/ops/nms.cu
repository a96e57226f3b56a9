// NMS on the GPU with the bitmask approach: one block compares 64 boxes against 64 others and
// records, per box, a 64-bit word of the later boxes it suppresses. The greedy pass over the
// mask then runs on the host (ops/cuda_glue.cpp).
#include <cuda_runtime.h>

#include "ops/cuda_kernels.h"

namespace ir_rcnn::ops::cuda {
namespace {

template <typename T>
__device__ bool overlaps(const T* a, const T* b, T threshold) {
  T w = max(T(0), min(a[2], b[2]) - max(a[0], b[0]));
  T h = max(T(0), min(a[3], b[3]) - max(a[1], b[1]));
  T inter = w * h;
  T areaA = (a[2] - a[0]) * (a[3] - a[1]);
  T areaB = (b[2] - b[0]) * (b[3] - b[1]);
  return inter / (areaA + areaB - inter) > threshold;
}

template <typename T>
__global__ void maskKernel(int64_t n, int64_t words, T threshold, const T* boxes, uint64_t* mask) {
  int64_t rowBlock = blockIdx.y, colBlock = blockIdx.x;
  // Box i only suppresses boxes after it, so blocks below the diagonal have nothing to do.
  if (rowBlock > colBlock) return;
  int64_t rowSize = min(n - rowBlock * kNmsBlock, static_cast<int64_t>(kNmsBlock));
  int64_t colSize = min(n - colBlock * kNmsBlock, static_cast<int64_t>(kNmsBlock));
  __shared__ T columns[kNmsBlock * 4];
  if (threadIdx.x < colSize)
    for (int k = 0; k < 4; ++k) columns[threadIdx.x * 4 + k] = boxes[(colBlock * kNmsBlock + threadIdx.x) * 4 + k];
  __syncthreads();
  if (threadIdx.x >= rowSize) return;
  int64_t row = rowBlock * kNmsBlock + threadIdx.x;
  const T* box = boxes + row * 4;
  uint64_t bits = 0;
  for (int64_t i = rowBlock == colBlock ? threadIdx.x + 1 : 0; i < colSize; ++i)
    if (overlaps(box, columns + i * 4, threshold)) bits |= 1ULL << i;
  mask[row * words + colBlock] = bits;
}

}  // namespace

template <typename T>
const char* nmsMask(const T* sortedBoxes, int64_t n, T iouThreshold, uint64_t* mask, void* stream) {
  if (n == 0) return nullptr;
  auto words = static_cast<unsigned>(nmsMaskWords(n));
  auto s = static_cast<cudaStream_t>(stream);
  // Blocks below the diagonal write nothing; their words must read as "suppresses none".
  cudaError_t error = cudaMemsetAsync(mask, 0, sizeof(uint64_t) * n * words, s);
  if (error != cudaSuccess) return cudaGetErrorString(error);
  maskKernel<T><<<dim3(words, words), kNmsBlock, 0, s>>>(n, words, iouThreshold, sortedBoxes, mask);
  error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

template const char* nmsMask<float>(const float*, int64_t, float, uint64_t*, void*);
template const char* nmsMask<double>(const double*, int64_t, double, uint64_t*, void*);

}  // namespace ir_rcnn::ops::cuda
