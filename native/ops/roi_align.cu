// RoIAlign CUDA kernels: one thread per output (forward) or per output gradient (backward),
// with the sample positions and bilinear weights of the CPU kernel in roi_align.cpp.
#include <cuda_runtime.h>

#include "ops/cuda_kernels.h"

namespace ir_rcnn::ops::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
struct Geometry {
  int64_t batch;
  T startH, startW, binH, binW, count;
  int gridH, gridW;
};

template <typename T>
__device__ Geometry<T> geometry(const T* roi, T spatialScale, int64_t pooledH, int64_t pooledW, int64_t samplingRatio,
                                bool aligned) {
  T offset = aligned ? T(0.5) : T(0);
  Geometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  g.startW = roi[1] * spatialScale - offset;
  g.startH = roi[2] * spatialScale - offset;
  T roiW = roi[3] * spatialScale - offset - g.startW;
  T roiH = roi[4] * spatialScale - offset - g.startH;
  if (!aligned) {
    roiW = max(roiW, T(1));
    roiH = max(roiH, T(1));
  }
  g.binH = roiH / static_cast<T>(pooledH);
  g.binW = roiW / static_cast<T>(pooledW);
  g.gridH = samplingRatio > 0 ? static_cast<int>(samplingRatio) : static_cast<int>(ceil(roiH / pooledH));
  g.gridW = samplingRatio > 0 ? static_cast<int>(samplingRatio) : static_cast<int>(ceil(roiW / pooledW));
  g.count = static_cast<T>(max(g.gridH * g.gridW, 1));
  return g;
}

// Returns false for points more than a pixel outside the map (they contribute zero).
template <typename T>
__device__ bool bilinear(int64_t height, int64_t width, T y, T x, int64_t& yLow, int64_t& yHigh, int64_t& xLow,
                         int64_t& xHigh, T& w1, T& w2, T& w3, T& w4) {
  if (y < T(-1) || y > static_cast<T>(height) || x < T(-1) || x > static_cast<T>(width)) return false;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  yLow = static_cast<int64_t>(y);
  xLow = static_cast<int64_t>(x);
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = static_cast<T>(yLow);
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = static_cast<T>(xLow);
  } else {
    xHigh = xLow + 1;
  }
  T ly = y - static_cast<T>(yLow), lx = x - static_cast<T>(xLow);
  T hy = T(1) - ly, hx = T(1) - lx;
  w1 = hy * hx;
  w2 = hy * lx;
  w3 = ly * hx;
  w4 = ly * lx;
  return true;
}

template <typename T>
__global__ void forwardKernel(int64_t total, const T* input, const T* rois, T* output, int64_t channels,
                              int64_t height, int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW,
                              int64_t samplingRatio, bool aligned) {
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t pw = index % pooledW, ph = (index / pooledW) % pooledH;
    int64_t c = (index / pooledW / pooledH) % channels, n = index / pooledW / pooledH / channels;
    auto g = geometry(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
    const T* plane = input + (g.batch * channels + c) * height * width;
    T sum = 0;
    for (int iy = 0; iy < g.gridH; ++iy) {
      T y = g.startH + ph * g.binH + (iy + T(0.5)) * g.binH / static_cast<T>(g.gridH);
      for (int ix = 0; ix < g.gridW; ++ix) {
        T x = g.startW + pw * g.binW + (ix + T(0.5)) * g.binW / static_cast<T>(g.gridW);
        int64_t yLow, yHigh, xLow, xHigh;
        T w1, w2, w3, w4;
        if (!bilinear(height, width, y, x, yLow, yHigh, xLow, xHigh, w1, w2, w3, w4)) continue;
        sum += w1 * plane[yLow * width + xLow] + w2 * plane[yLow * width + xHigh] + w3 * plane[yHigh * width + xLow] +
               w4 * plane[yHigh * width + xHigh];
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
    auto g = geometry(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
    T* plane = gradInput + (g.batch * channels + c) * height * width;
    T gradBin = gradOutput[index];
    for (int iy = 0; iy < g.gridH; ++iy) {
      T y = g.startH + ph * g.binH + (iy + T(0.5)) * g.binH / static_cast<T>(g.gridH);
      for (int ix = 0; ix < g.gridW; ++ix) {
        T x = g.startW + pw * g.binW + (ix + T(0.5)) * g.binW / static_cast<T>(g.gridW);
        int64_t yLow, yHigh, xLow, xHigh;
        T w1, w2, w3, w4;
        if (!bilinear(height, width, y, x, yLow, yHigh, xLow, xHigh, w1, w2, w3, w4)) continue;
        // Overlapping RoIs of one image write the same pixels.
        atomicAdd(plane + yLow * width + xLow, gradBin * w1 / g.count);
        atomicAdd(plane + yLow * width + xHigh, gradBin * w2 / g.count);
        atomicAdd(plane + yHigh * width + xLow, gradBin * w3 / g.count);
        atomicAdd(plane + yHigh * width + xHigh, gradBin * w4 / g.count);
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
