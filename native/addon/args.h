// Reading JS arguments, for every binding. Each value is read through a Value that knows its path
// ("nms.boxes", "detect.images[2].height", "model.rpn.nmsThreshold"), so that every error is one
// line saying what is wrong and where; objects are read through an Object whose done() rejects
// the keys nobody read, so that a misspelt option is an error rather than a silent default.
//
//   Args args(info, "nms");
//   Object o = args.object(0);
//   at::Tensor boxes = o.floats("boxes", {-1, 4}).finite();
//   double threshold = o.number("iouThreshold").finite();
//   o.done();
//
// A field is required unless it is read with a default (only op parameters that src/ops.ts
// documents with one) or through optional() (where absence has a meaning: no seed, no weights).
// Tensors are copied on the JS thread: the JS buffers may be collected while a job runs.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "error.h"
#include "model/target.h"

namespace ir_rcnn::addon {

class Object;

// A number read from JS; the checks chain and fail naming the path.
class Number {
 public:
  Number(double value, std::string path) : value_(value), path_(std::move(path)) {}
  Number& finite();
  Number& positive();                   // > 0 and finite
  Number& min(double lo);               // >= lo and finite
  Number& range(double lo, double hi);  // in [lo, hi]
  operator double() const { return value_; }

 private:
  double value_;
  std::string path_;
};

// A JS number without a fraction (and within ±2^53).
class Integer {
 public:
  Integer(int64_t value, std::string path) : value_(value), path_(std::move(path)) {}
  Integer& min(int64_t lo);
  Integer& range(int64_t lo, int64_t hi);
  operator int64_t() const { return value_; }

 private:
  int64_t value_;
  std::string path_;
};

// A tensor copied from a JS { data, shape }; the checks chain.
class TensorArg {
 public:
  TensorArg(at::Tensor tensor, std::string path) : tensor_(std::move(tensor)), path_(std::move(path)) {}
  TensorArg& finite();  // no NaN or Inf
  operator at::Tensor() const { return tensor_; }
  const at::Tensor& get() const { return tensor_; }

 private:
  at::Tensor tensor_;
  std::string path_;
};

// A JS value and where it was read from.
class Value {
 public:
  Value(Napi::Value value, std::string path) : value_(value), path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  Napi::Value js() const { return value_; }
  bool absent() const { return value_.IsUndefined() || value_.IsNull(); }
  // Throws "<path>: <problem>".
  [[noreturn]] void fail(const std::string& problem, ErrorCode code = ErrorCode::InvalidArgument) const;

  Object object() const;
  Number number() const;
  Integer integer() const;
  bool boolean() const;
  std::string string() const;
  std::string oneOf(const std::vector<std::string>& choices) const;
  std::vector<Value> list() const;       // array items, each with the path "<path>[i]"
  std::vector<double> numbers() const;   // an array of numbers
  c10::Device device() const;            // 'cpu', 'cuda' or 'cuda:N'; errors are ERR_DEVICE

  // Tensors; a shape entry of -1 is any size, an empty shape any rank.
  TensorArg tensor(std::vector<int64_t> shape = {}) const;  // any dtype
  TensorArg tensor(at::ScalarType dtype, std::vector<int64_t> shape) const;
  TensorArg floats(std::vector<int64_t> shape) const;   // Float32Array or Float64Array
  TensorArg indices(std::vector<int64_t> shape) const;  // Int32Array or BigInt64Array, as int64

 private:
  Napi::Value value_;
  std::string path_;
};

// A JS object whose keys are read once each; done() rejects the rest.
class Object {
 public:
  Object(Napi::Object object, std::string path) : object_(object), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  Value get(const std::string& key);                      // may be absent
  std::optional<Value> optional(const std::string& key);  // nullopt when absent
  // Shorthands for the commonest required fields ("<path>.<key>: required" when absent); for
  // the others, get(key) and the Value's reader.
  Number number(const std::string& key) { return get(key).number(); }
  Integer integer(const std::string& key) { return get(key).integer(); }
  bool boolean(const std::string& key) { return get(key).boolean(); }
  Object object(const std::string& key);
  TensorArg floats(const std::string& key, std::vector<int64_t> shape) { return get(key).floats(std::move(shape)); }
  // Op parameters with the default src/ops.ts documents.
  Number number(const std::string& key, double fallback);
  Integer integer(const std::string& key, int64_t fallback);
  bool boolean(const std::string& key, bool fallback);
  // Every key and its value, for objects that are maps ({ name: tensor }).
  std::vector<std::pair<std::string, Value>> entries();
  // "<path>: unknown option 'key'" for a key that was not read (undefined values are absent).
  void done() const;

 private:
  Napi::Object object_;
  std::string path_;
  std::set<std::string> read_;
};

// The arguments of one call of a binding.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, std::string name) : info_(info), name_(std::move(name)) {}
  Value at(size_t index) const { return Value(info_[index], name_); }  // path: the binding's name
  Value at(size_t index, const std::string& what) const { return Value(info_[index], name_ + "." + what); }
  // An options object argument ("<name>: expected an options object", as src/ops.ts says it).
  Object object(size_t index) const;

 private:
  const Napi::CallbackInfo& info_;
  std::string name_;
};

// Images as detect, trace, losses and the trainer take them: [{ data: Uint8Array (HWC RGB),
// height, width }], at least one, each a uint8 [height, width, 3] tensor.
std::vector<at::Tensor> readImages(const Value& value);
// Their ground truth, one per image: [{ boxes: Float32 [n, 4], labels: Int32 [n] (>= 1, 0 is
// background), crowdBoxes: Float32 [m, 4] }], in the pixels of their image.
std::vector<model::Target> readTargets(const Value& value, size_t images);

}  // namespace ir_rcnn::addon
