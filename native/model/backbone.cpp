#include "model/backbone.h"

namespace ir_rcnn::model {

BackboneWithFPNImpl::BackboneWithFPNImpl(int64_t depth, int64_t trainableLayers) {
  body_ = register_module("body", ResNetBody(depth, trainableLayers));
  fpn_ = register_module("fpn", FeaturePyramidNetwork(body_->outChannels(), outChannels));
}

std::vector<at::Tensor> BackboneWithFPNImpl::forward(const at::Tensor& images) { return fpn_(body_(images)); }

}  // namespace ir_rcnn::model
