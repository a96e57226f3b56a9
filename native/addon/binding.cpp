#include "addon/binding.h"

#include <atomic>
#include <cmath>
#include <map>
#include <sstream>
#include <thread>
#include <variant>

namespace ir_rcnn::addon {

// ---- registration -------------------------------------------------------------------------
static std::vector<std::pair<std::string, BindingFn>>& registry() {
  static std::vector<std::pair<std::string, BindingFn>> bindings;
  return bindings;
}
Registrar::Registrar(const char* name, BindingFn fn) { registry().emplace_back(name, fn); }
const std::vector<std::pair<std::string, BindingFn>>& registeredBindings() { return registry(); }

std::string describeException(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    // c10 appends "Exception raised from ..." context lines; keep the first line only.
    auto cut = msg.find("\nException raised from");
    if (cut != std::string::npos) msg.resize(cut);
    return msg;
  } catch (const Napi::Error& e) {
    return e.Message();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

// ---- results ------------------------------------------------------------------------------
struct Out::Node {
  std::variant<std::monostate, double, bool, std::string, at::Tensor, std::vector<Out>,
               std::vector<std::pair<std::string, Out>>>
      value;
};
Out::Out() : node_(std::make_shared<Node>()) {}
Out::Out(double number) : Out() { node_->value = number; }
Out::Out(bool flag) : Out() { node_->value = flag; }
Out::Out(std::string text) : Out() { node_->value = std::move(text); }
Out::Out(const char* text) : Out(std::string(text)) {}
Out::Out(at::Tensor tensor) : Out() { node_->value = std::move(tensor); }
Out Out::list(std::vector<Out> items) {
  Out out;
  out.node_->value = std::move(items);
  return out;
}
Out Out::object() {
  Out out;
  out.node_->value = std::vector<std::pair<std::string, Out>>{};
  return out;
}
Out& Out::set(const std::string& key, Out value) {
  std::get<std::vector<std::pair<std::string, Out>>>(node_->value).emplace_back(key, std::move(value));
  return *this;
}
Out& Out::push(Out value) {
  std::get<std::vector<Out>>(node_->value).push_back(std::move(value));
  return *this;
}
Napi::Value Out::toJS(Napi::Env env) const {
  struct Visitor {
    Napi::Env env;
    Napi::Value operator()(const std::monostate&) const { return env.Undefined(); }
    Napi::Value operator()(double v) const { return Napi::Number::New(env, v); }
    Napi::Value operator()(bool v) const { return Napi::Boolean::New(env, v); }
    Napi::Value operator()(const std::string& v) const { return Napi::String::New(env, v); }
    Napi::Value operator()(const at::Tensor& v) const { return tensorToJS(env, v); }
    Napi::Value operator()(const std::vector<Out>& items) const {
      auto array = Napi::Array::New(env, items.size());
      for (size_t i = 0; i < items.size(); ++i) array.Set(i, items[i].toJS(env));
      return array;
    }
    Napi::Value operator()(const std::vector<std::pair<std::string, Out>>& fields) const {
      auto object = Napi::Object::New(env);
      for (const auto& [key, value] : fields) object.Set(key, value.toJS(env));
      return object;
    }
  };
  return std::visit(Visitor{env}, node_->value);
}

// ---- tensors ------------------------------------------------------------------------------
static std::string shapeText(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
  out << "]";
  return out.str();
}

static at::ScalarType typedArrayDtype(napi_typedarray_type type, const std::string& what) {
  switch (type) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_int32_array: return at::kInt;
    case napi_bigint64_array: return at::kLong;
    case napi_uint8_array: return at::kByte;
    default:
      throw UserError(what + ": unsupported typed array (use Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array)");
  }
}

at::Tensor toTensor(const Napi::Value& value, const std::string& what, const TensorSpec& spec) {
  if (!value.IsObject()) throw UserError(what + ": expected a tensor { data, shape }");
  auto object = value.As<Napi::Object>();
  Napi::Value data = object.Get("data");
  Napi::Value shapeValue = object.Get("shape");
  if (!data.IsTypedArray()) throw UserError(what + ".data: expected a typed array");
  if (!shapeValue.IsArray()) throw UserError(what + ".shape: expected an array of sizes");
  auto array = data.As<Napi::TypedArray>();
  auto shapeArray = shapeValue.As<Napi::Array>();
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (uint32_t i = 0; i < shapeArray.Length(); ++i) {
    Napi::Value size = shapeArray.Get(i);
    double d = size.IsNumber() ? size.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != std::floor(d) || d > 1e12)
      throw UserError(what + ".shape[" + std::to_string(i) + "]: expected a non-negative integer");
    shape.push_back(static_cast<int64_t>(d));
    count *= shape.back();
  }
  at::ScalarType dtype = typedArrayDtype(array.TypedArrayType(), what);
  if (spec.dtype && *spec.dtype != dtype)
    throw UserError(what + ": expected dtype " + std::string(c10::toString(*spec.dtype)) + ", got " + c10::toString(dtype));
  if (static_cast<int64_t>(array.ElementLength()) != count)
    throw UserError(what + ": data has " + std::to_string(array.ElementLength()) + " elements but shape " +
                    shapeText(shape) + " needs " + std::to_string(count));
  if (!spec.shape.empty()) {
    bool ok = spec.shape.size() == shape.size();
    for (size_t i = 0; ok && i < shape.size(); ++i) ok = spec.shape[i] < 0 || spec.shape[i] == shape[i];
    if (!ok) throw UserError(what + ": expected shape " + shapeText(spec.shape) + ", got " + shapeText(shape));
  }
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  at::Tensor tensor = count == 0 ? at::empty(shape, at::TensorOptions().dtype(dtype))
                                 : at::from_blob(base, shape, at::TensorOptions().dtype(dtype)).clone();
  if (spec.finite && tensor.is_floating_point() && count > 0 && !tensor.isfinite().all().item<bool>())
    throw UserError(what + ": contains NaN or Inf");
  return tensor;
}

