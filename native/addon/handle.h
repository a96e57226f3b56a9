// What JS holds of a detector or a trainer: an External owning a shared Owned<T>. Jobs hold the
// shared pointer, so the object outlives a handle that JS drops mid-job, and run under its mutex,
// one at a time (a forward pass and a weight load must not interleave). dispose() marks it
// disposed at once, then frees the object under the mutex, after the running job; from then on
// every call fails with ERR_DISPOSED. A handle JS never disposes is freed when it is collected, or
// when its environment (a worker thread) goes away.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "addon/args.h"
#include "addon/binding.h"

namespace ir_rcnn::addon {

template <typename T>
class Owned {
 public:
  Owned(std::string kind, std::unique_ptr<T> object) : kind_(std::move(kind)), object_(std::move(object)) {}

  // The object for a job, which holds mutex().
  T& object() const {
    if (!object_) throw UserError(kind_ + ": used after dispose()", ErrorCode::Disposed);
    return *object_;
  }
  std::mutex& mutex() { return mutex_; }
  // On the JS thread, which alone disposes: the object, or ERR_DISPOSED; no lock needed for
  // what never changes after construction.
  const T& peek() const {
    if (disposed_) throw UserError(kind_ + ": used after dispose()", ErrorCode::Disposed);
    return *object_;
  }
  void markDisposed() { disposed_ = true; }
  void free() {
    std::lock_guard<std::mutex> lock(mutex_);
    object_.reset();
  }

 private:
  const std::string kind_;
  std::mutex mutex_;
  std::unique_ptr<T> object_;  // null once freed
  std::atomic<bool> disposed_{false};
};

// An External owning `owned`, tagged so that a handle of another kind is refused.
template <typename T>
Napi::Value handleToJS(Napi::Env env, std::shared_ptr<Owned<T>> owned, const napi_type_tag& tag) {
  auto external = Napi::External<std::shared_ptr<Owned<T>>>::New(env, new std::shared_ptr<Owned<T>>(std::move(owned)),
                                                                   [](Napi::Env, std::shared_ptr<Owned<T>>* p) { delete p; });
  external.TypeTag(&tag);
  return external;
}

// The Owned behind a handle made by handleToJS with `tag`, disposed or not.
template <typename T>
std::shared_ptr<Owned<T>> ownedFromJS(const Value& value, const napi_type_tag& tag, const std::string& kind) {
  if (!value.js().IsExternal() || !value.js().As<Napi::External<void>>().CheckTypeTag(&tag))
    value.fail("expected a " + kind + " handle");
  return *value.js().As<Napi::External<std::shared_ptr<Owned<T>>>>().Data();
}

// The same for any call but dispose: ERR_DISPOSED once disposed.
template <typename T>
std::shared_ptr<Owned<T>> handleFromJS(const Value& value, const napi_type_tag& tag, const std::string& kind) {
  auto owned = ownedFromJS<T>(value, tag, kind);
  owned->peek();
  return owned;
}

// Runs `work` on the object on the thread pool, under its mutex.
template <typename T, typename Work>
Napi::Promise runWith(Napi::Env env, std::shared_ptr<Owned<T>> owned, Work work) {
  return runAsync(env, [owned, work] {
    std::lock_guard<std::mutex> lock(owned->mutex());
    return work(owned->object());
  });
}

// dispose(handle) → Promise<void>: resolves once the running job is done and the object freed.
// Disposing twice is harmless.
template <typename T>
Napi::Promise disposeHandle(Napi::Env env, const Value& value, const napi_type_tag& tag, const std::string& kind) {
  auto owned = ownedFromJS<T>(value, tag, kind);
  owned->markDisposed();
  return runAsync(env, [owned] {
    owned->free();
    return Out();
  });
}

}  // namespace ir_rcnn::addon
