#include "addon/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "compat/allocator.h"

namespace ir_rcnn::addon {
namespace {

constexpr size_t kMinCached = size_t{128} << 10;
// The calls whose peak in use bounds what is kept, besides the one running now.
constexpr size_t kRecentCalls = 4;
// The bound is that peak and a quarter more: with exactly the peak, the blocks of one forward
// pass do not all fit (a pass needs each size class at its own busiest moment), and a detect()
// at 800 px maps and unmaps 230 MB again each time (a tenth of its time); with a quarter, a few MB.
constexpr size_t kSlackDivisor = 4;

// Every block starts with this header, so that freeing needs nothing but the data pointer (mkldnn
// frees through raw_deallocate). 64 bytes keep the data as aligned as c10's own blocks. Kept
// blocks sit in two intrusive lists: their size class's (most recently freed first) and the
// cache's (least recently freed last, the next to be unmapped).
struct alignas(64) Header {
  size_t sizeClass;  // 0: a small block from c10::alloc_cpu, returned to it when freed
  Header *classNext, *classPrev;
  Header *lruNext, *lruPrev;
};

// Sizes rounded up to eighths of their power of two: at most 12.5% of a block is slack, and
// activations of slightly different image sizes still share blocks.
size_t sizeClassOf(size_t n) {
  const size_t power = size_t{1} << (63 - __builtin_clzll(n));
  const size_t step = power / 8;
  return (n + step - 1) / step * step;
}

size_t mappedBytes(size_t sizeClass) { return sizeof(Header) + sizeClass; }

Header* mapBlock(size_t sizeClass) {
  void* p = mmap(nullptr, mappedBytes(sizeClass), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<Header*>(p);
}

void unmapBlocks(const std::vector<Header*>& blocks) {
  for (Header* block : blocks) munmap(block, mappedBytes(block->sizeClass));
}

class CachingCpuAllocator final : public compat::CpuAllocatorBase {
 public:
  explicit CachingCpuAllocator(size_t capacity) : capacity_(capacity) {}

  c10::DataPtr allocateBlock(size_t n) const override {
    Header* header = n < kMinCached ? small(n) : large(sizeClassOf(n));
    void* data = header + 1;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void give(Header* header) const {
    const size_t sizeClass = header->sizeClass;
    if (!sizeClass) return c10::free_cpu(header);
    std::vector<Header*> unmapped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      inUse_ -= sizeClass;
      // The most recently freed block is worth more than the least recently freed ones.
      if (sizeClass <= capacity_) evictWhile(unmapped, [&] { return cached_ + sizeClass > capacity_; });
      if (sizeClass <= capacity_ && inUse_ + cached_ + sizeClass <= workingSet()) keep(header);
      else unmapped.push_back(header);
    }
    unmapBlocks(unmapped);
  }

  void endCall() const {
    std::vector<Header*> unmapped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      recentPeaks_.push_back(callPeak_);
      if (recentPeaks_.size() > kRecentCalls) recentPeaks_.pop_front();
      callPeak_ = inUse_;
      evictWhile(unmapped, [&] { return inUse_ + cached_ > workingSet(); });
    }
    unmapBlocks(unmapped);
  }

  CpuCacheInfo info() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {capacity_, cached_, cachedBlocks_, inUse_, workingSet(), hits_, misses_, evicted_};
  }

 private:
  Header* small(size_t n) const {
    auto* header = static_cast<Header*>(c10::alloc_cpu(sizeof(Header) + n));
    header->sizeClass = 0;
    return header;
  }

  Header* large(size_t sizeClass) const {
    std::vector<Header*> unmapped;
    Header* header = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      header = takeKept(sizeClass);
      header ? ++hits_ : ++misses_;
      inUse_ += header ? header->sizeClass : sizeClass;
      callPeak_ = std::max(callPeak_, inUse_);
      // A new block: kept blocks of other sizes make room first, so that the cache adds nothing
      // to the process's peak.
      if (!header) evictWhile(unmapped, [&] { return inUse_ + cached_ > workingSet(); });
    }
    unmapBlocks(unmapped);
    if (header) return header;
    header = mapBlock(sizeClass);
    if (!header) {
      // Out of memory: hand every kept block back and try once more.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        evictWhile(unmapped, [&] { return cached_ > 0; });
      }
      unmapBlocks(unmapped);
      header = mapBlock(sizeClass);
    }
    if (!header) {
      std::lock_guard<std::mutex> lock(mutex_);
      inUse_ -= sizeClass;
      TORCH_CHECK(false, "CPU allocator: not enough memory: you tried to allocate ", sizeClass, " bytes");
    }
    header->sizeClass = sizeClass;
    return header;
  }

  // The bound on in use + kept.
  size_t workingSet() const {
    size_t peak = callPeak_;
    for (size_t recent : recentPeaks_) peak = std::max(peak, recent);
    return peak + peak / kSlackDivisor;
  }

  // The rest under mutex_.
  void keep(Header* header) const {
    Header*& head = classHeads_[header->sizeClass];
    header->classPrev = nullptr;
    header->classNext = head;
    if (head) head->classPrev = header;
    head = header;
    header->lruPrev = nullptr;
    header->lruNext = lruHead_;
    (lruHead_ ? lruHead_->lruPrev : lruTail_) = header;
    lruHead_ = header;
    cached_ += header->sizeClass;
    ++cachedBlocks_;
  }

  void unlink(Header* header) const {
    auto head = classHeads_.find(header->sizeClass);
    if (header->classPrev) header->classPrev->classNext = header->classNext;
    else if (header->classNext) head->second = header->classNext;
    else classHeads_.erase(head);
    if (header->classNext) header->classNext->classPrev = header->classPrev;
    (header->lruPrev ? header->lruPrev->lruNext : lruHead_) = header->lruNext;
    (header->lruNext ? header->lruNext->lruPrev : lruTail_) = header->lruPrev;
    cached_ -= header->sizeClass;
    --cachedBlocks_;
  }

  // The smallest kept block of this size class or a larger one up to twice its size: the layers of
  // a network shrink their activations step by step, and a larger block spares a new mapping.
  Header* takeKept(size_t sizeClass) const {
    auto it = classHeads_.lower_bound(sizeClass);
    if (it == classHeads_.end() || it->first > 2 * sizeClass) return nullptr;
    Header* header = it->second;
    unlink(header);
    return header;
  }

  // Moves least recently freed blocks to `unmapped` while `tooMuch()` and any are kept.
  template <typename Predicate>
  void evictWhile(std::vector<Header*>& unmapped, Predicate tooMuch) const {
    while (lruTail_ && tooMuch()) {
      Header* oldest = lruTail_;
      unlink(oldest);
      evicted_ += static_cast<double>(oldest->sizeClass);
      unmapped.push_back(oldest);
    }
  }

  static void release(void* data);

  const size_t capacity_;
  mutable std::mutex mutex_;
  mutable std::map<size_t, Header*> classHeads_;
  mutable Header *lruHead_ = nullptr, *lruTail_ = nullptr;
  mutable size_t cached_ = 0, cachedBlocks_ = 0, inUse_ = 0, callPeak_ = 0;
  mutable std::deque<size_t> recentPeaks_;
  mutable double hits_ = 0, misses_ = 0, evicted_ = 0;
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

void endCpuCacheCall() {
  if (g_allocator) g_allocator->endCall();
}

}  // namespace ir_rcnn::addon
