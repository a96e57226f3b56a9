// RoIAlign forward/backward CPU kernels with torchvision 0.14's arithmetic (same sample
// positions, same clamping, same summation order), its autograd wrapper, and the FPN
// MultiScaleRoIAlign built on top.
#include "ops/roi_align.h"
#include "ops/roi_align_geometry.h"

#include <ATen/Parallel.h>

#include <cmath>

#ifdef IR_RCNN_WITH_CUDA
#include "ops/cuda_glue.h"
#endif

namespace ir_rcnn::ops {
namespace {

// A sample as the forward's channel loop reads it: the four neighbours' offsets in a plane and
// their weights. A sample outside the map gets zero weights at offset 0, so that loop has no
// branch and no index arithmetic (torchvision's pre_calc does the same).
template <typename T>
struct SampleTaps {
  int64_t offset[4] = {0, 0, 0, 0};
  T weight[4] = {0, 0, 0, 0};
};

template <typename T>
void forwardKernel(const T* input, const T* rois, T* output, int64_t numRois, int64_t channels, int64_t height,
                   int64_t width, T spatialScale, int64_t pooledH, int64_t pooledW, int64_t samplingRatio,
                   bool aligned) {
  // Sample positions and weights depend on the RoI only, so each task computes them once per RoI
  // and reuses them for every channel (as torchvision's pre_calc does).
  at::parallel_for(0, numRois, 1, [&](int64_t begin, int64_t end) {
    std::vector<SampleTaps<T>> samples;
    for (int64_t n = begin; n < end; ++n) {
      auto g = roiGeometry(rois + n * 5, spatialScale, pooledH, pooledW, samplingRatio, aligned);
      samples.clear();
      for (int64_t ph = 0; ph < pooledH; ++ph)
        for (int64_t pw = 0; pw < pooledW; ++pw)
          for (int iy = 0; iy < g.gridH; ++iy) {
            T y = g.sampleY(ph, iy);
            for (int ix = 0; ix < g.gridW; ++ix) {
              T x = g.sampleX(pw, ix);
              auto b = bilinear(height, width, y, x);
              SampleTaps<T> taps;
              if (b.valid)
                taps = {{b.yLow * width + b.xLow, b.yLow * width + b.xHigh, b.yHigh * width + b.xLow, b.yHigh * width + b.xHigh},
                        {b.w1, b.w2, b.w3, b.w4}};
              samples.push_back(taps);
            }
          }
      int64_t perBin = static_cast<int64_t>(samples.size()) / (pooledH * pooledW);
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = input + (g.batch * channels + c) * height * width;
        T* out = output + (n * channels + c) * pooledH * pooledW;
        const SampleTaps<T>* s = samples.data();
        for (int64_t bin = 0; bin < pooledH * pooledW; ++bin) {
          T sum = 0;
          for (int64_t k = 0; k < perBin; ++k, ++s)
            sum += s->weight[0] * plane[s->offset[0]] + s->weight[1] * plane[s->offset[1]] +
                   s->weight[2] * plane[s->offset[2]] + s->weight[3] * plane[s->offset[3]];
          out[bin] = sum / g.count;
        }
      }
    }
  });
}

template <typename T>
void backwardKernel(const T* gradOutput, const T* rois, T* gradInput, int64_t numRois, int64_t batch,
                    int64_t channels, int64_t height, int64_t width, T spatialScale, int64_t pooledH,
                    int64_t pooledW, int64_t samplingRatio, bool aligned) {
  // RoIs of one image scatter into the same plane, so each task owns one (image, channel)
  // plane and walks the RoIs in order: no atomics, and the same summation order as
  // torchvision's serial loop, hence bit-identical gradients.
  at::parallel_for(0, batch * channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      int64_t b = task / channels, c = task % channels;
      T* plane = gradInput + task * height * width;
      for (int64_t n = 0; n < numRois; ++n) {
        const T* roi = rois + n * 5;
        if (static_cast<int64_t>(roi[0]) != b) continue;
        auto g = roiGeometry(roi, spatialScale, pooledH, pooledW, samplingRatio, aligned);
        const T* grad = gradOutput + (n * channels + c) * pooledH * pooledW;
        for (int64_t ph = 0; ph < pooledH; ++ph) {
          for (int64_t pw = 0; pw < pooledW; ++pw) {
            T gradBin = grad[ph * pooledW + pw];
            for (int iy = 0; iy < g.gridH; ++iy) {
              T y = g.sampleY(ph, iy);
              for (int ix = 0; ix < g.gridW; ++ix) {
                T x = g.sampleX(pw, ix);
                auto s = bilinear(height, width, y, x);
                if (!s.valid) continue;
                plane[s.yLow * width + s.xLow] += gradBin * s.w1 / g.count;
                plane[s.yLow * width + s.xHigh] += gradBin * s.w2 / g.count;
                plane[s.yHigh * width + s.xLow] += gradBin * s.w3 / g.count;
                plane[s.yHigh * width + s.xHigh] += gradBin * s.w4 / g.count;
              }
            }
          }
        }
      }
    }
  });
}

