// The parity half of scripts/gpu-check.sh: every op, detect() of R50-FPN and IR R-CNN, and a
// training step with the IR module, each run on the device under test and on the CPU, and
// compared. On a GPU that is the CUDA-vs-CPU parity. With --device cpu (the script's --cpu) both
// sides run on the CPU: that proves the build and this harness, not the CUDA kernels.
//
//   node dist/bench/gpu_check.js --device cuda|cpu [--size 800]
//
// One line per check on stdout; the exit code is 1 when any check failed.
import * as path from 'path';
import { resolveConfig } from '../src/config';
import { Random } from '../src/data/random';
import { Detector } from '../src/detector';
import { decodeRgb } from '../src/image';
import { torchInfo } from '../src/native';
import * as ops from '../src/ops';
import { buildTopKGraph, relationForward, relationPropagate } from '../src/relation';
import { NativeTrainer } from '../src/train/native_trainer';
import { seededStateDict } from '../test/support/model_seeded_weights';
import { relativeDifference } from '../test/support/relative_difference';
import { clusteredBoxes, randomBoxes, randomFloats, randomRois, randomScores, testImage, trainTarget } from './inputs';
import { MODELS, cocoConfig } from './models';
import type { Detection, FloatTensor, Tensor } from '../src/types';

type Check = { name: string; run: () => Promise<string> };

class Mismatch extends Error {}

function close(what: string, actual: ArrayLike<number>, reference: ArrayLike<number>, tolerance: number): string {
  const diff = actual.length === reference.length ? relativeDifference(actual, reference) : Infinity;
  if (!(diff <= tolerance)) throw new Mismatch(`${what}: relative difference ${diff.toExponential(2)} > ${tolerance}`);
  return `${what} ${diff.toExponential(1)}`;
}

function equal(what: string, actual: ArrayLike<number>, reference: ArrayLike<number>): string {
  const differs = actual.length !== reference.length || Array.from(reference).some((v, i) => actual[i] !== v);
  if (differs) throw new Mismatch(`${what}: ${actual.length} values differ from the CPU's ${reference.length}`);
  return `${what} equal (${reference.length})`;
}

/** Runs `op` with the CPU and with `device`, and compares the two results with `compare`. */
function opCheck<R>(name: string, device: string, op: (device: string) => Promise<R>, compare: (dut: R, cpu: R) => string[]): Check {
  return { name, run: async () => compare(await op(device), await op('cpu')).join(', ') };
}

/** Features whose Φ(f)Φ(f)ᵀ (Φ = identity) makes node 0 every node's top neighbour (see test/native/relation.test.ts). */
function hubFeatures(n: number, dim: number): FloatTensor {
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) data[i * dim + d] = i === 0 ? 1 : d === i % dim ? 0.5 : 0;
  return { data, shape: [n, dim] };
}

