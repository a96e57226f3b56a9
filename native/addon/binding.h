// The N-API boundary: how a C++ function becomes a JS function, how JS arrays become tensors
// and back, and how work runs off the JS thread. Every binding in native/addon uses these so that
// argument checks, error messages and threading behave the same everywhere.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ir_rcnn::addon {

// ---- registration -------------------------------------------------------------------------
// A binding file registers its functions with IR_RCNN_BINDING("jsName", CppFunction); addon.cpp
// exports everything registered, wrapped so that any C++ exception becomes a JS Error.
using BindingFn = Napi::Value (*)(const Napi::CallbackInfo&);
struct Registrar {
  Registrar(const char* name, BindingFn fn);
};
const std::vector<std::pair<std::string, BindingFn>>& registeredBindings();

#define IR_RCNN_CONCAT_INNER(a, b) a##b
#define IR_RCNN_CONCAT(a, b) IR_RCNN_CONCAT_INNER(a, b)
#define IR_RCNN_BINDING(name, fn) \
  static const ::ir_rcnn::addon::Registrar IR_RCNN_CONCAT(ir_rcnn_registrar_, __LINE__)(name, fn)

// A user-facing error: thrown from any thread, it reaches JS as an Error with this message.
struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Message of any exception without C++ backtraces (c10::Error carries one in what()).
std::string describeException(const std::exception_ptr& error);

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
  Out& set(const std::string& key, Out value);  // for objects; returns *this
  Out& push(Out value);                         // for lists
  Napi::Value toJS(Napi::Env env) const;

 private:
  struct Node;
  std::shared_ptr<Node> node_;
};

// ---- tensors across the boundary ----------------------------------------------------------
// A JS tensor is { data: TypedArray, shape: number[] }. Float32Array ⇄ float32,
// Float64Array ⇄ float64, Int32Array ⇄ int32, BigInt64Array ⇄ int64, Uint8Array ⇄ uint8.
struct TensorSpec {
  std::optional<at::ScalarType> dtype;  // required dtype; converted? no: a mismatch is an error
  std::vector<int64_t> shape;           // expected shape, -1 = any size; empty = any rank
  bool finite = false;                  // reject NaN/Inf (floating tensors)
};
// Copies the JS data into a new CPU tensor (the JS buffer may be collected while a job runs).
at::Tensor toTensor(const Napi::Value& value, const std::string& what, const TensorSpec& spec = {});
// Tensor → { data, shape } on the JS thread. int64 comes back as Int32Array (indices, labels)
// after a range check; bool as Uint8Array; half types as Float32Array.
Napi::Value tensorToJS(Napi::Env env, const at::Tensor& tensor);

// ---- arguments ----------------------------------------------------------------------------
Napi::Object argObject(const Napi::CallbackInfo& info, size_t index, const char* what);
double optNumber(const Napi::Object& options, const char* key, double fallback);
double reqNumber(const Napi::Object& options, const char* key);
bool optBool(const Napi::Object& options, const char* key, bool fallback);
std::string optString(const Napi::Object& options, const char* key, const std::string& fallback);
int64_t optInt(const Napi::Object& options, const char* key, int64_t fallback);
// "cpu", "cuda", "cuda:1": a clear error when CUDA is asked for and missing.
c10::Device parseDevice(const std::string& name);
// options.device through parseDevice, 'cpu' when absent; errors name where it was read.
c10::Device opDevice(const Napi::Object& options, const std::string& where);

// ---- async work ---------------------------------------------------------------------------
// Runs `work` on libuv's thread pool and returns a Promise of its result. The worker thread
// gets the configured intra-op thread count first (OpenMP keeps a count per thread).
Napi::Promise runAsync(Napi::Env env, std::function<Out()> work);

// Intra-op threads for every job (default: all cores).
void setIntraOpThreads(int threads);
int intraOpThreads();
void applyThreadSettings();

}  // namespace ir_rcnn::addon
