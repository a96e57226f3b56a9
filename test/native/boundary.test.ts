// The addon boundary under malformed calls: each yields a one-line IrRcnnError naming the
// argument, with its code, and the process stays alive (every failure is followed by a
// successful call).
import * as assert from 'assert';
import { execFile } from 'child_process';
import { isIrRcnnError, type IrRcnnErrorCode } from '../../src/errors';
import { addon, setNumThreads, torchInfo, type CpuCacheInfo } from '../../src/native';
import * as ops from '../../src/ops';

const boxes = () => ({ data: new Float32Array([0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30]), shape: [3, 4] });
const scores = () => ({ data: new Float32Array([0.9, 0.8, 0.7]), shape: [3] });

// The call that must still work after every failure.
async function stillAlive(): Promise<void> {
  const keep = await ops.nms({ boxes: boxes(), scores: scores(), iouThreshold: 0.5 });
  assert.deepStrictEqual(Array.from(keep.data), [0, 2]);
}

async function rejects(call: () => Promise<unknown>, message: RegExp, code: IrRcnnErrorCode = 'ERR_INVALID_ARGUMENT'): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(isIrRcnnError(error, code), `an IrRcnnError ${code}: ${String(error)} (${(error as { code?: string }).code})`);
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), `one line: ${JSON.stringify(error.message)}`);
    assert.ok(!/Exception raised from|frame #/.test(error.message), 'no C++ backtrace');
    return true;
  });
  await stillAlive();
}

