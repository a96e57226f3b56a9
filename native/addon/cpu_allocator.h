// A caching allocator for LibTorch's CPU tensors of 1 MiB and more, installed when the addon
// loads. glibc serves blocks that large with mmap and returns them with munmap, so every
// activation of every forward pass is faulted in afresh, page by page, and cleared by the kernel:
// on an R50-FPN detect() at 800 px that is a fifth of the time. Freed blocks are kept, by size
// class, up to a cap, and handed out again.
#pragma once
#include <cstddef>

namespace ir_rcnn::addon {

struct CpuCacheInfo {
  size_t capacityBytes = 0;  // 0: caching off (IR_RCNN_CPU_CACHE_MB=0)
  size_t cachedBytes = 0;    // freed blocks held for reuse now
};

// Installs the allocator (once; a no-op after). The cap is IR_RCNN_CPU_CACHE_MB when set, else a
// quarter of physical memory, at most 4 GiB, divided among LOCAL_WORLD_SIZE worker processes.
void installCpuCache();
CpuCacheInfo cpuCacheInfo();

}  // namespace ir_rcnn::addon
