// Shim: the c10d object that runs collectives. LibTorch 2.0 split c10d::ProcessGroup into a
// dispatching front and one c10d::Backend per transport; ProcessGroupGloo and ProcessGroupNCCL
// are Backends since, ProcessGroups before. Both run broadcast and allreduce on a tensor list,
// which is all train/ddp.cpp asks of them.
#pragma once
#include "compat/torch_version.h"

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