describe('ops boundary: malformed calls', () => {
  it('data length that does not fill the shape', async () => {
    await rejects(() => ops.nms({ boxes: { data: new Float32Array(7), shape: [2, 4] }, scores: scores(), iouThreshold: 0.5 }),
      /^nms\.boxes: data has 7 elements but shape \[2, 4\] needs 8$/);
    await rejects(() => ops.roiAlign({ input: { data: new Float32Array(10), shape: [1, 1, 3, 3] }, rois: { data: new Float32Array(5), shape: [1, 5] } }),
      /roiAlign\.input: data has 10 elements/);
  });

  it('wrong dtype, and mixed dtypes', async () => {
    await rejects(() => ops.nms({ boxes: { data: new Int32Array(12), shape: [3, 4] } as never, scores: scores(), iouThreshold: 0.5 }),
      /nms\.boxes: expected a Float32Array or Float64Array, got an Int32Array/);
    await rejects(() => ops.boxIou({ boxes1: boxes(), boxes2: { data: new Float64Array(4), shape: [1, 4] } as never }), /boxIou: dtypes differ/);
    await rejects(() => ops.batchedNms({ boxes: boxes(), scores: scores(), idxs: { data: new Float32Array(3), shape: [3] } as never, iouThreshold: 0.5 }),
      /batchedNms\.idxs: expected an Int32Array or BigInt64Array/);
    await rejects(() => ops.nms({ boxes: { data: [0, 0, 1, 1], shape: [1, 4] } as never, scores: scores(), iouThreshold: 0.5 }),
      /nms\.boxes\.data: expected a typed array/);
  });

  it('wrong rank or sizes', async () => {
    await rejects(() => ops.nms({ boxes: { data: new Float32Array(4), shape: [4] }, scores: scores(), iouThreshold: 0.5 }),
      /nms\.boxes: expected shape \[\*, 4\], got \[4\]/);
    await rejects(() => ops.nms({ boxes: boxes(), scores: { data: new Float32Array(2), shape: [2] }, iouThreshold: 0.5 }),
      /nms\.scores: expected shape \[3\], got \[2\]/);
    await rejects(() => ops.roiAlign({ input: { data: new Float32Array(9), shape: [3, 3] }, rois: { data: new Float32Array(5), shape: [1, 5] } }),
      /roiAlign\.input: expected shape \[\*, \*, \*, \*\]/);
    await rejects(() => ops.decodeBoxes({ deltas: { data: new Float32Array(6), shape: [1, 6] }, boxes: { data: new Float32Array(4), shape: [1, 4] } }),
      /decodeBoxes\.deltas: expected \[N, 4\*C\]/);
    await rejects(() => ops.roiAlignBackward({ gradOutput: { data: new Float32Array(4), shape: [1, 1, 2, 2] }, rois: { data: new Float32Array(5), shape: [1, 5] }, inputShape: [1, 2, 4, 4] }),
      /roiAlignBackward: gradient must be \[1, 2, 2, 2\]/);
  });

  it('a device that is not there, or not a device', async () => {
    await rejects(() => ops.nms({ boxes: boxes(), scores: scores(), iouThreshold: 0.5, device: 'gpu' }),
      /^nms\.device 'gpu': expected 'cpu', 'cuda' or 'cuda:N'$/, 'ERR_DEVICE');
    if (!torchInfo().cudaAvailable)
      await rejects(() => ops.boxIou({ boxes1: boxes(), boxes2: boxes(), device: 'cuda' }), /^boxIou\.device 'cuda': CUDA is not available/, 'ERR_DEVICE');
    const onCpu = await ops.nms({ boxes: boxes(), scores: scores(), iouThreshold: 0.5, device: 'cpu' });
    assert.deepStrictEqual(Array.from(onCpu.data), [0, 2]);
  });

  it('NaN or Inf in boxes', async () => {
    await rejects(() => ops.nms({ boxes: { data: new Float32Array([NaN, 0, 1, 1]), shape: [1, 4] }, scores: { data: new Float32Array([1]), shape: [1] }, iouThreshold: 0.5 }),
      /^nms\.boxes: contains NaN or Inf$/);
    const input = { data: new Float32Array(16), shape: [1, 1, 4, 4] };
    await rejects(() => ops.roiAlign({ input, rois: { data: new Float32Array([0, 0, 0, Infinity, 2]), shape: [1, 5] } }), /roiAlign\.rois: contains NaN or Inf/);
    await rejects(() => ops.encodeBoxes({ reference: { data: new Float32Array([0, 0, NaN, 1]), shape: [1, 4] }, proposals: { data: new Float32Array([0, 0, 1, 1]), shape: [1, 4] } }),
      /encodeBoxes\.reference: contains NaN or Inf/);
  });

  it('bad numbers and RoI batch indices', async () => {
    const input = { data: new Float32Array(16), shape: [1, 1, 4, 4] };
    await rejects(() => ops.roiAlign({ input, rois: { data: new Float32Array([1, 0, 0, 2, 2]), shape: [1, 5] } }), /roiAlign: rois\[:, 0\] must be integer batch indices in \[0, 1\)/);
    await rejects(() => ops.roiAlign({ input, rois: { data: new Float32Array([0, 0, 0, 2, 2]), shape: [1, 5] }, outputSize: 0 }), /roiAlign\.outputSize: expected an integer >= 1/);
    await rejects(() => ops.roiAlign({ input, rois: { data: new Float32Array([0, 0, 0, 2, 2]), shape: [1, 5] }, spatialScale: -1 }), /roiAlign\.spatialScale: expected a positive number/);
    await rejects(() => ops.nms({ boxes: boxes(), scores: scores() } as never), /iouThreshold: required/);
    await rejects(() => ops.nms({ boxes: boxes(), scores: scores(), iouThreshold: '0.5' } as never), /iouThreshold: expected a number/);
    await rejects(() => ops.clipBoxes({ boxes: boxes(), height: -1, width: 5 }), /^clipBoxes\.height: expected an integer >= 0$/);
    await rejects(() => ops.encodeBoxes({ reference: boxes(), proposals: boxes(), weights: [1, 1, 0, 1] }), /encodeBoxes\.weights\[2\]: expected a positive number/);
    await rejects(() => ops.multiScaleRoiAlign({ features: [input], boxes: [], imageSizes: [[16, 16]] }), /multiScaleRoiAlign\.boxes: 0 box lists for a batch of 1/);
  });

  it('non-object arguments, through the wrappers and straight to the addon', async () => {
    await rejects(() => ops.nms(null as never), /^nms: expected an options object$/);
    await rejects(() => ops.boxIou(42 as never), /^boxIou: expected an options object$/);
    await rejects(() => ops.nms({ boxes: 'boxes', scores: scores(), iouThreshold: 0.5 } as never), /nms\.boxes: expected a tensor \{ data, shape \}/);
    const raw = addon();
    for (const name of ['roiAlign', 'roiAlignBackward', 'multiScaleRoiAlign', 'nms', 'batchedNms', 'boxIou', 'encodeBoxes', 'decodeBoxes', 'clipBoxes', 'removeSmallBoxes']) {
      assert.throws(() => raw[name](), (e: Error) => isIrRcnnError(e, 'ERR_INVALID_ARGUMENT') && e.message === `${name}: expected an options object`);
      assert.throws(() => raw[name]({ boxes: { data: new Float32Array(1), shape: [-1] } }), (e: Error) => isIrRcnnError(e, 'ERR_INVALID_ARGUMENT'));
      await stillAlive();
    }
  });

  it('unknown or missing options', async () => {
    await rejects(() => ops.nms({ boxes: boxes(), scores: scores(), iouThresh: 0.5 } as never), /^nms\.iouThreshold: required$/);
    await rejects(() => ops.nms({ boxes: boxes(), scores: scores(), iouThreshold: 0.5, iouThresh: 0.5 } as never), /^nms: unknown option 'iouThresh'$/);
    await rejects(() => ops.roiAlign({ input: { data: new Float32Array(16), shape: [1, 1, 4, 4] }, rois: { data: new Float32Array(0), shape: [0, 5] }, scale: 2 } as never),
      /^roiAlign: unknown option 'scale'$/);
  });

  it('empty tensors are valid input', async () => {
    const none = { data: new Float32Array(0), shape: [0, 4] };
    assert.deepStrictEqual((await ops.nms({ boxes: none, scores: { data: new Float32Array(0), shape: [0] }, iouThreshold: 0.5 })).shape, [0]);
    assert.deepStrictEqual((await ops.boxIou({ boxes1: none, boxes2: boxes() })).shape, [0, 3]);
    const pooled = await ops.roiAlign({ input: { data: new Float32Array(0), shape: [1, 2, 0, 0] }, rois: { data: new Float32Array(0), shape: [0, 5] }, outputSize: [2, 3] });
    assert.deepStrictEqual(pooled.shape, [0, 2, 2, 3]);
    assert.deepStrictEqual((await ops.decodeBoxes({ deltas: { data: new Float32Array(0), shape: [0, 8] }, boxes: none })).shape, [0, 2, 4]);
    assert.deepStrictEqual((await ops.removeSmallBoxes({ boxes: none, minSize: 1 })).shape, [0]);
    await stillAlive();
  });
});

