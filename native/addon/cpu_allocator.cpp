#include "addon/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "compat/allocator.h"

namespace ir_rcnn::addon {
namespace {

constexpr size_t kMinCached = size_t{1} << 20;

// Every block starts with this header, so that freeing needs nothing but the data pointer (mkldnn
// frees through raw_deallocate). 64 bytes keep the data as aligned as c10's own blocks.
struct alignas(64) Header {
  size_t sizeClass;  // 0: a small block, returned to the system when freed
};

// Sizes rounded up to eighths of their power of two: at most 12.5% of a block is slack, and
// activations of slightly different image sizes still share blocks.
size_t sizeClassOf(size_t n) {
  const size_t power = size_t{1} << (63 - __builtin_clzll(n));
  const size_t step = power / 8;
  return (n + step - 1) / step * step;
}

class CachingCpuAllocator final : public compat::CpuAllocatorBase {
 public:
  explicit CachingCpuAllocator(size_t capacity) : capacity_(capacity) {}

  c10::DataPtr allocateBlock(size_t n) const override {
    const size_t sizeClass = n < kMinCached ? 0 : sizeClassOf(n);
    Header* header = sizeClass ? take(sizeClass) : nullptr;
    if (!header) header = fresh(sizeof(Header) + (sizeClass ? sizeClass : n));
    header->sizeClass = sizeClass;
    void* data = header + 1;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  CpuCacheInfo info() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {capacity_, cached_};
  }

  static void release(void* data);

 private:
  Header* take(size_t sizeClass) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(sizeClass);
    if (it == free_.end() || it->second.empty()) return nullptr;
    Header* header = it->second.back();
    it->second.pop_back();
    cached_ -= sizeClass;
    return header;
  }

  // Out of memory with blocks in the cache: hand them back to the system and try once more.
  Header* fresh(size_t bytes) const {
    try {
      return static_cast<Header*>(c10::alloc_cpu(bytes));
    } catch (const c10::Error&) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ == 0) throw;
      for (auto& [sizeClass, blocks] : free_)
        for (Header* block : blocks) c10::free_cpu(block);
      free_.clear();
      cached_ = 0;
    }
    return static_cast<Header*>(c10::alloc_cpu(bytes));
  }

  void give(Header* header) const {
    const size_t sizeClass = header->sizeClass;
    if (sizeClass) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + sizeClass <= capacity_) {
        free_[sizeClass].push_back(header);
        cached_ += sizeClass;
        return;
      }
    }
    c10::free_cpu(header);
  }

  const size_t capacity_;
  mutable std::mutex mutex_;
  mutable std::map<size_t, std::vector<Header*>> free_;
  mutable size_t cached_ = 0;
};

// Never destroyed: tensors may be freed after every static is gone.
CachingCpuAllocator* g_allocator = nullptr;

void CachingCpuAllocator::release(void* data) {
  if (data) g_allocator->give(static_cast<Header*>(data) - 1);
}

size_t capacityFromEnvironment() {
  if (const char* value = std::getenv("IR_RCNN_CPU_CACHE_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(value, &end, 10);
    if (end != value && *end == '\0') return static_cast<size_t>(mb) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  const size_t physical = pages > 0 && pageSize > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(pageSize) : 0;
  // Workers on one machine (LOCAL_WORLD_SIZE, set by torchrun and by --nproc-per-node) share it.
  size_t processes = 1;
  if (const char* value = std::getenv("LOCAL_WORLD_SIZE")) {
    const unsigned long long n = std::strtoull(value, nullptr, 10);
    if (n > 1) processes = static_cast<size_t>(n);
  }
  return std::min(physical / 4, size_t{4} << 30) / processes;
}

}  // namespace

void installCpuCache() {
  static std::once_flag once;
  std::call_once(once, [] {
    const size_t capacity = capacityFromEnvironment();
    if (capacity == 0) return;
    g_allocator = new CachingCpuAllocator(capacity);
    c10::SetCPUAllocator(g_allocator, /*priority=*/1);
  });
}

CpuCacheInfo cpuCacheInfo() { return g_allocator ? g_allocator->info() : CpuCacheInfo{}; }

}  // namespace ir_rcnn::addon
