// The bench harness: its statistics, FLOP rates, child processes, the onnxruntime-node helpers, and `run.js --quick --only ops` end to end writing a
// well-formed latest.json, with the Python interpreter pointed at nothing so that the suite needs
// none (the comparisons are skipped with a notice). No timing is asserted.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { markdownTable, summarize, timeInterleaved, timeRuns, type Report } from '../../bench/harness';
import { ONNXRUNTIME_INSTALL, maxBoxDifference, onnxRuntimeUnavailable } from '../../bench/onnxruntime';
import { measureNodeProcess } from '../../bench/process';
import { DIST } from '../support/paths';

const RUN = path.join(DIST, 'bench', 'run.js');

function runBench(args: string[], script = RUN): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('bench harness', () => {
  it('summarize: median, min and nearest-rank p90', () => {
    assert.deepStrictEqual(summarize([5, 1, 3]), { runs: 3, medianMs: 3, minMs: 1, p90Ms: 5 });
    assert.deepStrictEqual(summarize([4, 1, 3, 2]), { runs: 4, medianMs: 2.5, minMs: 1, p90Ms: 4 });
    const tens = Array.from({ length: 10 }, (_, i) => 10 - i);
    assert.strictEqual(summarize(tens).p90Ms, 9);
    assert.strictEqual(summarize(tens).medianMs, 5.5);
    assert.deepStrictEqual(summarize([7]), { runs: 1, medianMs: 7, minMs: 7, p90Ms: 7 });
    assert.throws(() => summarize([]), /no samples/);
  });

  it('timeRuns: warm-up calls are not timed', async () => {
    let calls = 0;
    const samples = await timeRuns(async () => {
      calls++;
    }, { warmup: 2, repeats: 3 });
    assert.strictEqual(calls, 5);
    assert.strictEqual(samples.length, 3);
    assert.ok(samples.every((s) => Number.isFinite(s) && s >= 0));
  });

  it('timeInterleaved: warms each up, then alternates one timed run of each', async () => {
    const order: string[] = [];
    const samples = await timeInterleaved([() => order.push('a'), () => order.push('b')], { warmup: 1, repeats: 3 });
    assert.deepStrictEqual(order, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    assert.deepStrictEqual(samples.map((s) => s.length), [3, 3]);
  });

  it('markdownTable: one line per row, ratio and reference shown', () => {
    const stats = { runs: 3, medianMs: 12.345, minMs: 10, p90Ms: 15 };
    const report = {
      date: '2026-01-01T00:00:00Z',
      options: { quick: true, device: 'cpu', threads: 2, sections: ['ops'] },
      machine: { cpu: 'X', cores: 2, memoryGiB: 8, platform: 'linux', node: 'v20', torch: { torchVersion: '1.13.1' }, parallel: [], build: [], blasLibraries: [], loadAverage: [0, 0, 0] },
      notices: ['no torchvision'],
      rows: [
        { section: 'ops', name: 'nms', ours: stats, reference: { name: 'torchvision.ops.nms', stats: { ...stats, medianMs: 24.69 } }, ratio: 0.5 },
        { section: 'eval', name: 'coco', ours: stats, extra: { 'peak RSS MiB': 512 } },
      ],
    } as unknown as Report;
    const lines = markdownTable(report).split('\n');
    assert.ok(lines.some((l) => l.startsWith('| ops | nms | 12.3 (10.0–15.0) | torchvision.ops.nms | 24.7 | 0.50 |')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('| eval | coco |') && l.includes('peak RSS MiB 512')));
    assert.ok(lines.includes('Note: no torchvision'));
  });

  it('markdownTable: GFLOP and GFLOP/s as a share of the measured peak, where the work is known', () => {
    const stats = { runs: 3, medianMs: 20, minMs: 19, p90Ms: 21 };
    const report = {
      date: '2026-01-01T00:00:00Z',
      options: { quick: true, device: 'cpu', threads: 2, sections: ['ops'] },
      machine: { cpu: 'X', cores: 2, memoryGiB: 8, platform: 'linux', node: 'v20', torch: { torchVersion: '1.13.1' }, parallel: [], build: [], blasLibraries: [], loadAverage: [0, 0, 0] },
      peak: { gflops: 200, how: 'torch.mm 2048×2048, best of 5, 2 threads' },
      notices: [],
      rows: [
        { section: 'ops', name: 'roiAlign', ours: stats, flops: 2e9 },
        { section: 'ops', name: 'nms', ours: stats },
      ],
    } as unknown as Report;
    const text = markdownTable(report);
    assert.match(text, /Float32 peak 200 GFLOP\/s \(torch\.mm 2048×2048, best of 5, 2 threads\)\./);
    const lines = text.split('\n');
    assert.ok(lines.some((l) => l.startsWith('| ops | roiAlign | 20.0 (19.0–21.0) | — | — | — | 2 | 100 (50%) |')), text);
    assert.ok(lines.some((l) => l.startsWith('| ops | nms | 20.0 (19.0–21.0) | — | — | — | — | — |')), text);
  });

  it('maxBoxDifference: nearest box, whatever the order', () => {
    const reference = [0, 0, 10, 10, 20, 20, 40, 40];
    assert.strictEqual(maxBoxDifference([20, 20, 40, 40, 0, 0, 10, 10], reference), 0);
    assert.strictEqual(maxBoxDifference([20, 20, 40, 40.25], reference), 0.25);
    assert.strictEqual(maxBoxDifference([], reference), 0);
    assert.strictEqual(maxBoxDifference([0, 0, 10, 10], []), Infinity);
  });

  it('onnxRuntimeUnavailable: CPU only, and the install command when it does not resolve', () => {
    assert.match(onnxRuntimeUnavailable('cuda') ?? '', /runs on the CPU only, so its rows are skipped with --device cuda$/);
    const onCpu = onnxRuntimeUnavailable('cpu');
    if (onCpu !== undefined) assert.ok(onCpu.endsWith(`to add them: ${ONNXRUNTIME_INSTALL}`), onCpu);
  });

  it('measureNodeProcess: wall time and peak RSS; a failure is its last line of stderr', async function () {
    this.timeout(20_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-process-'));
    try {
      const script = path.join(dir, 'child.js');
      fs.writeFileSync(script, "if (process.argv[2] === 'fail') { console.error('warming up'); console.error('boom'); process.exit(3); } console.log('ok');");
      const run = await measureNodeProcess('child', script, []);
      assert.strictEqual(run.stdout, 'ok\n');
      assert.ok(run.ms > 0 && run.peakRssKiB > 1024, JSON.stringify(run));
      await assert.rejects(measureNodeProcess('child', script, ['fail']), /^Error: child: boom$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run.js --quick --only ops writes latest.json and latest.md', async function () {
    this.timeout(60_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
    try {
      const python = path.join(out, 'no-such-python3');
      const { code, stdout, stderr } = await runBench(['--quick', '--only', 'ops', '--python', python, '--threads', '1', '--out', out]);
      assert.strictEqual(code, 0, stderr);
      assert.match(stdout, /\| section \| case \|/);
      const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')) as Report;
      assert.ok(!Number.isNaN(Date.parse(report.date)));
      assert.deepStrictEqual(report.options, { quick: true, device: 'cpu', threads: 1, sections: ['ops'] });
      assert.strictEqual(report.machine.torch.intraOpThreads, 1);
      assert.ok(report.machine.cores >= 1 && report.machine.memoryGiB > 0 && report.machine.cpu.length > 0);
      assert.match(report.machine.torch.torchVersion, /^\d+\.\d+/);
      assert.ok(report.notices.some((n) => n.includes(`${python} not found; the torchvision comparisons are skipped`)), report.notices.join('\n'));
      assert.match(stderr, /no-such-python3 not found/, 'the notice is printed');
      const names = report.rows.map((r) => r.name);
      for (const expected of [/roiAlign forward/, /roiAlign backward/, /nms/]) assert.ok(names.some((n) => expected.test(n)), `${expected} in ${names}`);
      for (const r of report.rows.filter((r) => /roiAlign forward/.test(r.name))) assert.ok(r.flops! > 0, 'RoIAlign forward has its FLOPs without Python');
      for (const r of report.rows) {
        assert.strictEqual(r.section, 'ops');
        assert.ok(r.ours.runs === 3 && r.ours.minMs > 0 && r.ours.minMs <= r.ours.medianMs && r.ours.medianMs <= r.ours.p90Ms, JSON.stringify(r));
        assert.strictEqual(r.reference, undefined);
      }
      assert.strictEqual(fs.readFileSync(path.join(out, 'latest.md'), 'utf8'), stdout);
      assert.deepStrictEqual(fs.readdirSync(out).sort(), ['latest.json', 'latest.md'], 'no temporary files left');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('run.js rejects bad options with a one-line reason and exit status 2', async () => {
    const unknown = await runBench(['--only', 'nope']);
    assert.strictEqual(unknown.code, 2);
    assert.match(unknown.stderr, /^bench: --only: unknown section 'nope'/);
    assert.strictEqual(unknown.stderr.trim().split('\n').length, 1);
    const threads = await runBench(['--threads', '0']);
    assert.strictEqual(threads.code, 2);
    assert.match(threads.stderr, /--threads: expected an integer >= 1/);
  });

  it('run.js --device cuda explains why it cannot run on a build without CUDA', async function () {
    const { torchInfo } = await import('../../src/native');
    const info = torchInfo();
    if (info.cudaKernels && info.cudaAvailable) this.skip();
    const { code, stderr } = await runBench(['--device', 'cuda', '--quick', '--only', 'ops']);
    assert.strictEqual(code, 2);
    assert.match(stderr, /^bench: --device cuda: (this addon was built against a CPU-only LibTorch|no CUDA device is visible)/);
  });

  it('gpu_check.js (scripts/gpu-check.sh) refuses CUDA on a build without it, and unknown options, in one line', async function () {
    const gpuCheck = path.join(path.dirname(RUN), 'gpu_check.js');
    const { torchInfo } = await import('../../src/native');
    const info = torchInfo();
    if (!(info.cudaKernels && info.cudaAvailable)) {
      const cuda = await runBench(['--device', 'cuda'], gpuCheck);
      assert.strictEqual(cuda.code, 2);
      assert.match(cuda.stderr, /^gpu-check: --device cuda: (this addon was built without the CUDA kernels|no CUDA device is visible)/);
    }
    const unknown = await runBench(['--sizes', '800'], gpuCheck);
    assert.strictEqual(unknown.code, 2);
    assert.match(unknown.stderr, /^gpu-check: expected --device cpu\|cuda\[:N\] and --size PX, got '--sizes 800'\n$/);
  });
});
