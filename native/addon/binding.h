// The N-API boundary: how a C++ function becomes a JS function, how results become JS values,
// how errors reach JS (as IrRcnnError, with a code), what each addon instance keeps (one per
// Node environment: the main thread and every worker thread that loads the package), and how
// work runs off the JS thread. Arguments are read with addon/args.h.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "error.h"

namespace ir_rcnn::addon {

// ---- registration -------------------------------------------------------------------------
// A binding file registers its functions with IR_RCNN_BINDING("jsName", CppFunction), or with
// registerBinding for functions made from a table; addon.cpp exports everything registered,
// wrapped so that any C++ exception becomes a thrown IrRcnnError.
using Binding = std::function<Napi::Value(const Napi::CallbackInfo&)>;
struct Registered {
  std::string name;
  Binding fn;
};
void registerBinding(std::string name, Binding fn);
const std::deque<Registered>& registeredBindings();  // a deque: exported functions keep pointers to the entries
struct Registrar {
  Registrar(const char* name, Binding fn) { registerBinding(name, std::move(fn)); }
};

#define IR_RCNN_CONCAT_INNER(a, b) a##b
#define IR_RCNN_CONCAT(a, b) IR_RCNN_CONCAT_INNER(a, b)
#define IR_RCNN_BINDING(name, fn) \
  static const ::ir_rcnn::addon::Registrar IR_RCNN_CONCAT(ir_rcnn_registrar_, __LINE__)(name, fn)

// ---- per-instance data --------------------------------------------------------------------
// What one addon instance keeps, freed with its environment (napi instance data).
struct InstanceData {
  Napi::FunctionReference errorClass;  // IrRcnnError, from setErrorClass (src/native.ts)
  int threads;                         // intra-op threads of this instance's jobs
};
InstanceData& instanceData(Napi::Env env);

// ---- errors -------------------------------------------------------------------------------
struct ErrorReport {
  ErrorCode code;
  std::string message;  // one line, no C++ backtrace
};
// The code and message of any exception: UserError keeps its own; std::invalid_argument and
// c10::ValueError (an op's check of its arguments) are ERR_INVALID_ARGUMENT; the rest ERR_NATIVE.
ErrorReport describeException(const std::exception_ptr& error);
// new IrRcnnError(code, message) (an Error with `code` before setErrorClass was called).
Napi::Error jsError(Napi::Env env, const ErrorReport& report);

// ---- results ------------------------------------------------------------------------------
// The value an async job hands back: built off the JS thread from plain C++ data and turned
// into JS values on the JS thread (N-API values may only be made there).
class Out {
 public:
  Out();  // undefined
  Out(double number);
  Out(bool flag);
  Out(std::string text);
  Out(const char* text);
  Out(at::Tensor tensor);
  static Out list(std::vector<Out> items = {});
  static Out object();
  // A value that only the JS thread can make (a handle), made there.
  static Out onJsThread(std::function<Napi::Value(Napi::Env)> make);
  Out& set(const std::string& key, Out value);  // for objects; returns *this
  Out& push(Out value);                         // for lists
  Napi::Value toJS(Napi::Env env) const;

 private:
  struct Node;
  std::shared_ptr<Node> node_;
};

// Tensor → { data, shape } on the JS thread. Float32Array ⇄ float32, Float64Array ⇄ float64,
// Int32Array ⇄ int32 and int64 (indices, labels; range-checked), Uint8Array ⇄ uint8 and bool;
// half types come back as Float32Array.
Napi::Value tensorToJS(Napi::Env env, const at::Tensor& tensor);

// ---- async work ---------------------------------------------------------------------------
// Runs `work` on libuv's thread pool and returns a Promise of its result, rejected with an
// IrRcnnError. The worker thread gets this instance's intra-op thread count first (OpenMP keeps
// a count per thread).
Napi::Promise runAsync(Napi::Env env, std::function<Out()> work);

}  // namespace ir_rcnn::addon
