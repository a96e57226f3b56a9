// Mixed precision for a scope, as `with torch.autocast(device_type):` does: autocast on for one
// device type (CUDA: float16; CPU: bfloat16), nesting counted, its cast cache cleared on the way out.
#pragma once
#include "compat/autocast.h"

namespace ir_rcnn::model {

class AutocastScope {
 public:
  AutocastScope(bool enabled, c10::DeviceType device) : enabled_(enabled), device_(device) {
    if (!enabled_) return;
    compat::setAutocastEnabled(device_, true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::setAutocastEnabled(device_, false);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  c10::DeviceType device_;
};

}  // namespace ir_rcnn::model
