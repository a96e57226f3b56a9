// `npm run prebuilds` (not "prebuild", which npm would run before every `npm run build`): builds
// the addon for this machine's LibTorch and copies it to prebuilds/<platform>-<arch>/ under a name
// tagged with what it needs at run time (see prebuilds.js). `npm pack` then ships it; git does not. On a GPU machine with a CUDA LibTorch
// (LIBTORCH=...) this makes the CUDA prebuild.
'use strict';
const fs = require('fs');
const path = require('path');
const { findLibTorch, HOW_TO_GET_IT } = require('./libtorch');
const { prebuildDir, prebuildName } = require('./prebuilds');
const { buildFromSource } = require('./build');

const root = path.resolve(__dirname, '..');

try {
  const torch = findLibTorch();
  if (!torch) throw new Error(`LibTorch was not found; ${HOW_TO_GET_IT}`);
  const built = buildFromSource(torch);
  const target = path.join(prebuildDir(root), prebuildName(torch));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(built, target);
  console.log(`ir-rcnn: ${path.relative(root, target)} (${(fs.statSync(target).size / 1e6).toFixed(1)} MB)`);
} catch (error) {
  console.error(`ir-rcnn: ${error.message}`);
  process.exit(1);
}
