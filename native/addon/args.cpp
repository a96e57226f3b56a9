#include "addon/args.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace ir_rcnn::addon {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

std::string numberText(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string shapeText(at::IntArrayRef shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
  return out + "]";
}

[[noreturn]] void fail(const std::string& path, const std::string& problem, ErrorCode code = ErrorCode::InvalidArgument) {
  throw UserError(path + ": " + problem, code);
}

// The typed arrays that cross the boundary and the dtype each carries.
struct ArrayKind {
  napi_typedarray_type type;
  at::ScalarType dtype;
  const char* name;
};
constexpr ArrayKind kArrays[] = {
    {napi_float32_array, at::kFloat, "a Float32Array"}, {napi_float64_array, at::kDouble, "a Float64Array"},
    {napi_int32_array, at::kInt, "an Int32Array"},      {napi_bigint64_array, at::kLong, "a BigInt64Array"},
    {napi_uint8_array, at::kByte, "a Uint8Array"},
};

// "a Float32Array", "an Int32Array", ...
std::string arrayName(at::ScalarType dtype) {
  for (const auto& kind : kArrays)
    if (kind.dtype == dtype) return kind.name;
  return c10::toString(dtype);
}

// A copy of `data` (a typed array, the field of `owner`) as a tensor of `shape`.
at::Tensor copyArray(const Value& owner, const Value& data, const std::vector<int64_t>& shape) {
  if (!data.js().IsTypedArray()) data.fail("expected a typed array");
  auto array = data.js().As<Napi::TypedArray>();
  const ArrayKind* kind = nullptr;
  for (const auto& k : kArrays)
    if (k.type == array.TypedArrayType()) kind = &k;
  if (!kind) data.fail("unsupported typed array (use Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array)");
  int64_t count = 1;
  for (int64_t size : shape) count *= size;
  if (static_cast<int64_t>(array.ElementLength()) != count)
    owner.fail("data has " + std::to_string(array.ElementLength()) + " elements but shape " + shapeText(shape) + " needs " +
               std::to_string(count));
  const auto options = at::TensorOptions().dtype(kind->dtype);
  if (count == 0) return at::empty(shape, options);
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return at::from_blob(base, shape, options).clone();
}

void checkShape(const Value& where, const at::Tensor& tensor, const std::vector<int64_t>& expected) {
  if (expected.empty()) return;
  bool ok = static_cast<int64_t>(expected.size()) == tensor.dim();
  for (size_t i = 0; ok && i < expected.size(); ++i) ok = expected[i] < 0 || expected[i] == tensor.size(static_cast<int64_t>(i));
  if (!ok) where.fail("expected shape " + shapeText(expected) + ", got " + shapeText(tensor.sizes()));
}

// Errors read "<path> '<name>': <problem>" (ERR_DEVICE).
c10::Device parseDevice(const Value& value, const std::string& name) {
  const auto fail = [&](const std::string& problem) {
    throw UserError(value.path() + " '" + name + "': " + problem, ErrorCode::Device);
  };
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    fail("expected 'cpu', 'cuda' or 'cuda:N'");
  }
  if (device.is_cuda()) {
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (!torch::cuda::is_available()) fail("CUDA is not available (this LibTorch sees no GPU or was built without CUDA)");
    if (device.has_index() && device.index() >= count) fail("only " + std::to_string(count) + " CUDA device(s)");
  } else if (!device.is_cpu()) {
    fail("only cpu and cuda are supported");
  }
  return device;
}

}  // namespace

// ---- checks -----------------------------------------------------------------------------------
Number& Number::finite() {
  if (!std::isfinite(value_)) fail(path_, "expected a finite number");
  return *this;
}
Number& Number::positive() {
  if (!(value_ > 0) || !std::isfinite(value_)) fail(path_, "expected a positive number");
  return *this;
}
Number& Number::min(double lo) {
  if (!(value_ >= lo) || !std::isfinite(value_)) fail(path_, "expected a number >= " + numberText(lo));
  return *this;
}
Number& Number::range(double lo, double hi) {
  if (!(value_ >= lo && value_ <= hi)) fail(path_, "expected a number in [" + numberText(lo) + ", " + numberText(hi) + "]");
  return *this;
}