function opChecks(device: string): Check[] {
  const input = randomFloats(1, [2, 64, 50, 68]);
  const rois = randomRois(2, 512, 2, 272, 200);
  const roi = { input, rois, spatialScale: 0.25, outputSize: 7 };
  const gradOutput = randomFloats(3, [512, 64, 7, 7]);
  const levels = [64, 32, 16, 8].map((side, l) => randomFloats(10 + l, [1, 32, side, side]));
  const boxes = clusteredBoxes(5, 3000, 30, 800, 600);
  const scores = randomScores(6, 3000);
  const random = new Random(7);
  const idxs = { data: Int32Array.from({ length: 3000 }, () => random.int(0, 9)), shape: [3000] };
  const pairs = randomBoxes(8, 300, 800, 600);
  const deltas = randomFloats(9, [300, 8], 0.5);
  const n = 300;
  const topkScores = randomFloats(20, [n, n]);
  const keep = { data: Uint8Array.from({ length: n * n }, () => (random.next() < 0.8 ? 1 : 0)), shape: [n, n] };

  // The sparse product with a hub row: node 0 pairs with every node both ways, far beyond 2K
  // entries per row, as the symmetrised union of two top-K graphs can give.
  const entries: [number, number][] = [];
  for (let i = 1; i < n; i++) entries.push([0, i], [i, 0], [i, (i * 7) % n]);
  const propagate = {
    rows: Int32Array.from(entries, ([r]) => r),
    cols: Int32Array.from(entries, ([, c]) => c),
    values: randomFloats(21, [entries.length]).data,
    input: randomFloats(22, [n, 256]),
    gradOutput: randomFloats(23, [n, 256]),
  };
  const hub = { n: 160, dim: 64, k: 2 };
  // 10 px boxes in a row, 30 px apart: no two overlap, so δ keeps every pair.
  const hubBoxes = { data: new Float32Array(hub.n * 4), shape: [hub.n, 4] };
  for (let i = 0; i < hub.n; i++) hubBoxes.data.set([30 * i, 0, 30 * i + 10, 10], 4 * i);
  const hubLabels = Int32Array.from({ length: hub.n }, (_, i) => i % 5);

  return [
    opCheck('roiAlign forward', device, (d) => ops.roiAlign({ ...roi, samplingRatio: 2, aligned: true, device: d }), (a, b) => [close('output', a.data, b.data, 1e-5)]),
    opCheck('roiAlign forward, adaptive sampling', device, (d) => ops.roiAlign({ ...roi, device: d }), (a, b) => [close('output', a.data, b.data, 1e-5)]),
    opCheck('roiAlign backward', device, (d) => ops.roiAlignBackward({ gradOutput, rois, inputShape: [2, 64, 50, 68], spatialScale: 0.25, samplingRatio: 2, aligned: true, device: d }),
      (a, b) => [close('gradInput', a.data, b.data, 1e-4)]),
    opCheck('multiScaleRoiAlign', device, (d) => ops.multiScaleRoiAlign({ features: levels, boxes: [randomBoxes(12, 400, 256, 256)], imageSizes: [[256, 256]], device: d }),
      (a, b) => [close('output', a.data, b.data, 1e-5)]),
    opCheck('nms', device, (d) => ops.nms({ boxes, scores, iouThreshold: 0.7, device: d }), (a, b) => [equal('kept', a.data, b.data)]),
    opCheck('batchedNms', device, (d) => ops.batchedNms({ boxes, scores, idxs, iouThreshold: 0.5, device: d }), (a, b) => [equal('kept', a.data, b.data)]),
    opCheck('boxIou', device, (d) => ops.boxIou({ boxes1: pairs, boxes2: boxes, device: d }), (a, b) => [close('iou', a.data, b.data, 1e-6)]),
    opCheck('encodeBoxes / decodeBoxes', device, async (d) => [
      await ops.encodeBoxes({ reference: pairs, proposals: randomBoxes(13, 300, 800, 600), weights: [10, 10, 5, 5], device: d }),
      await ops.decodeBoxes({ deltas, boxes: pairs, weights: [10, 10, 5, 5], device: d }),
    ], (a, b) => [close('encoded', a[0].data, b[0].data, 1e-5), close('decoded', a[1].data, b[1].data, 1e-6)]),
    opCheck('clipBoxes / removeSmallBoxes', device, async (d) => [
      (await ops.clipBoxes({ boxes, height: 500, width: 700, device: d })).data,
      (await ops.removeSmallBoxes({ boxes, minSize: 40, device: d })).data,
    ], (a, b) => [close('clipped', a[0], b[0], 0), equal('kept', a[1], b[1])]),
    opCheck('top-K graph', device, (d) => buildTopKGraph(topkScores, keep, 16, { device: d }),
      (a, b) => [equal('rowPtr', a.rowPtr.data, b.rowPtr.data), equal('cols', a.cols.data, b.cols.data)]),
    opCheck('sparse product P·X with a hub row, forward + backward', device, (d) => relationPropagate({ ...propagate, device: d }),
      (a, b) => [close('output', a.output.data, b.output.data, 1e-5), close('gradInput', a.gradInput.data, b.gradInput.data, 1e-5),
        close('gradValues', a.gradValues.data, b.gradValues.data, 1e-5)]),
    opCheck(`IR module with a hub node (N ${hub.n}, K ${hub.k}), forward + backward`, device, (d) => relationForward({
      features: hubFeatures(hub.n, hub.dim), boxes: hubBoxes, options: { k: hub.k, spatial: false }, weights: hubWeights(hub.dim),
      labels: hubLabels, gradOutput: randomFloats(24, [hub.n, hub.dim]), device: d,
    }), (a, b) => {
      const hubEntries = Array.from(b.graph.src.data).filter((s) => s === 0).length;
      if (hubEntries <= 2 * hub.k) throw new Mismatch(`the hub row has ${hubEntries} entries, not more than 2K`);
      return [`hub row ${hubEntries} entries`, equal('edges', a.graph.dst.data, b.graph.dst.data), close('features', a.features.data, b.features.data, 1e-4),
        close('gradient of features', a.gradients!.features.data, b.gradients!.features.data, 1e-3)];
    }),
  ];
}

