// Shims for c10d, PyTorch's distributed layer, across LibTorch versions.
#pragma once
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "compat/torch_version.h"

// The object that runs collectives. LibTorch 2.0 split c10d::ProcessGroup into a dispatching
// front and one c10d::Backend per transport; ProcessGroupGloo and ProcessGroupNCCL are Backends
// since, ProcessGroups before. Both run broadcast and allreduce on a tensor list, which is all
// train/ddp.cpp asks of them.
#if IR_RCNN_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
namespace ir_rcnn::compat {
using CollectiveGroup = c10d::Backend;
}
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
namespace ir_rcnn::compat {
using CollectiveGroup = c10d::ProcessGroup;
}
#endif

namespace ir_rcnn::compat {

// LibTorch 2.4 made TCPStore default to its libuv backend, which builds without libuv (Debian's
// 2.6) refuse at run time ("use_libuv was requested but PyTorch was build without libuv
// support"). The classic backend is in every build and ample for a handful of ranks.
inline void useClassicTcpStore(c10d::TCPStoreOptions& options) {
#if IR_RCNN_TORCH_AT_LEAST(2, 4)
  options.useLibUV = false;
#endif
}

}  // namespace ir_rcnn::compat
