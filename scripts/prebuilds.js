// Prebuilt addons: prebuilds/<platform>-<arch>/ir_rcnn.<tags>.node, in node-gyp-build's naming
// (napi, glibc) plus the tags that say which LibTorch the binary was linked against, e.g.
//   ir_rcnn.napi.glibc.napi8.torch1_13_0.cpu.cxx11abi.node
//   ir_rcnn.napi.glibc.napi8.torch2_6_0.cuda12_4.cxx11abi.node
// The install script and the addon loader both pick the prebuild matching the LibTorch that
// scripts/libtorch.js finds; a LibTorch of another version, CUDA flavour or C++ ABI would fail to
// link or crash at the first call, so those are built from source instead.
'use strict';
const fs = require('fs');
const path = require('path');
const { describeTorch } = require('./libtorch');

const NAPI_VERSION = require('../package.json').binary.napi_versions[0];

function prebuildDir(root) {
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
}

/** The file name of a prebuild linked against `torch` (a scripts/libtorch.js result). */
function prebuildName(torch) {
  const device = torch.cuda === 'cpu' ? 'cpu' : `cuda${torch.cuda.replace(/\./g, '_')}`;
  const tags = ['napi', 'glibc', `napi${NAPI_VERSION}`, `torch${torch.version.replace(/\./g, '_')}`, device, torch.cxx11Abi ? 'cxx11abi' : 'precxx11abi'];
  return `ir_rcnn.${tags.join('.')}.node`;
}

/** What a prebuild needs at run time, read back from its name; null for a file not named so. */
function prebuildNeeds(file) {
  const match = file.match(/^ir_rcnn\.napi\.glibc\.napi(\d+)\.torch([\d_]+)\.(cpu|cuda[\w]+)\.(cxx11abi|precxx11abi)\.node$/);
  if (!match) return null;
  const [, napi, version, device, abi] = match;
  return {
    napi: Number(napi),
    version: version.replace(/_/g, '.'),
    cuda: device === 'cpu' ? 'cpu' : device.slice(4).replace(/_/g, '.'),
    cxx11Abi: abi === 'cxx11abi',
  };
}

/**
 * The prebuild under `root` that runs with `torch` (null: no LibTorch found), as
 * { file } or { reason } saying why none does.
 */
function choosePrebuild(root, torch) {
  const dir = prebuildDir(root);
  const prebuilds = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    .map((name) => ({ file: path.join(dir, name), needs: prebuildNeeds(name) }))
    .filter(({ needs }) => needs && needs.napi <= Number(process.versions.napi));
  if (prebuilds.length === 0) return { reason: `no prebuilt addon for ${path.basename(dir)} and N-API ${process.versions.napi}` };
  const needed = prebuilds.map(({ needs }) => describeTorch(needs)).join(' or ');
  if (!torch) return { reason: `the prebuilt addon needs ${needed} but no LibTorch was found` };
  const match = prebuilds.find(({ needs }) => needs.version === torch.version && needs.cuda === torch.cuda && needs.cxx11Abi === torch.cxx11Abi);
  if (match) return { file: match.file };
  return { reason: `the prebuilt addon needs ${needed} but ${torch.source} has ${describeTorch(torch)}` };
}

/** The one command that rebuilds the addon from source, in a project using ir-rcnn or in this repository. */
function rebuildCommand(root) {
  return root.split(path.sep).includes('node_modules') ? 'npm rebuild ir-rcnn --build-from-source' : 'npm run build';
}

module.exports = { prebuildDir, prebuildName, choosePrebuild, rebuildCommand };
