// A caching allocator for LibTorch's CPU tensors of 128 KiB and more, installed when the addon
// loads. glibc serves blocks that large (its default mmap threshold) with mmap and returns them
// with munmap, so every activation of every forward pass is faulted in afresh, page by page, and
// cleared by the kernel: on an R50-FPN detect() at 800 px that is a fifth of the time. Freed
// blocks are kept by size class and handed out again; what is kept is bounded by the working set
// of recent calls:
//
// - Memory held (blocks in use plus blocks kept) stays within 1.25× the largest peak of blocks
//   in use of the last four addon calls and the one running now. A new block that would go past
//   that is made room for by unmapping the least recently freed kept blocks first, so the cache
//   adds at most a quarter to a process's peak of activations; after a large image, its blocks
//   go once a few calls with smaller ones have passed.
// - It also never keeps more than its cap: IR_RCNN_CPU_CACHE_MB when set, else a quarter of
//   physical memory, at most 4 GiB, divided among LOCAL_WORLD_SIZE worker processes.
//
// The blocks are mapped and unmapped here (not through malloc), so that unmapped memory goes back
// to the system: glibc raises its mmap threshold after such frees and would serve the next ones
// from a heap that never shrinks.
#pragma once
#include <cstddef>

namespace ir_rcnn::addon {

struct CpuCacheInfo {
  size_t capacityBytes = 0;  // 0: caching off (IR_RCNN_CPU_CACHE_MB=0)
  size_t cachedBytes = 0;    // freed blocks kept for reuse now
  size_t cachedBlocks = 0;
  size_t inUseBytes = 0;        // blocks of 128 KiB and more held by tensors now
  size_t workingSetBytes = 0;   // the bound on inUse + cached: 1.25× the recent calls' peak in use
  double hits = 0, misses = 0;  // allocations of 128 KiB and more served from the cache, or mapped
  double evictedBytes = 0;      // kept blocks unmapped to stay within the bounds, in all
};

// Installs the allocator (once; a no-op after).
void installCpuCache();
CpuCacheInfo cpuCacheInfo();
// The end of one addon call (a job on the thread pool): the working set's window moves on.
void endCpuCacheCall();

}  // namespace ir_rcnn::addon