/** Φ = identity (with its ReLU), as in the hub test of test/native/relation.test.ts; GCN weights seeded. */
function hubWeights(dim: number): Record<string, FloatTensor> {
  const identity = { data: Float32Array.from({ length: dim * dim }, (_, e) => (e % (dim + 1) === 0 ? 1 : 0)), shape: [dim, dim] };
  const zeros = { data: new Float32Array(dim), shape: [dim] };
  return {
    'phi.0.weight': identity, 'phi.0.bias': zeros, 'phi.2.weight': identity, 'phi.2.bias': zeros,
    'gcn.0.weight': randomFloats(25, [dim, dim], 0.1), 'gcn.1.weight': randomFloats(26, [dim, dim], 0.1),
  };
}

const SCORE_THRESHOLD = 0.05;
// A detection this close to the score threshold may fall on either side of it on another device.
const SCORE_MARGIN = 0.01;

function iou(a: Detection['bbox'], b: Detection['bbox']): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, w) * Math.max(0, h);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/** Every detection clear of the threshold on one side has one of the same class at IoU ≥ 0.99 on the other. */
function sameDetections(dut: Detection[], cpu: Detection[]): string {
  if (cpu.length === 0) throw new Mismatch('the CPU found no detections to compare');
  let worstIou = 1;
  let worstScore = 0;
  for (const [from, to, side] of [[cpu, dut, 'CPU'], [dut, cpu, 'device']] as const) {
    for (const [i, d] of from.entries()) {
      if (d.score < SCORE_THRESHOLD + SCORE_MARGIN) continue;
      const match = to.filter((o) => o.categoryId === d.categoryId).map((o) => ({ o, overlap: iou(o.bbox, d.bbox) })).sort((x, y) => y.overlap - x.overlap)[0];
      if (!match || match.overlap < 0.99) throw new Mismatch(`${side} detection ${i} (class ${d.categoryId}, score ${d.score.toFixed(3)}) has no match at IoU ≥ 0.99`);
      worstIou = Math.min(worstIou, match.overlap);
      worstScore = Math.max(worstScore, Math.abs(match.o.score - d.score));
    }
  }
  return `${cpu.length} / ${dut.length} detections, lowest IoU ${worstIou.toFixed(5)}, largest score difference ${worstScore.toExponential(1)}`;
}

function detectChecks(device: string, size: number): Check[] {
  return MODELS.map(({ preset, label }) => ({
    name: `detect() R50-FPN ${label}, ${size} px`,
    run: async () => {
      const config = cocoConfig(preset, size, Math.round((size * 1333) / 800));
      const cpu = await Detector.load({ config, device: 'cpu' });
      const weights = seededStateDict(cpu.stateShapes());
      await cpu.loadState(weights);
      const dut = await Detector.load({ config, device });
      await dut.loadState(weights);
      const image = await decodeRgb(path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'model', 'image.png'));
      const options = { scoreThreshold: SCORE_THRESHOLD };
      return sameDetections((await dut.detectPixels([image], options))[0].detections, (await cpu.detectPixels([image], options))[0].detections);
    },
  }));
}

