// The errors native code reports to callers, each with a stable code that reaches JS as
// IrRcnnError.code (src/errors.ts). Model, training and addon code throw UserError where the
// cause is the caller's (an argument, a config, weights, a device, a peer); the addon classifies
// every other exception when it crosses to JS (native/addon/binding.cpp, describeException).
#pragma once

#include <stdexcept>
#include <string>

namespace ir_rcnn {

// The codes of src/errors.ts that native code can raise (ERR_IMAGE_DECODE is TypeScript's).
enum class ErrorCode { InvalidArgument, Weights, Config, Device, Distributed, Disposed, Native };

inline const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "ERR_INVALID_ARGUMENT";
    case ErrorCode::Weights: return "ERR_WEIGHTS";
    case ErrorCode::Config: return "ERR_CONFIG";
    case ErrorCode::Device: return "ERR_DEVICE";
    case ErrorCode::Distributed: return "ERR_DISTRIBUTED";
    case ErrorCode::Disposed: return "ERR_DISPOSED";
    case ErrorCode::Native: break;
  }
  return "ERR_NATIVE";
}

// A one-line message for the caller. Thrown from any thread; most are argument errors, hence
// the default code.
struct UserError : std::runtime_error {
  explicit UserError(const std::string& message, ErrorCode code = ErrorCode::InvalidArgument)
      : std::runtime_error(message), code(code) {}
  ErrorCode code;
};

}  // namespace ir_rcnn