Napi::Value tensorToJS(Napi::Env env, const at::Tensor& input) {
  at::Tensor t = input.detach().to(at::kCPU);
  if (t.scalar_type() == at::kLong) {
    if (t.numel() > 0 && (t.max().item<int64_t>() > INT32_MAX || t.min().item<int64_t>() < INT32_MIN))
      throw UserError("an int64 result does not fit in Int32Array");
    t = t.to(at::kInt);
  } else if (t.scalar_type() == at::kBool) {
    t = t.to(at::kByte);
  } else if (t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16) {
    t = t.to(at::kFloat);
  }
  t = t.contiguous();
  size_t bytes = t.numel() * t.element_size();
  auto buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
  Napi::Value data;
  size_t n = t.numel();
  switch (t.scalar_type()) {
    case at::kFloat: data = Napi::Float32Array::New(env, n, buffer, 0); break;
    case at::kDouble: data = Napi::Float64Array::New(env, n, buffer, 0); break;
    case at::kInt: data = Napi::Int32Array::New(env, n, buffer, 0); break;
    case at::kByte: data = Napi::Uint8Array::New(env, n, buffer, 0); break;
    default: throw UserError(std::string("cannot return a tensor of dtype ") + c10::toString(t.scalar_type()));
  }
  auto shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
  auto object = Napi::Object::New(env);
  object.Set("data", data);
  object.Set("shape", shape);
  return object;
}

// ---- arguments ----------------------------------------------------------------------------
Napi::Object argObject(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info.Length() <= index || !info[index].IsObject())
    throw UserError(std::string(what) + ": expected an object argument");
  return info[index].As<Napi::Object>();
}
double optNumber(const Napi::Object& options, const char* key, double fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw UserError(std::string(key) + ": expected a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) throw UserError(std::string(key) + ": is NaN");
  return d;
}
double reqNumber(const Napi::Object& options, const char* key) {
  if (options.Get(key).IsUndefined()) throw UserError(std::string(key) + ": required");
  return optNumber(options, key, 0);
}
bool optBool(const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) throw UserError(std::string(key) + ": expected a boolean");
  return v.As<Napi::Boolean>().Value();
}
std::string optString(const Napi::Object& options, const char* key, const std::string& fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) throw UserError(std::string(key) + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}
int64_t optInt(const Napi::Object& options, const char* key, int64_t fallback) {
  double d = optNumber(options, key, static_cast<double>(fallback));
  if (d != std::floor(d) || std::fabs(d) > 9e15) throw UserError(std::string(key) + ": expected an integer");
  return static_cast<int64_t>(d);
}
c10::Device parseDevice(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw UserError("device '" + name + "': expected 'cpu', 'cuda' or 'cuda:N'");
  }
  if (device.is_cuda()) {
    if (!torch::cuda::is_available())
      throw UserError("device '" + name + "': CUDA is not available (this LibTorch " +
                      (torch::cuda::device_count() == 0 ? std::string("sees no GPU or was built without CUDA") : "") + ")");
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count()))
      throw UserError("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
  } else if (!device.is_cpu()) {
    throw UserError("device '" + name + "': only cpu and cuda are supported");
  }
  return device;
}

c10::Device opDevice(const Napi::Object& options, const std::string& where) {
  try {
    return parseDevice(optString(options, "device", "cpu"));
  } catch (const UserError& e) {
    throw UserError(where + "." + e.what());
  }
}

// ---- threads ------------------------------------------------------------------------------
static std::atomic<int> g_threads{static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
void setIntraOpThreads(int threads) {
  if (threads < 1) throw UserError("threads: expected an integer >= 1");
  g_threads = threads;
}
int intraOpThreads() { return g_threads; }
void applyThreadSettings() {
  if (at::get_num_threads() != g_threads) at::set_num_threads(g_threads);
}

// ---- async work ---------------------------------------------------------------------------
namespace {
class TorchWorker : public Napi::AsyncWorker {
 public:
  TorchWorker(Napi::Env env, std::function<Out()> work)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      applyThreadSettings();
      result_ = work_();
    } catch (...) {
      SetError(describeException(std::current_exception()));
    }
  }
  void OnOK() override {
    try {
      deferred_.Resolve(result_.toJS(Env()));
    } catch (...) {
      deferred_.Reject(Napi::Error::New(Env(), describeException(std::current_exception())).Value());
    }
    result_ = Out();  // tensors are released on the JS thread, promptly
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Out()> work_;
  Out result_;
};
}  // namespace

Napi::Promise runAsync(Napi::Env env, std::function<Out()> work) {
  auto* worker = new TorchWorker(env, std::move(work));
  auto promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace ir_rcnn::addon
