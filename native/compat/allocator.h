// Shim: c10::Allocator across LibTorch versions. LibTorch 2.3 made allocate() non-const and
// added copy_data() as a pure virtual; 1.x has the const allocate() and no copy_data(). A CPU
// allocator derives from CpuAllocatorBase and implements allocateBlock() once for both.
#pragma once
#include <c10/core/Allocator.h>

#include <cstring>

#include "compat/torch_version.h"

namespace ir_rcnn::compat {

class CpuAllocatorBase : public c10::Allocator {
 public:
#if IR_RCNN_TORCH_AT_LEAST(2, 3)
  c10::DataPtr allocate(size_t n) final { return allocateBlock(n); }
  void copy_data(void* dest, const void* src, size_t count) const final { std::memcpy(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const final { return allocateBlock(n); }
#endif

 protected:
  virtual c10::DataPtr allocateBlock(size_t n) const = 0;
};

}  // namespace ir_rcnn::compat