Integer& Integer::min(int64_t lo) {
  if (value_ < lo) fail(path_, "expected an integer >= " + std::to_string(lo));
  return *this;
}
Integer& Integer::range(int64_t lo, int64_t hi) {
  if (value_ < lo || value_ > hi) fail(path_, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return *this;
}

TensorArg& TensorArg::finite() {
  if (tensor_.is_floating_point() && tensor_.numel() > 0 && !tensor_.isfinite().all().item<bool>())
    fail(path_, "contains NaN or Inf");
  return *this;
}

// ---- values -----------------------------------------------------------------------------------
void Value::fail(const std::string& problem, ErrorCode code) const { addon::fail(path_, problem, code); }

Object Value::object() const {
  if (absent()) fail("required");
  if (!value_.IsObject() || value_.IsArray()) fail("expected an object");
  return Object(value_.As<Napi::Object>(), path_);
}

Number Value::number() const {
  if (absent()) fail("required");
  if (!value_.IsNumber()) fail("expected a number");
  const double d = value_.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) fail("expected a number, got NaN");
  return Number(d, path_);
}

Integer Value::integer() const {
  const double d = number();
  if (d != std::floor(d) || std::fabs(d) > kMaxSafeInteger) fail("expected an integer");
  return Integer(static_cast<int64_t>(d), path_);
}

bool Value::boolean() const {
  if (absent()) fail("required");
  if (!value_.IsBoolean()) fail("expected true or false");
  return value_.As<Napi::Boolean>().Value();
}

std::string Value::string() const {
  if (absent()) fail("required");
  if (!value_.IsString()) fail("expected a string");
  return value_.As<Napi::String>().Utf8Value();
}

std::string Value::oneOf(const std::vector<std::string>& choices) const {
  std::string s = string();
  std::string list;
  for (const auto& choice : choices) {
    if (s == choice) return s;
    list += (list.empty() ? "'" : ", '") + choice + "'";
  }
  fail("expected one of " + list + ", got '" + s + "'");
}

std::vector<Value> Value::list() const {
  if (absent()) fail("required");
  if (!value_.IsArray()) fail("expected an array");
  auto array = value_.As<Napi::Array>();
  std::vector<Value> items;
  for (uint32_t i = 0; i < array.Length(); ++i) items.emplace_back(array.Get(i), path_ + "[" + std::to_string(i) + "]");
  return items;
}

std::vector<double> Value::numbers() const {
  std::vector<double> out;
  for (const auto& item : list()) out.push_back(item.number());
  return out;
}

c10::Device Value::device() const { return parseDevice(*this, string()); }

TensorArg Value::tensor(std::vector<int64_t> expected) const {
  if (absent()) fail("required");
  if (!value_.IsObject()) fail("expected a tensor { data, shape }");
  auto object = value_.As<Napi::Object>();
  std::vector<int64_t> shape;
  for (const auto& size : Value(object.Get("shape"), path_ + ".shape").list()) {
    const double d = size.js().IsNumber() ? size.js().As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != std::floor(d) || d > 1e12) size.fail("expected a non-negative integer");
    shape.push_back(static_cast<int64_t>(d));
  }
  at::Tensor t = copyArray(*this, Value(object.Get("data"), path_ + ".data"), shape);
  checkShape(*this, t, expected);
  return TensorArg(t, path_);
}

TensorArg Value::tensor(at::ScalarType dtype, std::vector<int64_t> shape) const {
  TensorArg t = tensor(std::move(shape));
  if (t.get().scalar_type() != dtype) fail("expected " + arrayName(dtype) + ", got " + arrayName(t.get().scalar_type()));
  return t;
}

