#include "addon/binding.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>
#include <variant>

#include "addon/cpu_allocator.h"

namespace ir_rcnn::addon {

// ---- registration -------------------------------------------------------------------------
static std::deque<Registered>& registry() {
  static std::deque<Registered> bindings;
  return bindings;
}
void registerBinding(std::string name, Binding fn) { registry().push_back({std::move(name), std::move(fn)}); }
const std::deque<Registered>& registeredBindings() { return registry(); }

// ---- per-instance data --------------------------------------------------------------------
InstanceData& instanceData(Napi::Env env) {
  // Made on first use in each environment and deleted with it (SetInstanceData's finalizer).
  auto* data = env.GetInstanceData<InstanceData>();
  if (!data) {
    data = new InstanceData{Napi::FunctionReference(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
    env.SetInstanceData(data);
  }
  return *data;
}

// ---- errors -------------------------------------------------------------------------------
static ErrorReport classify(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const UserError& e) {
    return {e.code, e.what()};
  } catch (const c10::ValueError& e) {
    return {ErrorCode::InvalidArgument, e.what_without_backtrace()};
  } catch (const c10::Error& e) {
    return {ErrorCode::Native, e.what_without_backtrace()};
  } catch (const Napi::Error& e) {
    return {ErrorCode::Native, e.Message()};
  } catch (const std::invalid_argument& e) {
    return {ErrorCode::InvalidArgument, e.what()};
  } catch (const std::exception& e) {
    return {ErrorCode::Native, e.what()};
  } catch (...) {
    return {ErrorCode::Native, "unknown native error"};
  }
}

ErrorReport describeException(const std::exception_ptr& error) {
  ErrorReport report = classify(error);
  // One line: c10 appends "Exception raised from ..." and other context on further lines.
  if (auto cut = report.message.find('\n'); cut != std::string::npos) report.message.resize(cut);
  return report;
}

Napi::Error jsError(Napi::Env env, const ErrorReport& report) {
  const Napi::FunctionReference& errorClass = instanceData(env).errorClass;
  if (errorClass.IsEmpty()) {
    Napi::Error error = Napi::Error::New(env, report.message);
    error.Set("code", errorCodeName(report.code));
    return error;
  }
  return Napi::Error(
      env, errorClass.New({Napi::String::New(env, errorCodeName(report.code)), Napi::String::New(env, report.message)}));
}

// ---- results ------------------------------------------------------------------------------
struct Out::Node {
  using Make = std::function<Napi::Value(Napi::Env)>;
  std::variant<std::monostate, double, bool, std::string, at::Tensor, std::vector<Out>,
               std::vector<std::pair<std::string, Out>>, Make>
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
Out Out::onJsThread(std::function<Napi::Value(Napi::Env)> make) {
  Out out;
  out.node_->value = Node::Make(std::move(make));
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
    Napi::Value operator()(const Node::Make& make) const { return make(env); }
  };
  return std::visit(Visitor{env}, node_->value);
}

// ---- tensors ------------------------------------------------------------------------------
Napi::Value tensorToJS(Napi::Env env, const at::Tensor& input) {
  at::Tensor t = input.detach().to(at::kCPU);
  if (t.scalar_type() == at::kLong) {
    if (t.numel() > 0 && (t.max().item<int64_t>() > INT32_MAX || t.min().item<int64_t>() < INT32_MIN))
      throw UserError("an int64 result does not fit in Int32Array", ErrorCode::Native);
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
    default: throw UserError(std::string("cannot return a tensor of dtype ") + c10::toString(t.scalar_type()), ErrorCode::Native);
  }
  auto shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
  auto object = Napi::Object::New(env);
  object.Set("data", data);
  object.Set("shape", shape);
  return object;
}

// ---- async work ---------------------------------------------------------------------------
namespace {
class TorchWorker : public Napi::AsyncWorker {
 public:
  TorchWorker(Napi::Env env, std::function<Out()> work)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        threads_(instanceData(env).threads) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
      result_ = work_();
    } catch (...) {
      error_ = describeException(std::current_exception());
    }
    endCpuCacheCall();
  }
  // Failures are reported here rather than through SetError, so that they keep their code.
  void OnOK() override {
    if (!error_) {
      try {
        deferred_.Resolve(result_.toJS(Env()));
      } catch (...) {
        error_ = describeException(std::current_exception());
      }
    }
    if (error_) deferred_.Reject(jsError(Env(), *error_).Value());
    result_ = Out();  // tensors are released on the JS thread, promptly
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Out()> work_;
  const int threads_;
  Out result_;
  std::optional<ErrorReport> error_;
};
}  // namespace

Napi::Promise runAsync(Napi::Env env, std::function<Out()> work) {
  auto* worker = new TorchWorker(env, std::move(work));
  auto promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace ir_rcnn::addon