void checkRois(const at::Tensor& rois, const at::Tensor& like, const char* where) {
  TORCH_CHECK_VALUE(rois.dim() == 2 && rois.size(1) == 5, where, ": rois must be [K, 5] (batch index, x1, y1, x2, y2), got ",
              rois.sizes());
  TORCH_CHECK_VALUE(rois.scalar_type() == like.scalar_type(), where, ": rois dtype ", rois.scalar_type(),
              " differs from the features' ", like.scalar_type());
  TORCH_CHECK_VALUE(rois.device() == like.device(), where, ": rois and features are on different devices");
}

void checkPooling(double spatialScale, int64_t pooledH, int64_t pooledW, const char* where) {
  TORCH_CHECK_VALUE(pooledH > 0 && pooledW > 0, where, ": output size must be positive, got ", pooledH, "x", pooledW);
  TORCH_CHECK_VALUE(std::isfinite(spatialScale) && spatialScale > 0, where, ": spatial scale must be positive, got ",
              spatialScale);
}

// Batch indices are read as feature-map offsets, so a bad one would read out of bounds.
void checkBatchIndices(const at::Tensor& rois, int64_t batch, const char* where) {
  if (rois.size(0) == 0) return;
  auto index = rois.select(1, 0);
  bool ok = (index >= 0).all().item<bool>() && (index < batch).all().item<bool>() &&
            (index == index.floor()).all().item<bool>();
  TORCH_CHECK_VALUE(ok, where, ": rois[:, 0] must be integer batch indices in [0, ", batch, ")");
}

