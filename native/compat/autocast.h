// Shim: switching autocast on and off for one device type. LibTorch 2.4 replaced
// set_enabled(bool) (CUDA) and set_cpu_enabled(bool) with set_autocast_enabled(device, bool) and
// deprecated the old pair.
#pragma once
#include <ATen/autocast_mode.h>

#include "compat/torch_version.h"

namespace ir_rcnn::compat {

inline void setAutocastEnabled(c10::DeviceType device, bool enabled) {
#if IR_RCNN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CUDA) at::autocast::set_enabled(enabled);
  else at::autocast::set_cpu_enabled(enabled);
#endif
}

}  // namespace ir_rcnn::compat
