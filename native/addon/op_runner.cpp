#include "addon/op_runner.h"

#include <optional>

namespace ir_rcnn::addon {
namespace {

void checkOneDtype(const Op& op, const Tensors& inputs) {
  const at::Tensor* first = nullptr;
  for (const auto& t : inputs) {
    if (!t.is_floating_point()) continue;
    if (first && t.scalar_type() != first->scalar_type())
      throw UserError(std::string(op.name) + ": dtypes differ (" + c10::toString(first->scalar_type()) + " vs " +
                      c10::toString(t.scalar_type()) + "); use one typed array for all tensors");
    first = &t;
  }
}

Napi::Value runOp(const Op& op, const Napi::CallbackInfo& info) {
  Object options = Args(info, op.name).object(0);
  auto deviceValue = options.optional("device");
  const c10::Device device = deviceValue ? deviceValue->device() : c10::Device(c10::kCPU);
  OpCall call = op.read(options);
  options.done();
  checkOneDtype(op, call.inputs);
  return runAsync(info.Env(), [call = std::move(call), device, autograd = op.autograd] {
    std::optional<c10::InferenceMode> inference;
    if (!autograd) inference.emplace();
    Tensors onDevice;
    for (const auto& t : call.inputs) onDevice.push_back(t.to(device));
    return call.run(onDevice);
  });
}

}  // namespace

bool registerOps(const Op* begin, const Op* end) {
  for (const Op* op = begin; op != end; ++op)
    registerBinding(op->name, [op](const Napi::CallbackInfo& info) { return runOp(*op, info); });
  return true;
}

}  // namespace ir_rcnn::addon
