#!/usr/bin/env bash
# Compiles every CUDA source with nvcc (-c only) so that CUDA code that does not compile cannot
# land, even on machines without a GPU or a CUDA LibTorch. Usage: scripts/check-cuda.sh [NVCC]
set -euo pipefail
cd "$(dirname "$0")/.."
NVCC=${1:-nvcc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for source in $(find native -name '*.cu' | sort); do
  if "$NVCC" -std=c++17 -O2 -c -Inative -o "$out/$(basename "$source").o" "$source"; then
    echo "nvcc ok: $source"
  else
    echo "nvcc FAILED: $source"
    status=1
  fi
done
exit $status