class RoiAlignFunction : public torch::autograd::Function<RoiAlignFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois,
                            double spatialScale, int64_t pooledH, int64_t pooledW, int64_t samplingRatio,
                            bool aligned) {
    ctx->save_for_backward({rois});
    ctx->saved_data["spatialScale"] = spatialScale;
    ctx->saved_data["pooledH"] = pooledH;
    ctx->saved_data["pooledW"] = pooledW;
    ctx->saved_data["samplingRatio"] = samplingRatio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["inputSize"] = input.sizes();
    return roiAlignForward(input, rois, spatialScale, pooledH, pooledW, samplingRatio, aligned);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOutputs) {
    auto rois = ctx->get_saved_variables()[0];
    auto size = ctx->saved_data["inputSize"].toIntVector();
    auto gradInput = roiAlignBackward(gradOutputs[0], rois, ctx->saved_data["spatialScale"].toDouble(),
                                      ctx->saved_data["pooledH"].toInt(), ctx->saved_data["pooledW"].toInt(), size[0],
                                      size[1], size[2], size[3], ctx->saved_data["samplingRatio"].toInt(),
                                      ctx->saved_data["aligned"].toBool());
    return {gradInput, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor roiAlignForward(const at::Tensor& input, const at::Tensor& rois, double spatialScale, int64_t pooledH,
                           int64_t pooledW, int64_t samplingRatio, bool aligned) {
  TORCH_CHECK_VALUE(input.dim() == 4, "roiAlign: features must be [B, C, H, W], got ", input.sizes());
  TORCH_CHECK_VALUE(input.scalar_type() == at::kFloat || input.scalar_type() == at::kDouble,
              "roiAlign: features must be float32 or float64, got ", input.scalar_type());
  checkRois(rois, input, "roiAlign");
  checkPooling(spatialScale, pooledH, pooledW, "roiAlign");
  checkBatchIndices(rois, input.size(0), "roiAlign");
  int64_t numRois = rois.size(0), channels = input.size(1), height = input.size(2), width = input.size(3);
  at::Tensor output = at::zeros({numRois, channels, pooledH, pooledW}, input.options());
  if (output.numel() == 0 || height == 0 || width == 0) return output;
  auto x = input.contiguous();
  auto r = rois.contiguous();
#ifdef IR_RCNN_WITH_CUDA
  if (x.is_cuda()) {
    cudaRoiAlignForward(x, r, output, spatialScale, pooledH, pooledW, samplingRatio, aligned);
    return output;
  }
#endif
  TORCH_CHECK(x.is_cpu(), "roiAlign: tensors on ", x.device(), " are not supported by this build");
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "roiAlignForward", [&] {
    forwardKernel<scalar_t>(x.data_ptr<scalar_t>(), r.data_ptr<scalar_t>(), output.data_ptr<scalar_t>(), numRois,
                            channels, height, width, static_cast<scalar_t>(spatialScale), pooledH, pooledW,
                            samplingRatio, aligned);
  });
  return output;
}

at::Tensor roiAlignBackward(const at::Tensor& gradOutput, const at::Tensor& rois, double spatialScale, int64_t pooledH,
                            int64_t pooledW, int64_t batch, int64_t channels, int64_t height, int64_t width,
                            int64_t samplingRatio, bool aligned) {
  TORCH_CHECK_VALUE(gradOutput.scalar_type() == at::kFloat || gradOutput.scalar_type() == at::kDouble,
              "roiAlignBackward: gradient must be float32 or float64, got ", gradOutput.scalar_type());
  checkRois(rois, gradOutput, "roiAlignBackward");
  checkPooling(spatialScale, pooledH, pooledW, "roiAlignBackward");
  TORCH_CHECK_VALUE(batch >= 0 && channels >= 0 && height >= 0 && width >= 0,
              "roiAlignBackward: input size must be non-negative");
  TORCH_CHECK_VALUE(gradOutput.dim() == 4 && gradOutput.size(0) == rois.size(0) && gradOutput.size(1) == channels &&
                  gradOutput.size(2) == pooledH && gradOutput.size(3) == pooledW,
              "roiAlignBackward: gradient must be [", rois.size(0), ", ", channels, ", ", pooledH, ", ", pooledW,
              "], got ", gradOutput.sizes());
  checkBatchIndices(rois, batch, "roiAlignBackward");
  at::Tensor gradInput = at::zeros({batch, channels, height, width}, gradOutput.options());
  if (gradOutput.numel() == 0 || gradInput.numel() == 0) return gradInput;
  auto g = gradOutput.contiguous();
  auto r = rois.contiguous();
#ifdef IR_RCNN_WITH_CUDA
  if (g.is_cuda()) {
    cudaRoiAlignBackward(g, r, gradInput, spatialScale, pooledH, pooledW, samplingRatio, aligned);
    return gradInput;
  }
#endif
  TORCH_CHECK(g.is_cpu(), "roiAlignBackward: tensors on ", g.device(), " are not supported by this build");
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "roiAlignBackward", [&] {
    backwardKernel<scalar_t>(g.data_ptr<scalar_t>(), r.data_ptr<scalar_t>(), gradInput.data_ptr<scalar_t>(),
                             rois.size(0), batch, channels, height, width, static_cast<scalar_t>(spatialScale),
                             pooledH, pooledW, samplingRatio, aligned);
  });
  return gradInput;
}

at::Tensor roiAlign(const at::Tensor& input, const at::Tensor& rois, double spatialScale, int64_t pooledH,
                    int64_t pooledW, int64_t samplingRatio, bool aligned) {
  return RoiAlignFunction::apply(input, rois, spatialScale, pooledH, pooledW, samplingRatio, aligned);
}

