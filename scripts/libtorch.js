#!/usr/bin/env node
// Finds LibTorch the one way every part of ir-rcnn does (CMakeLists.txt, binding.gyp, the install
// script, the addon loader and `ir-rcnn doctor`), first hit wins:
//   1. $LIBTORCH: an unpacked libtorch zip (CPU or CUDA) from pytorch.org;
//   2. the torch package of a `python3` on PATH;
//   3. the system (Debian's libtorch-dev).
// `node scripts/libtorch.js` prints what it found as JSON; `node scripts/libtorch.js FIELD` prints
// one field for a build file (see printField).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch];

/** The LibTorch under `includeDir` and `libDir`, or null when either is missing. */
function describe(source, includeDir, libDir, cmakeDir, extra = {}) {
  const versionHeader = path.join(includeDir, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!fs.existsSync(versionHeader) || !fs.existsSync(path.join(libDir, 'libtorch_cpu.so'))) return null;
  const header = fs.readFileSync(versionHeader, 'utf8');
  const part = (name) => (header.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`)) || [])[1];
  const torchConfig = path.join(cmakeDir, 'Torch', 'TorchConfig.cmake');
  const abiFlag = fs.existsSync(torchConfig) && fs.readFileSync(torchConfig, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=(\d)/);
  const hasCuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
  const c10dHeader = path.join(includeDir, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp');
  const glooHeader = [includeDir, '/usr/include'].some((dir) => fs.existsSync(path.join(dir, 'gloo', 'context.h')));
  return {
    source,
    version: [part('MAJOR'), part('MINOR'), part('PATCH')].join('.'),
    // 'cpu', or the CUDA version this LibTorch was built for ('12.4'; 'unknown' when it does not say).
    cuda: hasCuda ? extra.cudaVersion || cudaVersionOf(libDir) : 'cpu',
    cxx11Abi: extra.cxx11Abi ?? (abiFlag ? abiFlag[1] === '1' : true),
    includeDirs: [includeDir, path.join(includeDir, 'torch', 'csrc', 'api', 'include')],
    libDir,
    cmakeDir,
    distributed: fs.existsSync(c10dHeader) && glooHeader,
  };
}

// pytorch.org's libtorch zips carry a build-version file, e.g. "2.6.0+cu124".
function cudaVersionOf(libDir) {
  const file = path.join(libDir, '..', 'build-version');
  const tag = fs.existsSync(file) && fs.readFileSync(file, 'utf8').match(/\+cu(\d+)(\d)\b/);
  return tag ? `${tag[1]}.${tag[2]}` : 'unknown';
}

function fromLibtorchEnv(root) {
  const found = describe(`LIBTORCH=${root}`, path.join(root, 'include'), path.join(root, 'lib'), path.join(root, 'share', 'cmake'));
  if (!found) throw new Error(`LIBTORCH=${root} is not an unpacked libtorch (no include/torch or lib/libtorch_cpu.so in it)`);
  return found;
}

function fromPython() {
  const script =
    'import json, os, torch; print(json.dumps({"root": os.path.dirname(torch.__file__), ' +
    '"cuda": torch.version.cuda, "abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI)}))';
  for (const python of ['python3', 'python']) {
    const run = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: 60000 });
    if (run.status !== 0) continue;
    const { root, cuda, abi } = JSON.parse(run.stdout);
    return describe(`python torch at ${root}`, path.join(root, 'include'), path.join(root, 'lib'), path.join(root, 'share', 'cmake'), {
      cudaVersion: cuda,
      cxx11Abi: abi,
    });
  }
  return null;
}

function fromSystem() {
  for (const prefix of ['/usr/local', '/usr']) {
    for (const lib of [`lib/${MULTIARCH}`, 'lib64', 'lib']) {
      const libDir = path.join(prefix, lib);
      const found = describe(`system (${libDir})`, path.join(prefix, 'include'), libDir, path.join(libDir, 'cmake'));
      if (found) return found;
    }
  }
  return null;
}

/**
 * The LibTorch this machine offers, or null when there is none. Throws when LIBTORCH is set but
 * wrong (falling back would silently build against another LibTorch than the one asked for).
 */
function findLibTorch(env = process.env) {
  if (env.LIBTORCH) return fromLibtorchEnv(path.resolve(env.LIBTORCH));
  return fromPython() || fromSystem();
}

/** "LibTorch 1.13.0 (CPU, C++11 ABI)": what a LibTorch or a prebuild's tags stand for. */
function describeTorch({ version, cuda, cxx11Abi }) {
  return `LibTorch ${version} (${cuda === 'cpu' ? 'CPU' : `CUDA ${cuda}`}, ${cxx11Abi ? 'C++11 ABI' : 'pre-C++11 ABI'})`;
}

const HOW_TO_GET_IT =
  'set LIBTORCH=/path/to/libtorch (a libtorch zip from pytorch.org), put a python3 with torch on PATH, ' +
  'or on Debian/Ubuntu: apt-get install libtorch-dev libopenblas0-pthread libgloo-dev';

// Build-file fields, printed one per line so that gyp's <!@(...) and CMake read them as lists.
function printField(field) {
  const torch = findLibTorch();
  if (!torch) {
    process.stderr.write(`ir-rcnn: LibTorch was not found; ${HOW_TO_GET_IT}\n`);
    process.exit(1);
  }
  const glooLib = [torch.libDir, `/usr/lib/${MULTIARCH}`].some((dir) => fs.existsSync(path.join(dir, 'libgloo.so')));
  const fields = {
    json: [JSON.stringify(torch, null, 2)],
    // CMake: the prefix to search for TorchConfig.cmake, then where it came from.
    cmake: [torch.cmakeDir, torch.source],
    // -I/usr/include would break the C library's #include_next.
    include: torch.includeDirs.filter((dir) => dir !== '/usr/include'),
    defines: [
      `_GLIBCXX_USE_CXX11_ABI=${torch.cxx11Abi ? 1 : 0}`,
      ...(torch.distributed ? ['IR_RCNN_WITH_C10D', 'USE_C10D_GLOO'] : []),
    ],
    libraries: [
      `-L${torch.libDir}`, `-Wl,-rpath,${torch.libDir}`, '-ltorch', '-ltorch_cpu', '-lc10',
      ...(torch.distributed && glooLib ? ['-lgloo'] : []),
    ],
  };
  if (!fields[field]) throw new Error(`unknown field '${field}' (one of ${Object.keys(fields).join(', ')})`);
  process.stdout.write(`${fields[field].join('\n')}\n`);
}

module.exports = { findLibTorch, describeTorch, HOW_TO_GET_IT };

if (require.main === module) {
  try {
    printField(process.argv[2] || 'json');
  } catch (error) {
    process.stderr.write(`ir-rcnn: ${error.message}\n`);
    process.exit(1);
  }
}
