// Launchers for the CUDA kernels in roi_align.cu and nms.cu. They take raw device pointers and
// an opaque cudaStream_t so that the .cu files need neither torch nor ATen's CUDA headers and
// compile standalone with nvcc; ops/cuda_glue.cpp adapts them to tensors. Each returns nullptr
// on success or the CUDA error message.
#pragma once
#include <cstdint>

namespace ir_rcnn::ops::cuda {

template <typename T>
const char* roiAlignForward(const T* input, const T* rois, T* output, int64_t numRois, int64_t channels,
                            int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                            int64_t samplingRatio, bool aligned, void* stream);

// gradInput must be zeroed; contributions are added atomically.
template <typename T>
const char* roiAlignBackward(const T* gradOutput, const T* rois, T* gradInput, int64_t numRois, int64_t channels,
                             int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                             int64_t samplingRatio, bool aligned, void* stream);

// Bits per mask word: box i's row holds, for every block of 64 boxes, which of them box i
// suppresses (only boxes after i in score order).
constexpr int kNmsBlock = 64;
inline int64_t nmsMaskWords(int64_t n) { return (n + kNmsBlock - 1) / kNmsBlock; }

// sortedBoxes [n, 4] in descending score order; mask [n, nmsMaskWords(n)].
template <typename T>
const char* nmsMask(const T* sortedBoxes, int64_t n, T iouThreshold, uint64_t* mask, void* stream);

}  // namespace ir_rcnn::ops::cuda
