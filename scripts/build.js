// Builds the addon from source into build/Release/ir_rcnn.node: with CMake (cmake-js) when cmake
// is on PATH, which also compiles the CUDA kernels for a CUDA LibTorch; otherwise with node-gyp
// (binding.gyp; it comes with npm), CPU only. `node scripts/build.js --node-gyp` (npm run
// build:gyp) builds with node-gyp whatever is on PATH; node-gyp replaces build/ as it goes.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${path.basename(args[0] || command)} ${args[1] || ''} failed (exit status ${result.status ?? result.signal})`);
}

// npm tells its scripts where its own node-gyp is; outside npm, use the one npm ships with.
function nodeGypScript() {
  return process.env.npm_config_node_gyp || path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

function buildWithNodeGyp(torch) {
  if (torch && torch.cuda !== 'cpu') {
    throw new Error(`${torch.source} is a CUDA LibTorch, whose addon only CMake builds: install cmake (e.g. apt-get install cmake) and run the install again`);
  }
  // Node's own headers when they are installed (Debian's nodejs, the official tarballs), so that
  // node-gyp needs no download.
  const nodeDir = path.resolve(process.execPath, '..', '..');
  const nodeDirArgs = fs.existsSync(path.join(nodeDir, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodeDir}`] : [];
  const jobs = process.env.JOBS || String(os.availableParallelism());
  run(process.execPath, [nodeGypScript(), 'rebuild', `--jobs=${jobs}`, ...nodeDirArgs]);
}

function buildFromSource(torch) {
  if (spawnSync('cmake', ['--version']).status === 0) {
    run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--log-level', 'warn']);
  } else {
    buildWithNodeGyp(torch);
  }
  return path.join(root, 'build', 'Release', 'ir_rcnn.node');
}

module.exports = { buildFromSource };

if (require.main === module) {
  try {
    const torch = require('./libtorch').findLibTorch();
    if (process.argv[2] === '--node-gyp') buildWithNodeGyp(torch);
    else buildFromSource(torch);
  } catch (error) {
    console.error(`ir-rcnn: ${error.message}`);
    process.exit(1);
  }
}
