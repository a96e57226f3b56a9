// Mixed precision for a scope, as `with torch.autocast(device_type):` does: autocast on for one
// device type (CUDA: float16; CPU: bfloat16), nesting counted, its cast cache cleared on the way out.
#pragma once
#include <ATen/autocast_mode.h>

namespace ir_rcnn::model {

class AutocastScope {
 public:
  enum class Device { kCuda, kCpu };
  AutocastScope(bool enabled, Device device) : enabled_(enabled), device_(device) {
    if (!enabled_) return;
    set(true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(false);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  void set(bool on) const {
    if (device_ == Device::kCuda) at::autocast::set_enabled(on);
    else at::autocast::set_cpu_enabled(on);
  }
  bool enabled_;
  Device device_;
};

}  // namespace ir_rcnn::model
