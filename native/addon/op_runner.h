// The bindings of the ops (ops_bindings.cpp) and of the IR module's pieces (relation_bindings.cpp)
// are tables: each entry reads its options object and binds its op to them, and one runner does
// the rest. It reads `device` ('cpu' by default, 'cuda', 'cuda:N'), rejects unknown options,
// checks that the floating-point inputs share one dtype, and runs the op on the thread pool (with
// autograd off unless the op asks for it), the inputs copied to the device and the result back
// to the host, so that the CUDA kernels can be compared with the CPU ones. It returns a Promise.
#pragma once

#include <functional>
#include <vector>

#include "addon/args.h"
#include "addon/binding.h"

namespace ir_rcnn::addon {

using Tensors = std::vector<at::Tensor>;

// What an op's reader hands the runner: the input tensors (moved to the device, in this order,
// before `run`) and the op with its other arguments bound.
struct OpCall {
  Tensors inputs;
  std::function<Out(const Tensors&)> run;
};

struct Op {
  const char* name;
  OpCall (*read)(Object& options);
  bool autograd = false;  // true: the op computes gradients (no InferenceMode)
};

// Registers each op as a binding; the table must outlive the process (a static array).
bool registerOps(const Op* begin, const Op* end);

}  // namespace ir_rcnn::addon