describe('threads', () => {
  it('setNumThreads sets the intra-op count, and the addon\'s own kernels run on those threads', () => {
    const before = torchInfo().intraOpThreads;
    try {
      setNumThreads(1);
      assert.strictEqual(torchInfo().intraOpThreads, 1);
      assert.throws(() => setNumThreads(0), (e: Error) => isIrRcnnError(e, 'ERR_INVALID_ARGUMENT') && /^setNumThreads: expected an integer in \[1, 1024\]$/.test(e.message));
    } finally {
      setNumThreads(before);
    }
    // An addon built without -fopenmp against an OpenMP LibTorch compiles at::parallel_for to a
    // serial loop: RoIAlign, NMS, the top-K graph and the sparse product would use one core.
    assert.strictEqual(torchInfo().parallelKernels, true, torchInfo().parallelInfo);
  });
});

describe('CPU block cache', () => {
  const runChild = (env: Record<string, string>) =>
    new Promise<CpuCacheInfo>((resolve, reject) => {
      const script = `
        const ops = require(${JSON.stringify(require.resolve('../../src/ops'))});
        const { torchInfo } = require(${JSON.stringify(require.resolve('../../src/native'))});
        const input = { data: new Float32Array(2 * 64 * 64 * 64).fill(1), shape: [2, 64, 64, 64] };
        const rois = { data: Float32Array.from([0, 0, 0, 32, 32, 1, 8, 8, 60, 60]), shape: [2, 5] };
        ops.roiAlign({ input, rois, outputSize: [7, 7], spatialScale: 1, samplingRatio: 2, aligned: true })
          .then((out) => { if (Math.abs(out.data[0] - 1) > 1e-6) throw new Error('wrong result'); console.log(JSON.stringify(torchInfo().cpuCache)); })
          .catch((e) => { console.error(e.message); process.exitCode = 1; });`;
      execFile(process.execPath, ['-e', script], { env: { ...process.env, IR_RCNN_CPU_CACHE_MB: undefined, LOCAL_WORLD_SIZE: undefined, ...env } }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout)),
      );
    });

  it('keeps freed large blocks for reuse, within its cap, shared among a machine\'s workers, and can be turned off', async () => {
    const alone = await runChild({});
    assert.ok(alone.capacityBytes > 0 && alone.capacityBytes <= 4 * 2 ** 30, `default cap ${alone.capacityBytes}`);
    assert.ok(alone.cachedBytes <= alone.capacityBytes);
    // A 2 MiB input copied in and freed: the block stays cached.
    const roomy = await runChild({ IR_RCNN_CPU_CACHE_MB: '64' });
    assert.strictEqual(roomy.capacityBytes, 64 * 2 ** 20);
    assert.ok(roomy.cachedBytes >= 2 * 2 ** 20 && roomy.cachedBytes <= roomy.capacityBytes, JSON.stringify(roomy));
    // A cap smaller than the block: nothing is kept, and the op still works.
    const tight = await runChild({ IR_RCNN_CPU_CACHE_MB: '1' });
    assert.deepStrictEqual([tight.capacityBytes, tight.cachedBytes], [2 ** 20, 0]);
    const off = await runChild({ IR_RCNN_CPU_CACHE_MB: '0' });
    assert.deepStrictEqual([off.capacityBytes, off.cachedBytes], [0, 0]);
    // Four training workers on one machine share the default cap.
    const worker = await runChild({ LOCAL_WORLD_SIZE: '4' });
    assert.strictEqual(worker.capacityBytes, Math.floor(alone.capacityBytes / 4));
  });
});
