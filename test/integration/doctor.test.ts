// `ir-rcnn doctor` on this machine, and on deliberately broken setups run for real in a child
// process: the reference BLAS put in front of OpenBLAS, a LIBTORCH that holds no LibTorch. Also
// the prebuild choice by file name, against LibTorch versions this machine does not have.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { doctor, formatDoctorReport, type DoctorReport } from '../../src/doctor';
import { findLibTorch, torchInfo } from '../../src/native';
import { CLI, ROOT } from '../support/paths';

const REFERENCE_BLAS = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/blas/libblas.so.3`;

function runDoctor(env: Record<string, string>, args: string[] = ['--json']): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'doctor', ...args], { env: { ...process.env, ...env } }, (error, stdout) =>
      resolve({ status: error ? Number(error.code) : 0, stdout }),
    );
  });
}

describe('ir-rcnn doctor', () => {
  it('reports this machine: the LibTorch found, the addon loaded, BLAS, threads; no problems', () => {
    const report = doctor();
    const info = torchInfo();
    assert.deepStrictEqual(report.problems, []);
    assert.strictEqual(report.libtorch?.version, info.torchVersion);
    assert.ok(report.addon?.loaded);
    assert.strictEqual(fs.realpathSync(report.addon.file), fs.realpathSync(info.addonPath));
    assert.strictEqual(report.torch?.cuda.available, info.cudaAvailable);
    assert.match(report.torch!.blas[0], /^(OpenBLAS|MKL|BLIS) /);
    assert.strictEqual(report.torch!.threads.intraOp, info.intraOpThreads);
    assert.strictEqual(report.node.napi, Number(process.versions.napi));
    const text = formatDoctorReport(report);
    assert.match(text, new RegExp(`^LibTorch +${report.libtorch.version.replace(/\./g, '\\.')} `, 'm'));
    assert.match(text, /^no problems found$/m);
  });

  it('flags the reference BLAS in front of OpenBLAS, with the fix', async function () {
    if (!fs.existsSync(REFERENCE_BLAS)) this.skip(); // Debian's libblas3 (.ci/run installs it)
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-blas-'));
    try {
      fs.symlinkSync(REFERENCE_BLAS, path.join(folder, 'libblas.so.3'));
      const { status, stdout } = await runDoctor({ LD_LIBRARY_PATH: folder });
      const report = JSON.parse(stdout) as DoctorReport;
      assert.strictEqual(status, 1);
      assert.match(report.torch!.blas[0], /^reference BLAS \(.*\/blas\/libblas\.so/);
      assert.strictEqual(report.problems.length, 1, JSON.stringify(report.problems));
      assert.match(report.problems[0].problem, /reference BLAS.*14× slower/);
      assert.match(report.problems[0].fix, /apt-get install -y libopenblas0-pthread/);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('flags a LIBTORCH that holds no LibTorch, with the fix, in words and in JSON', async () => {
    const missing = path.join(os.tmpdir(), 'ir-rcnn-no-libtorch-here');
    const json = await runDoctor({ LIBTORCH: missing });
    const report = JSON.parse(json.stdout) as DoctorReport;
    assert.strictEqual(json.status, 1);
    assert.strictEqual(report.libtorch, null);
    assert.strictEqual(report.problems[0].problem, `LIBTORCH=${missing} is not an unpacked libtorch (no include/torch or lib/libtorch_cpu.so in it)`);
    assert.match(report.problems[0].fix, /^unset LIBTORCH, or set LIBTORCH=.* apt-get install libtorch-dev/);
    const text = await runDoctor({ LIBTORCH: missing }, []);
    assert.match(text.stdout, /^LibTorch +not found$/m);
    assert.match(text.stdout, /^problem: LIBTORCH=.* is not an unpacked libtorch/m);
    assert.match(text.stdout, /^ {4}fix: unset LIBTORCH/m);
  });

  it('flags an addon file that does not load, with the fix', async () => {
    const bogus = path.join(os.tmpdir(), 'ir-rcnn-not-an-addon.node');
    fs.writeFileSync(bogus, 'not a shared library');
    try {
      const { status, stdout } = await runDoctor({ IR_RCNN_ADDON: bogus });
      const report = JSON.parse(stdout) as DoctorReport;
      assert.strictEqual(status, 1);
      assert.deepStrictEqual(report.addon, { file: bogus, kind: 'IR_RCNN_ADDON', loaded: false });
      assert.match(report.problems[0].problem, /^the native addon .*ir-rcnn-not-an-addon\.node could not be loaded \(.*\)$/);
      assert.strictEqual(report.problems[0].fix, 'unset IR_RCNN_ADDON');
    } finally {
      fs.rmSync(bogus, { force: true });
    }
  });
});

describe('prebuild choice', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { choosePrebuild, prebuildName } = require(path.join(ROOT, 'scripts', 'prebuilds.js'));
  const torch = findLibTorch()!;
  let root: string;
  const withPrebuilds = (...names: string[]) => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-prebuilds-'));
    const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const name of names) fs.writeFileSync(path.join(dir, name), '');
    return root;
  };
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('takes the prebuild tagged with this LibTorch, among others', () => {
    const cuda = prebuildName({ ...torch, version: '2.6.0', cuda: '12.4' });
    assert.strictEqual(cuda, 'ir_rcnn.napi.glibc.napi8.torch2_6_0.cuda12_4.cxx11abi.node');
    const chosen = choosePrebuild(withPrebuilds(cuda, prebuildName(torch)), torch);
    assert.strictEqual(chosen.file, path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, prebuildName(torch)));
  });

  it('says what a mismatched prebuild needs and what was found', () => {
    const cpu = prebuildName({ ...torch, cuda: 'cpu' });
    assert.deepStrictEqual(choosePrebuild(withPrebuilds(cpu), { ...torch, cuda: '12.4', source: 'LIBTORCH=/opt/libtorch' }), {
      reason: `the prebuilt addon needs LibTorch ${torch.version} (CPU, C++11 ABI) but LIBTORCH=/opt/libtorch has LibTorch ${torch.version} (CUDA 12.4, C++11 ABI)`,
    });
    assert.match(choosePrebuild(withPrebuilds(cpu), null).reason, /needs LibTorch .* but no LibTorch was found$/);
    assert.match(choosePrebuild(withPrebuilds('ir_rcnn.node', 'notes.txt'), torch).reason, /^no prebuilt addon for /);
  });
});
