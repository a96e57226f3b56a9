// RoIAlign CUDA kernels: one thread per output (forward) or per output gradient (backward),
// with the sample positions and bilinear weights of roi_align_geometry.h, as the CPU kernels.
#include <cuda_runtime.h>

#include "ops/cuda_kernels.h"
#include "ops/roi_align_geometry.h"

namespace ir_rcnn::ops::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void forwardKernel(int64_t total, const T* input, const T* rois, T* output, int64_t channels,
                              int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                              int64_t samplingRatio, bool aligned) {
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t pw = index % pooledW, ph = (index / pooledW) % pooledH;
    int64_t c = (index / pooledW / pooledH) % channels, n = index / pooledW / pooledH / channels;
    auto g = roiGeometry(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
    const T* plane = input + (g.batch * channels + c) * height * width;
    T sum = 0;
    for (int iy = 0; iy < g.gridH; ++iy) {
      T y = g.sampleY(ph, iy);
      for (int ix = 0; ix < g.gridW; ++ix) {
        T x = g.sampleX(pw, ix);
        auto b = bilinear(height, width, y, x);
        if (!b.valid) continue;
        sum += b.w1 * plane[b.yLow * width + b.xLow] + b.w2 * plane[b.yLow * width + b.xHigh] +
               b.w3 * plane[b.yHigh * width + b.xLow] + b.w4 * plane[b.yHigh * width + b.xHigh];
      }
    }
    output[index] = sum / g.count;
  }
}

template <typename T>
__global__ void backwardKernel(int64_t total, const T* gradOutput, const T* rois, T* gradInput, int64_t channels,
                               int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                               int64_t samplingRatio, bool aligned) {
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t pw = index % pooledW, ph = (index / pooledW) % pooledH;
    int64_t c = (index / pooledW / pooledH) % channels, n = index / pooledW / pooledH / channels;
    auto g = roiGeometry(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
    T* plane = gradInput + (g.batch * channels + c) * height * width;
    T gradBin = gradOutput[index];
    for (int iy = 0; iy < g.gridH; ++iy) {
      T y = g.sampleY(ph, iy);
      for (int ix = 0; ix < g.gridW; ++ix) {
        T x = g.sampleX(pw, ix);
        auto b = bilinear(height, width, y, x);
        if (!b.valid) continue;
        // Overlapping RoIs of one image write the same pixels.
        atomicAdd(plane + b.yLow * width + b.xLow, gradBin * b.w1 / g.count);
        atomicAdd(plane + b.yLow * width + b.xHigh, gradBin * b.w2 / g.count);
        atomicAdd(plane + b.yHigh * width + b.xLow, gradBin * b.w3 / g.count);
        atomicAdd(plane + b.yHigh * width + b.xHigh, gradBin * b.w4 / g.count);
      }
    }
  }
}

unsigned blocksFor(int64_t total) {
  int64_t blocks = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 4096 ? blocks : 4096);  // grid-stride loops cover the rest
}

const char* lastError() {
  cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

}  // namespace

template <typename T>
const char* roiAlignForward(const T* input, const T* rois, T* output, int64_t numRois, int64_t channels,
                            int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                            int64_t samplingRatio, bool aligned, void* stream) {
  int64_t total = numRois * channels * pooledH * pooledW;
  if (total == 0) return nullptr;
  forwardKernel<T><<<blocksFor(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      total, input, rois, output, channels, height, width, spatialScale, pooledH, pooledW, samplingRatio, aligned);
  return lastError();
}

template <typename T>
const char* roiAlignBackward(const T* gradOutput, const T* rois, T* gradInput, int64_t numRois, int64_t channels,
                             int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                             int64_t samplingRatio, bool aligned, void* stream) {
  int64_t total = numRois * channels * pooledH * pooledW;
  if (total == 0) return nullptr;
  backwardKernel<T><<<blocksFor(total), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      total, gradOutput, rois, gradInput, channels, height, width, spatialScale, pooledH, pooledW, samplingRatio,
      aligned);
  return lastError();
}

template const char* roiAlignForward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t,
                                            float, int64_t, int64_t, int64_t, bool, void*);
template const char* roiAlignForward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t,
                                             int64_t, double, int64_t, int64_t, int64_t, bool, void*);
template const char* roiAlignBackward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t,
                                             float, int64_t, int64_t, int64_t, bool, void*);
template const char* roiAlignBackward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t,
                                              int64_t, double, int64_t, int64_t, int64_t, bool, void*);

}  // namespace ir_rcnn::ops::cuda
