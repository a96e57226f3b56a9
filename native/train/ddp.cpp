#include "train/ddp.h"

#include <sstream>
#include <stdexcept>

#include "error.h"

#ifdef IR_RCNN_WITH_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(IR_RCNN_WITH_CUDA) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "compat/c10d.h"
#endif

namespace ir_rcnn::train {

#ifdef IR_RCNN_WITH_C10D

bool distributedAvailable() { return true; }

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::CollectiveGroup> group;
};

namespace {

std::string where(const DistributedOptions& o) {
  return o.masterAddr + ":" + std::to_string(o.masterPort) + " (rank " + std::to_string(o.rank) + " of " +
         std::to_string(o.worldSize) + ")";
}

std::string secondsText(std::chrono::milliseconds timeout) {
  std::ostringstream out;
  out << timeout.count() / 1000.0;
  return out.str();
}

// Gloo's transport device: GLOO_SOCKET_IFNAME as torch does, the loopback interface when the
// master is on this machine's loopback, otherwise the address this host name resolves to.
std::shared_ptr<::gloo::transport::Device> glooDevice(const DistributedOptions& o) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (o.masterAddr == "127.0.0.1" || o.masterAddr == "localhost")
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Runs a collective and waits for it; a peer that died or timed out becomes one clear error.
void finish(const c10::intrusive_ptr<c10d::Work>& work, const char* what, const DistributedOptions& o) {
  try {
    work->wait(o.timeout);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    if (auto nl = reason.find('\n'); nl != std::string::npos) reason.resize(nl);
    throw UserError(std::string("distributed ") + what + " failed at " + where(o) + " (a peer stopped or is unreachable): " + reason,
                    ErrorCode::Distributed);
  }
}

}  // namespace

Distributed::Distributed(const DistributedOptions& options, c10::Device device)
    : options_(options), impl_(std::make_unique<Impl>()) {
  if (options.worldSize < 1) throw UserError("WORLD_SIZE: expected an integer >= 1", ErrorCode::Distributed);
  if (options.rank < 0 || options.rank >= options.worldSize)
    throw UserError("RANK: expected an integer in [0, WORLD_SIZE)", ErrorCode::Distributed);
  if (options.masterPort < 1 || options.masterPort > 65535)
    throw UserError("MASTER_PORT: expected a port in [1, 65535]", ErrorCode::Distributed);
  try {
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<uint16_t>(options.masterPort);
    storeOptions.isServer = options.rank == 0;
    storeOptions.numWorkers = static_cast<size_t>(options.worldSize);
    storeOptions.waitWorkers = true;
    storeOptions.timeout = options.timeout;
    compat::useClassicTcpStore(storeOptions);
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options.masterAddr, storeOptions);
    auto store = c10::make_intrusive<c10d::PrefixStore>("ir_rcnn", impl_->store);
    if (device.is_cuda()) {
#if defined(IR_RCNN_WITH_CUDA) && defined(USE_C10D_NCCL)
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = options.timeout;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, options.rank, options.worldSize, nccl);
#else
      throw UserError("distributed training on CUDA needs a LibTorch with NCCL", ErrorCode::Distributed);
#endif
    } else {
      auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
      gloo->devices.push_back(glooDevice(options));
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank, options.worldSize, gloo);
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    std::string reason = e.what();
    if (auto nl = reason.find('\n'); nl != std::string::npos) reason.resize(nl);
    throw UserError("distributed rendezvous at " + where(options) + " failed within " + secondsText(options.timeout) + " s: " + reason,
                    ErrorCode::Distributed);
  }
}

Distributed::~Distributed() = default;

// Packs same-dtype tensors into flat buckets of at most bucketBytes, runs `collective` on each
// bucket and copies the results back.
template <typename Collective>
static void inBuckets(const std::vector<at::Tensor>& tensors, size_t bucketBytes, Collective collective) {
  size_t start = 0;
  while (start < tensors.size()) {
    size_t end = start, bytes = 0;
    while (end < tensors.size() && tensors[end].scalar_type() == tensors[start].scalar_type() &&
           (end == start || bytes + tensors[end].nbytes() <= bucketBytes)) {
      bytes += tensors[end].nbytes();
      ++end;
    }
    std::vector<at::Tensor> flat;
    for (size_t i = start; i < end; ++i) flat.push_back(tensors[i].reshape(-1));
    at::Tensor bucket = at::cat(flat);
    collective(bucket);
    int64_t offset = 0;
    for (size_t i = start; i < end; ++i) {
      int64_t n = tensors[i].numel();
      tensors[i].copy_(bucket.narrow(0, offset, n).view_as(tensors[i]));
      offset += n;
    }
    start = end;
  }
}

void Distributed::broadcast(const std::vector<at::Tensor>& tensors) {
  torch::NoGradGuard noGrad;
  inBuckets(tensors, options_.bucketBytes, [&](at::Tensor& bucket) {
    std::vector<at::Tensor> io{bucket};
    c10d::BroadcastOptions opts;
    opts.rootRank = 0;
    opts.timeout = options_.timeout;
    finish(impl_->group->broadcast(io, opts), "broadcast", options_);
  });
}

void Distributed::allreduceMean(const std::vector<at::Tensor>& tensors) {
  torch::NoGradGuard noGrad;
  inBuckets(tensors, options_.bucketBytes, [&](at::Tensor& bucket) {
    std::vector<at::Tensor> io{bucket};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = options_.timeout;
    finish(impl_->group->allreduce(io, opts), "allreduce", options_);
    bucket.div_(options_.worldSize);
  });
}

#else  // no c10d in this LibTorch

bool distributedAvailable() { return false; }
struct Distributed::Impl {};
Distributed::Distributed(const DistributedOptions& options, c10::Device) : options_(options) {
  throw UserError("distributed training: this build of ir-rcnn has no c10d (LibTorch without distributed support)", ErrorCode::Distributed);
}
Distributed::~Distributed() = default;
void Distributed::broadcast(const std::vector<at::Tensor>&) {}
void Distributed::allreduceMean(const std::vector<at::Tensor>&) {}

#endif

}  // namespace ir_rcnn::train