at::Tensor assignFpnLevels(const at::Tensor& boxes, int64_t kMin, int64_t kMax, int64_t canonicalScale,
                           int64_t canonicalLevel, double eps) {
  TORCH_CHECK_VALUE(boxes.dim() == 2 && boxes.size(1) == 4, "assignFpnLevels: boxes must be [N, 4], got ", boxes.sizes());
  TORCH_CHECK_VALUE(kMin <= kMax, "assignFpnLevels: kMin ", kMin, " > kMax ", kMax);
  TORCH_CHECK_VALUE(canonicalScale > 0, "assignFpnLevels: canonical scale must be positive");
  // LevelMapper: k = floor(k0 + log2(sqrt(area) / s0) + eps), clamped to the available levels.
  auto area = (boxes.select(1, 2) - boxes.select(1, 0)) * (boxes.select(1, 3) - boxes.select(1, 1));
  auto s = area.sqrt();
  auto levels = at::floor(canonicalLevel + at::log2(s / canonicalScale) + at::scalar_tensor(eps, s.options()));
  levels = levels.clamp(static_cast<double>(kMin), static_cast<double>(kMax));
  return levels.to(at::kLong) - kMin;
}

at::Tensor multiScaleRoiAlign(const std::vector<at::Tensor>& features, const std::vector<at::Tensor>& boxes,
                              const std::vector<std::pair<int64_t, int64_t>>& imageSizes, int64_t outputSize,
                              int64_t samplingRatio, int64_t canonicalScale, int64_t canonicalLevel) {
  TORCH_CHECK_VALUE(!features.empty(), "multiScaleRoiAlign: no feature maps");
  TORCH_CHECK_VALUE(!imageSizes.empty(), "multiScaleRoiAlign: no image sizes");
  TORCH_CHECK_VALUE(boxes.size() <= static_cast<size_t>(features[0].size(0)), "multiScaleRoiAlign: ", boxes.size(),
              " box lists for a batch of ", features[0].size(0));
  for (const auto& f : features)
    TORCH_CHECK_VALUE(f.dim() == 4 && f.size(0) == features[0].size(0) && f.size(1) == features[0].size(1),
                "multiScaleRoiAlign: feature maps must be [B, C, H, W] with the same B and C, got ", f.sizes());
  // Scale of each map: 2^round(log2(map height / largest image height)), computed in float32
  // as torchvision does.
  int64_t maxH = 0;
  for (const auto& [h, w] : imageSizes) maxH = std::max(maxH, h);
  TORCH_CHECK_VALUE(maxH > 0, "multiScaleRoiAlign: image sizes must be positive");
  std::vector<double> scales;
  for (const auto& f : features) {
    float approx = static_cast<float>(static_cast<double>(f.size(2)) / static_cast<double>(maxH));
    scales.push_back(std::pow(2.0, static_cast<double>(std::nearbyint(std::log2(approx)))));
  }
  // Python's int() of -log2(scale) truncates towards zero.
  auto kMin = static_cast<int64_t>(-std::log2(static_cast<float>(scales.front())));
  auto kMax = static_cast<int64_t>(-std::log2(static_cast<float>(scales.back())));

  std::vector<at::Tensor> rois;
  for (size_t i = 0; i < boxes.size(); ++i) {
    TORCH_CHECK_VALUE(boxes[i].dim() == 2 && boxes[i].size(1) == 4, "multiScaleRoiAlign: boxes[", i,
                "] must be [N, 4], got ", boxes[i].sizes());
    rois.push_back(at::cat({at::full({boxes[i].size(0), 1}, static_cast<double>(i), boxes[i].options()), boxes[i]}, 1));
  }
  at::Tensor allRois = rois.empty() ? at::empty({0, 5}, features[0].options()) : at::cat(rois, 0);
  if (features.size() == 1)
    return roiAlign(features[0], allRois, scales[0], outputSize, outputSize, samplingRatio, false);

  auto levels = assignFpnLevels(allRois.slice(1, 1), kMin, kMax, canonicalScale, canonicalLevel);
  at::Tensor result = at::zeros({allRois.size(0), features[0].size(1), outputSize, outputSize}, features[0].options());
  for (size_t level = 0; level < features.size(); ++level) {
    auto index = at::nonzero(levels == static_cast<int64_t>(level)).squeeze(1);
    auto pooled = roiAlign(features[level], allRois.index_select(0, index), scales[level], outputSize, outputSize,
                           samplingRatio, false);
    // In place, as torchvision's result[idx] = pooled: autograd still carries each level's gradient
    // back to its features, and the [K, C, 7, 7] result is not copied once per level.
    result.index_copy_(0, index, pooled);
  }
  return result;
}

}  // namespace ir_rcnn::ops
