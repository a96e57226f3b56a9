#!/usr/bin/env bash
# CI for the package as users get it: `npm run prebuilds` and `npm pack`, then the tarball is
# installed into fresh projects (`npm init -y && npm install ir-rcnn-x.y.z.tgz`) which write R18
# weights with the package itself and run `npx ir-rcnn detect`:
#   1. prebuild: no cmake, make or C++ compiler on PATH, so any attempt to build fails;
#   2. from source: the tarball's prebuild retagged for another LibTorch, no cmake on PATH, so the
#      install builds with node-gyp (binding.gyp); the op tests then run against that build.
# Runs as root after `npm ci` (.ci/run). Prints each install's time and the tarball's size.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# The reference BLAS, which test/integration/doctor.test.ts puts in front of OpenBLAS with LD_LIBRARY_PATH
# (installing it leaves OpenBLAS the system's choice).
apt-get install -y --no-install-recommends libblas3 > /dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A folder of links to every command on PATH except those whose names match $2.
path_without() {
  local dir="$work/$1" command name
  mkdir -p "$dir"
  IFS=: read -ra folders <<< "$PATH"
  for command in $(printf '%s/* ' "${folders[@]}"); do
    name=$(basename "$command")
    if [ -x "$command" ] && [ ! -e "$dir/$name" ] && ! [[ $name =~ $2 ]]; then ln -s "$command" "$dir/$name"; fi
  done
  echo "$dir"
}
NO_COMPILER=$(path_without no-compiler '^(cmake|ctest|ninja|make|gmake|cc|c\+\+|cpp|clang.*|(.*-)?(gcc|g\+\+)(-[0-9.]+)?)$')
NO_CMAKE=$(path_without no-cmake '^cmake$')

fail() { echo "ci-install: $*" >&2; exit 1; }

# Installs tarball $2 into a fresh project $work/$1 with PATH=$3, then writes weights, draws an
# image and detects on it with the installed CLI. Leaves the project as the current folder.
install_and_detect() {
  mkdir "$work/$1" && cd "$work/$1"
  npm init -y > /dev/null
  local start=$SECONDS
  PATH=$3 npm install --no-audit --no-fund --foreground-scripts "$2"
  echo "ci-install: $1: npm install took $((SECONDS - start)) s"
  node -e "
    const { Detector, writeSafetensors } = require('ir-rcnn');
    Detector.load({ config: 'faster_rcnn_r18_fpn_small' })
      .then(async (detector) => writeSafetensors('r18.safetensors', await detector.stateDict()));"
  npx ir-rcnn synth --out images --images 1 --val-images 0 --size 128 > /dev/null
  npx ir-rcnn detect images/train/*.jpg --weights r18.safetensors --config faster_rcnn_r18_fpn_small --score-thresh 0 > detections.json
  node -e "
    const [result] = require('./detections.json');
    const ok = result && /\.jpg$/.test(result.file) && Array.isArray(result.detections) && result.detections.length > 0 &&
      result.detections.every((d) => d.bbox.length === 4 && d.score >= 0 && Number.isInteger(d.category_id));
    if (!ok) { console.error('ci-install: unexpected detections', JSON.stringify(result)); process.exit(1); }
    console.log('ci-install: detect found', result.detections.length, 'boxes');"
}

# The addon kind `ir-rcnn doctor` reports for the project in the current folder, which must
# have no problem.
addon_kind() {
  npx ir-rcnn doctor --json > doctor.json || fail "doctor found problems: $(cat doctor.json)"
  node -p "require('./doctor.json').addon.kind"
}

npm run prebuilds
tarball=$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "ci-install: $(basename "$tarball"): $(du -h "$tarball" | cut -f1)"
tar -tzf "$tarball" > "$work/contents"
grep -q '^package/prebuilds/linux-.*/ir_rcnn\..*\.node$' "$work/contents" || fail "the tarball has no prebuild"
grep -q '^package/dist/src/index.d.ts$' "$work/contents" || fail "the tarball has no dist/"

# 1. The prebuild, no compiler anywhere on PATH.
install_and_detect prebuild "$tarball" "$NO_COMPILER"
[ ! -e node_modules/ir-rcnn/build ] || fail "the install built the addon although the prebuild matches"
[ "$(addon_kind)" = prebuild ] || fail "the prebuild does not load"
[[ $(npx ir-rcnn --help) == "usage: ir-rcnn "* ]] || fail "npx ir-rcnn --help"
# import (ESM, named exports) and the types, as a TypeScript project uses them.
node --input-type=module -e "import { Detector, torchInfo } from 'ir-rcnn'; if (typeof Detector.load !== 'function' || !torchInfo().torchVersion) process.exit(1);"
# The test hooks live in the ir-rcnn/testing subpath, not in the main export.
node -e "const t = require('ir-rcnn/testing'), m = require('ir-rcnn'); if (typeof t.relationForward !== 'function' || 'relationForward' in m) process.exit(1);" || fail "ir-rcnn/testing"
echo "import { Detector, type Detection } from 'ir-rcnn'; const load: Promise<Detector> = Detector.load({ config: 'faster_rcnn_r18_fpn_small' }); const d: Detection['bbox'] = [0, 0, 1, 1]; void load; void d;" > check.ts
"$repo/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --moduleResolution node --module commonjs --target es2022 \
  --typeRoots "$repo/node_modules/@types" --types node check.ts

# 2. From source: the prebuild claims another LibTorch, so the install builds with node-gyp.
mkdir "$work/retagged" && tar -xzf "$tarball" -C "$work/retagged"
for prebuild in "$work"/retagged/package/prebuilds/*/*.node; do
  mv "$prebuild" "$(echo "$prebuild" | sed -E 's/\.torch[0-9_]+\./.torch0_0_1./')"
done
tar -czf "$work/retagged.tgz" -C "$work/retagged" package
install_and_detect from-source "$work/retagged.tgz" "$NO_CMAKE"
built=$PWD/node_modules/ir-rcnn/build/Release/ir_rcnn.node
[ -e "$built" ] || fail "the install did not build the addon"
[ "$(addon_kind)" = "local build" ] || fail "the local build does not load"
# Without the build, the loader meets the mismatched prebuild: one line, with the fix.
mv node_modules/ir-rcnn/build "$work/build-aside"
message=$(npx ir-rcnn detect images/train/*.jpg --weights r18.safetensors 2>&1 || true)
mv "$work/build-aside" node_modules/ir-rcnn/build
echo "ci-install: mismatch: $message"
[[ $message =~ ^"ir-rcnn: the prebuilt addon needs LibTorch 0.0.1".*"npm rebuild ir-rcnn --build-from-source" ]] || fail "unexpected mismatch message"
[ "$(echo "$message" | wc -l)" = 1 ] || fail "the mismatch message is not one line"

# binding.gyp's build passes the op tests.
cd "$repo"
IR_RCNN_ADDON=$built npx mocha --no-config --timeout 120000 dist/test/native/ops.test.js dist/test/native/topk.test.js
echo "ci-install: ok"
