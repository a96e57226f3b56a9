// Where RoIAlign samples and how it weighs the samples, with torchvision 0.14's arithmetic: one
// definition for the CPU kernels (roi_align.cpp) and the CUDA ones (roi_align.cu). Plain C++ with
// no torch headers, because the CUDA sources are compiled without them.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define IR_RCNN_HOST_DEVICE __host__ __device__
#else
#define IR_RCNN_HOST_DEVICE
#endif

namespace ir_rcnn::ops {

// Geometry of one RoI on the feature map, shared by forward and backward.
template <typename T>
struct RoiGeometry {
  int64_t batch;
  T startH, startW, binH, binW;
  int gridH, gridW;  // samples per bin along each axis
  T count;           // samples averaged per bin (at least 1)

  // Sample iy of bin row ph (ix of bin column pw): the centre of its sub-cell of the bin.
  IR_RCNN_HOST_DEVICE T sampleY(int64_t ph, int iy) const {
    return startH + ph * binH + (iy + T(0.5)) * binH / static_cast<T>(gridH);
  }
  IR_RCNN_HOST_DEVICE T sampleX(int64_t pw, int ix) const {
    return startW + pw * binW + (ix + T(0.5)) * binW / static_cast<T>(gridW);
  }
};

template <typename T>
IR_RCNN_HOST_DEVICE RoiGeometry<T> roiGeometry(const T* roi, T spatialScale, int64_t pooledH, int64_t pooledW,
                                               int64_t samplingRatio, bool aligned) {
  // aligned=true shifts by half a pixel so that box corners land on pixel centres (Detectron2).
  T offset = aligned ? T(0.5) : T(0);
  RoiGeometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  g.startW = roi[1] * spatialScale - offset;
  g.startH = roi[2] * spatialScale - offset;
  T roiW = roi[3] * spatialScale - offset - g.startW;
  T roiH = roi[4] * spatialScale - offset - g.startH;
  if (!aligned) {  // the legacy behaviour: malformed RoIs are forced to 1x1
    roiW = roiW > T(1) ? roiW : T(1);
    roiH = roiH > T(1) ? roiH : T(1);
  }
  g.binH = roiH / static_cast<T>(pooledH);
  g.binW = roiW / static_cast<T>(pooledW);
  // torchvision converts ceil()'s floating result to int the same way.
  g.gridH = samplingRatio > 0 ? static_cast<int>(samplingRatio) : static_cast<int>(ceil(roiH / pooledH));
  g.gridW = samplingRatio > 0 ? static_cast<int>(samplingRatio) : static_cast<int>(ceil(roiW / pooledW));
  const int samples = g.gridH * g.gridW;
  g.count = static_cast<T>(samples > 1 ? samples : 1);
  return g;
}

// The four neighbours of a sample point and their bilinear weights; `valid` is false for
// points more than one pixel outside the map (they contribute zero).
template <typename T>
struct Bilinear {
  bool valid = false;
  int64_t yLow = 0, yHigh = 0, xLow = 0, xHigh = 0;
  T w1 = 0, w2 = 0, w3 = 0, w4 = 0;
};

template <typename T>
IR_RCNN_HOST_DEVICE Bilinear<T> bilinear(int64_t height, int64_t width, T y, T x) {
  Bilinear<T> b;
  if (y < T(-1) || y > static_cast<T>(height) || x < T(-1) || x > static_cast<T>(width)) return b;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  b.yLow = static_cast<int64_t>(y);
  b.xLow = static_cast<int64_t>(x);
  if (b.yLow >= height - 1) {
    b.yHigh = b.yLow = height - 1;
    y = static_cast<T>(b.yLow);
  } else {
    b.yHigh = b.yLow + 1;
  }
  if (b.xLow >= width - 1) {
    b.xHigh = b.xLow = width - 1;
    x = static_cast<T>(b.xLow);
  } else {
    b.xHigh = b.xLow + 1;
  }
  T ly = y - static_cast<T>(b.yLow), lx = x - static_cast<T>(b.xLow);
  T hy = T(1) - ly, hx = T(1) - lx;
  b.w1 = hy * hx;
  b.w2 = hy * lx;
  b.w3 = ly * hx;
  b.w4 = ly * lx;
  b.valid = true;
  return b;
}

}  // namespace ir_rcnn::ops
