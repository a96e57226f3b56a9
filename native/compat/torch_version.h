// The LibTorch version the addon is compiled against, for the shims in this folder (the only
// place where code differs by version).
#pragma once
#include <torch/version.h>

#define IR_RCNN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