/** One SGD step of IR R-CNN R50-FPN (batch 2) on `device`, FP32 or AMP, next to the CPU's FP32 step. */
function trainChecks(device: string, size: number): Check[] {
  const config = cocoConfig('ir_rcnn_r50_fpn_coco', size, Math.round((size * 1333) / 800));
  const images = [testImage(8, 640, 480), testImage(9, 640, 480)];
  const batch = [{ images, targets: images.map((im, i) => trainTarget(30 + i, im.width, im.height)) }];
  const step = async (on: string, amp: boolean, initialWeights: Record<string, Tensor>) => {
    const trainer = await NativeTrainer.create({
      model: 'detector', modelConfig: resolveConfig(config).model, initialWeights, numClasses: 91,
      // A small lr: the seeded weights give large losses, and the step only has to be compared.
      lr: 1e-5, momentum: 0.9, weightDecay: 1e-4, warmupFactor: 1, warmupIters: 0, milestones: [], gamma: 0.1, clipGradNorm: 0,
      amp, device: on, seed: 0,
    });
    try {
      return await trainer.step(batch);
    } finally {
      await trainer.dispose();
    }
  };
  let reference: Promise<{ weights: Record<string, Tensor>; losses: Record<string, number> }> | undefined;
  const cpuStep = () =>
    (reference ??= (async () => {
      const shapes = (await Detector.load({ config, device: 'cpu' })).stateShapes();
      const weights = Object.fromEntries(seededStateDict(shapes));
      const result = await step('cpu', false, weights);
      if (!result.finite) throw new Mismatch(`the CPU step has a non-finite loss: ${JSON.stringify(result.losses)}`);
      return { weights, losses: result.losses };
    })());
  const compare = (amp: boolean, tolerance: number): Check => ({
    name: `train step IR R-CNN R50-FPN, 2 images → ${size} px, ${amp ? 'AMP' : 'FP32'}`,
    run: async () => {
      const cpu = await cpuStep();
      const result = await step(device, amp, cpu.weights);
      if (!result.finite) throw new Mismatch(`non-finite loss: ${JSON.stringify(result.losses)}`);
      const terms = Object.keys(cpu.losses);
      const worst = terms.map((t) => ({ t, diff: Math.abs(result.losses[t] - cpu.losses[t]) / Math.max(Math.abs(cpu.losses[t]), 1e-3) })).sort((a, b) => b.diff - a.diff)[0];
      if (!(worst.diff <= tolerance)) throw new Mismatch(`${worst.t} ${result.losses[worst.t]} vs the CPU's ${cpu.losses[worst.t]} (relative ${worst.diff.toExponential(2)} > ${tolerance})`);
      return `loss ${result.losses.loss.toFixed(4)} (CPU ${cpu.losses.loss.toFixed(4)}), largest relative difference ${worst.diff.toExponential(1)} (${worst.t})`;
    },
  });
  // FP32 on a GPU differs from the CPU by TF32 convolutions (cuDNN's default) and atomics; AMP by
  // FP16 arithmetic.
  const checks = [compare(false, 1e-2)];
  if (device !== 'cpu') checks.push(compare(true, 5e-2));
  return checks;
}

async function main(): Promise<number> {
  const options: Record<string, string> = { '--device': 'cuda', '--size': '800' };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 2) {
    if (!(args[i] in options) || args[i + 1] === undefined) throw new Error(`expected --device cpu|cuda[:N] and --size PX, got '${args.slice(i).join(' ')}'`);
    options[args[i]] = args[i + 1];
  }
  const device = options['--device'];
  const size = Number(options['--size']);
  if (!Number.isInteger(size) || size < 64) throw new Error(`--size: expected an integer >= 64, got '${options['--size']}'`);
  const info = torchInfo();
  if (device !== 'cpu' && !(info.cudaKernels && info.cudaAvailable))
    throw new Error(`--device ${device}: ${info.cudaKernels ? 'no CUDA device is visible' : `this addon was built without the CUDA kernels (LibTorch ${info.torchVersion})`}`);
  process.stdout.write(`gpu-check parity: device ${device} against cpu; LibTorch ${info.torchVersion}, CUDA kernels ${info.cudaKernels}, ${info.cudaDevices} CUDA device(s)\n`);
  if (device === 'cpu')
    process.stdout.write('gpu-check parity: --device cpu compares the CPU with itself: it proves the build and the harness, not CUDA; the AMP step is CUDA-only and skipped\n');
  if (device !== 'cpu') process.stdout.write('gpu-check parity: the AMP step also exercises the top-K builder on Half scores\n');

  let failures = 0;
  for (const check of [...opChecks(device), ...detectChecks(device, size), ...trainChecks(device, size)]) {
    const start = Date.now();
    try {
      const detail = await check.run();
      process.stdout.write(`ok    ${check.name}: ${detail} (${Date.now() - start} ms)\n`);
    } catch (error) {
      failures++;
      process.stdout.write(`FAIL  ${check.name}: ${(error as Error).message.split('\n')[0]}\n`);
    }
  }
  process.stdout.write(failures ? `gpu-check parity: ${failures} check(s) failed\n` : 'gpu-check parity: every check passed\n');
  return failures ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`gpu-check: ${(error as Error).message.split('\n')[0]}\n`);
    process.exitCode = 2;
  },
);