TensorArg Value::floats(std::vector<int64_t> shape) const {
  TensorArg t = tensor(std::move(shape));
  if (!at::isFloatingType(t.get().scalar_type()))
    fail("expected a Float32Array or Float64Array, got " + arrayName(t.get().scalar_type()));
  return t;
}

TensorArg Value::indices(std::vector<int64_t> shape) const {
  TensorArg t = tensor(std::move(shape));
  const at::ScalarType dtype = t.get().scalar_type();
  if (dtype != at::kInt && dtype != at::kLong) fail("expected an Int32Array or BigInt64Array, got " + arrayName(dtype));
  return TensorArg(t.get().to(at::kLong), path_);
}

// ---- objects ----------------------------------------------------------------------------------
Value Object::get(const std::string& key) {
  read_.insert(key);
  return Value(object_.Get(key), path_ + "." + key);
}

std::optional<Value> Object::optional(const std::string& key) {
  Value value = get(key);
  if (value.absent()) return std::nullopt;
  return value;
}

Object Object::object(const std::string& key) { return get(key).object(); }

Number Object::number(const std::string& key, double fallback) {
  auto value = optional(key);
  return value ? value->number() : Number(fallback, path_ + "." + key);
}

Integer Object::integer(const std::string& key, int64_t fallback) {
  auto value = optional(key);
  return value ? value->integer() : Integer(fallback, path_ + "." + key);
}

bool Object::boolean(const std::string& key, bool fallback) {
  auto value = optional(key);
  return value ? value->boolean() : fallback;
}

std::vector<std::pair<std::string, Value>> Object::entries() {
  std::vector<std::pair<std::string, Value>> out;
  Napi::Array names = object_.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string key = names.Get(i).As<Napi::String>().Utf8Value();
    out.emplace_back(key, get(key));
  }
  return out;
}

void Object::done() const {
  Napi::Array names = object_.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string key = names.Get(i).As<Napi::String>().Utf8Value();
    if (!read_.count(key) && !object_.Get(key).IsUndefined()) fail(path_, "unknown option '" + key + "'");
  }
}

Object Args::object(size_t index) const {
  Value value = at(index);
  if (!value.js().IsObject() || value.js().IsArray()) value.fail("expected an options object");
  return value.object();
}

// ---- images and targets -----------------------------------------------------------------------
std::vector<at::Tensor> readImages(const Value& value) {
  std::vector<at::Tensor> images;
  for (const Value& item : value.list()) {
    Object image = item.object();
    const int64_t height = image.integer("height").min(1);
    const int64_t width = image.integer("width").min(1);
    Value data = image.get("data");
    if (!data.js().IsTypedArray() || data.js().As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      data.fail("expected a Uint8Array of RGB pixels");
    images.push_back(copyArray(item, data, {height, width, 3}));
    image.done();
  }
  if (images.empty()) value.fail("expected at least one image");
  return images;
}

std::vector<model::Target> readTargets(const Value& value, size_t images) {
  std::vector<model::Target> targets;
  for (const Value& item : value.list()) {
    Object t = item.object();
    model::Target target;
    target.boxes = t.get("boxes").tensor(at::kFloat, {-1, 4}).finite();
    Value labels = t.get("labels");
    target.labels = labels.tensor(at::kInt, {target.boxes.size(0)}).get().to(at::kLong);
    if (target.labels.numel() && target.labels.min().item<int64_t>() < 1)
      labels.fail("expected class indices >= 1 (0 is background)");
    target.crowd = t.get("crowdBoxes").tensor(at::kFloat, {-1, 4}).finite();
    t.done();
    targets.push_back(std::move(target));
  }
  if (targets.size() != images)
    value.fail("expected one target per image (" + std::to_string(images) + "), got " + std::to_string(targets.size()));
  return targets;
}

}  // namespace ir_rcnn::addon
