// `npm install`: uses the prebuilt addon matching the LibTorch on this machine (no compiler
// needed), else builds from source. `npm rebuild ir-rcnn --build-from-source` forces a build.
'use strict';
const path = require('path');
const { findLibTorch } = require('./libtorch');
const { choosePrebuild } = require('./prebuilds');
const { buildFromSource } = require('./build');

const root = path.resolve(__dirname, '..');

try {
  const torch = findLibTorch();
  const choice = process.env.npm_config_build_from_source ? { reason: '--build-from-source' } : choosePrebuild(root, torch);
  if (choice.file) {
    console.log(`ir-rcnn: using the prebuilt addon ${path.relative(root, choice.file)} (LibTorch from ${torch.source})`);
  } else {
    console.log(`ir-rcnn: building the addon from source (${choice.reason})`);
    buildFromSource(torch);
  }
} catch (error) {
  console.error(`ir-rcnn: ${error.message}`);
  process.exit(1);
}
