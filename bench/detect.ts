// Section "detect": Detector.detectPixels() with R50-FPN at 800 px (short side), plain Faster R-CNN
// and IR R-CNN, next to torchvision's fasterrcnn_resnet50_fpn on the same image and threads, one
// row per batch size (images per call: by default 1 and 4, with the time per image).
// torchvision's model is built as for pretrained weights (FrozenBatchNorm, 3 trainable stages),
// filled from a seed, and saved; we load that file, so both run the same weights and keep the same
// boxes. With random weights nearly every class score is ~1/91, so the score threshold is set
// (on the Python side) to let about 1,000 (box, class) pairs into the final NMS, as a trained
// model at 0.05 would; post-processing cost depends on that number.
// The plain model has two more references, on the same weights and threshold: torchvision's model
// exported to ONNX and run by onnxruntime-node in its own process (bench/onnxruntime.ts), its boxes
// checked against torchvision's; and "load + 3 detects" as whole processes (start, loading the
// model, 3 detects of the image), ours next to torchvision's and onnxruntime-node's, with their
// peak RSS.
import * as fs from 'fs';
import * as path from 'path';
import { Detector } from '../src/detector';
import { timeReference } from './compare';
import type { BenchContext, Section } from './context';
import type { DetectProcessJob } from './detect_process';
import { peakGpuMemory, row, summarize, timeInterleaved, type BenchRow, type Plan, type Stats } from './harness';
import { testImage } from './inputs';
import { MODELS, cocoConfig } from './models';
import { maxBoxDifference, onnxRuntimeUnavailable } from './onnxruntime';
import { measureNodeProcess, type MeasuredProcess } from './process';
import { writeInputs } from './python';

const CANDIDATES = 1000;
const MAX_DETS = 100;
const DETECT_PROCESS = path.join(__dirname, 'detect_process.js');
/** onnxruntime-node's boxes farther than this from torchvision's make it no reference (a notice says so). */
const AGREEMENT_PX = 0.5;

/** The image and sizes every runtime of the section gets. */
interface Scene {
  image: { data: Uint8Array; width: number; height: number };
  /** The image's raw RGB bytes, for the detect processes. */
  imageFile: string;
  minSize: number;
  maxSize: number;
}

/** What torchvision's first run fixed for the other runtimes. */
interface Seeded {
  weights: string;
  scoreThreshold: number;
  /** Its boxes of the image, flattened (x1, y1, x2, y2). */
  boxes: number[];
}

export const detectSection: Section = async (context) => {
  const [minSize, maxSize] = context.quick ? [320, 533] : [800, 1333];
  const image = testImage(5, 640, 480);
  const scene: Scene = { image, imageFile: path.join(context.scratch, 'detect_image.rgb'), minSize, maxSize };
  fs.writeFileSync(scene.imageFile, image.data);
  const plan = context.quick ? { warmup: 1, repeats: 2 } : { warmup: 1, repeats: 5 };
  const weights = path.join(context.scratch, 'fasterrcnn_resnet50_fpn_seeded.pth');
  const size = `${image.width}×${image.height} → ${minSize} px`;
  const rows: BenchRow[] = [];
  let detectors: Detector[] | undefined;
  let seeded: Seeded | undefined;
  let onnx: string | undefined;
  // Each model's median 1-image call, which the larger batches' time per image is set against.
  let oneImageMs: number[] | undefined;
  for (const batch of context.batches.detect) {
    context.log(`detect: torchvision fasterrcnn_resnet50_fpn, ${batch} × ${image.width}×${image.height} → short side ${minSize}`);
    const ref = await timeReference(context, 'detect', 'torchvision fasterrcnn_resnet50_fpn', { image: imageTensor(scene) }, {
      op: 'detect', device: context.device, image: 'image', batch, seed: 0, minSize, maxSize, candidates: CANDIDATES, maxDets: MAX_DETS, weightsOut: weights, countFlops: true,
    }, plan);
    if (!ref) context.notice('detect: without the torchvision run the weights are our random init and the score threshold is the default 0.05');
    const scoreThreshold = ref ? (ref.answer.scoreThreshold as number) : undefined;
    if (ref && !seeded) {
      seeded = { weights, scoreThreshold: ref.answer.scoreThreshold as number, boxes: ref.answer.detections as number[] };
      onnx = await exportOnnx(context, scene, seeded);
    }
    const onnxRuntime = batch === 1 && seeded && onnx ? await timeOnnxRuntime(context, scene, seeded, onnx, plan) : undefined;

    // Both models loaded (once, from the first run's weights), then timed in alternation: the IR
    // module's share is the median of the paired differences, which a slow spell of the machine
    // does not bias.
    const options = { scoreThreshold, maxDetections: MAX_DETS };
    if (!detectors) {
      detectors = [];
      for (const { preset, label } of MODELS) {
        context.log(`detect: ours, ${label}`);
        detectors.push(
          await Detector.load({
            config: cocoConfig(preset, minSize, maxSize),
            weights: ref ? weights : undefined,
            // torchvision's file has no roi_heads.relation.*: the IR module keeps its own initialisation.
            allowMissing: true,
            device: context.device,
          }),
        );
      }
    }
    const images = Array.from({ length: batch }, () => image);
    const runs = detectors.map((d) => () => d.detectPixels(images, options));
    const boxes = await Promise.all(detectors.map(async (d) => (await d.detectPixels([image], options))[0].detections.length));
    const peaks = await peakGpuMemory(context, runs);
    const samples = await timeInterleaved(runs, plan);
    const [plain, relation] = samples.map(summarize);
    if (batch === 1) oneImageMs = [plain.medianMs, relation.medianMs];
    const share = summarize(samples[1].map((ms, i) => ms - samples[0][i])).medianMs / relation.medianMs;
    const name = (label: string) => `detect() R50-FPN ${label}, ${size}, ${batch} image${batch > 1 ? 's' : ''}`;
    const memory = (k: number) => ({
      ...(peaks && { 'peak GPU MiB': peaks[k] }),
      ...(ref?.answer.peakMiB !== undefined && { 'torchvision peak GPU MiB': ref.answer.peakMiB as number }),
    });
    // Below 1, a call of `batch` images costs less per image than 1-image calls.
    const perImage = (k: number, stats: Stats) =>
      batch === 1 ? {} : { 'ms per image': stats.medianMs / batch, ...(oneImageMs && { 'per image / 1-image call': (stats.medianMs / batch / oneImageMs[k]).toFixed(2) }) };
    rows.push(
      row('detect', name(MODELS[0].label), plain, ref?.reference, {
        ...(ref && { flops: batch * (ref.answer.flops as number) }),
        extra: {
          boxes: boxes[0],
          ...(ref && { 'torchvision boxes': ref.answer.boxes as number }),
          ...perImage(0, plain),
          ...(ref && batch > 1 && { 'torchvision ms per image': ref.reference.stats.medianMs / batch }),
          ...memory(0),
        },
      }),
      ...(onnxRuntime ? [row('detect', name(MODELS[0].label), plain, onnxRuntime.reference, { extra: { boxes: boxes[0], ...onnxRuntime.extra } })] : []),
      row('detect', name(MODELS[1].label), relation, ref?.reference, {
        extra: { boxes: boxes[1], 'IR module share': `${(share * 100).toFixed(1)}%`, ...perImage(1, relation), ...memory(1) },
      }),
    );
  }
  rows.push(...(await wholeProcessRows(context, scene, seeded, onnx)));
  return rows;
};

function imageTensor({ image }: Scene) {
  return { data: image.data, shape: [image.height, image.width, 3] };
}

/** torchvision's seeded model as an .onnx file in the scratch folder, or undefined with a notice saying why not. */
async function exportOnnx(context: BenchContext, scene: Scene, seeded: Seeded): Promise<string | undefined> {
  const unavailable = onnxRuntimeUnavailable(context.device);
  if (unavailable) {
    context.notice(unavailable);
    return undefined;
  }
  context.log("detect: torchvision's model exported to ONNX for onnxruntime-node");
  const file = path.join(context.scratch, 'fasterrcnn_resnet50_fpn_seeded.onnx');
  const exported = await timeReference(context, 'onnx export', 'torch.onnx.export', { image: imageTensor(scene) }, {
    op: 'export_onnx', image: 'image', seed: 0, minSize: scene.minSize, maxSize: scene.maxSize, maxDets: MAX_DETS,
    weightsIn: seeded.weights, scoreThreshold: seeded.scoreThreshold, onnxOut: file,
  }, { warmup: 0, repeats: 1 });
  return exported && file;
}

interface DetectProcessAnswer {
  samples: number[];
  detections: number[];
  version?: string;
}

/** One detect_process.js run of `runtime` on the scene, with `runs` detects: its answer and the process's wall time and peak RSS. */
async function runDetectProcess(
  context: BenchContext,
  scene: Scene,
  runtime: DetectProcessJob['runtime'],
  model: string | undefined,
  scoreThreshold: number | undefined,
  runs: Plan,
): Promise<{ answer: DetectProcessAnswer; process: MeasuredProcess }> {
  const { image, imageFile, minSize, maxSize } = scene;
  const job: DetectProcessJob = {
    runtime, model, image: { file: imageFile, width: image.width, height: image.height },
    threads: context.threads, device: context.device, minSize, maxSize, scoreThreshold, maxDetections: MAX_DETS, ...runs,
  };
  const jobFile = path.join(context.scratch, `detect_process_${runtime}.json`);
  fs.writeFileSync(jobFile, JSON.stringify(job));
  const run = await measureNodeProcess(`detect_process.js (${runtime})`, DETECT_PROCESS, [jobFile]);
  return { answer: JSON.parse(run.stdout.trim().split('\n').slice(-1)[0]) as DetectProcessAnswer, process: run };
}

/** onnxruntime-node's detect time on the exported model, with how its boxes compare with torchvision's; undefined, with a notice, when it fails. */
async function timeOnnxRuntime(context: BenchContext, scene: Scene, seeded: Seeded, onnx: string, plan: Plan) {
  context.log('detect: onnxruntime-node on the exported model');
  try {
    const { answer } = await runDetectProcess(context, scene, 'onnxruntime-node', onnx, undefined, plan);
    const [count, reference] = [answer.detections.length / 4, seeded.boxes.length / 4];
    const difference = maxBoxDifference(answer.detections, seeded.boxes);
    if (count !== reference || !(difference <= AGREEMENT_PX))
      context.notice(`onnxruntime-node: its boxes disagree with torchvision's (${count} against ${reference}, up to ${difference.toFixed(2)} px apart), so it is no reference`);
    return {
      reference: { name: `onnxruntime-node ${answer.version} (torchvision's model as ONNX, opset 11)`, stats: summarize(answer.samples) },
      extra: { 'onnxruntime-node boxes': count, 'torchvision boxes': reference, 'max box difference to torchvision px': +difference.toPrecision(2) },
    };
  } catch (error) {
    context.notice(`detect, onnxruntime-node: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * "load + 3 detects" of the plain model as whole processes, ours next to torchvision's and
 * onnxruntime-node's (when they run), a round of each in turn: wall time from spawn to exit, and
 * the largest peak RSS of the rounds. A reference that fails is left out with a notice.
 */
async function wholeProcessRows(context: BenchContext, scene: Scene, seeded: Seeded | undefined, onnx: string | undefined): Promise<BenchRow[]> {
  const three = { warmup: 0, repeats: 3 };
  const references: { name: string; short: string; start: () => Promise<MeasuredProcess>; runs: MeasuredProcess[]; failed?: boolean }[] = [];
  if (seeded && context.torchvision) {
    const torchvision = context.torchvision;
    const dir = path.join(context.scratch, 'detect_process_torchvision');
    writeInputs(dir, { image: imageTensor(scene) });
    const job = {
      op: 'detect', device: context.device, image: 'image', batch: 1, seed: 0, minSize: scene.minSize, maxSize: scene.maxSize, maxDets: MAX_DETS,
      weightsIn: seeded.weights, scoreThreshold: seeded.scoreThreshold, inputs: dir, ...three,
    };
    references.push({ name: 'torchvision fasterrcnn_resnet50_fpn, whole process', short: 'torchvision', start: async () => (await torchvision.measure(dir, job)).process, runs: [] });
  }
  if (seeded && onnx) {
    const model = onnx;
    references.push({
      name: 'onnxruntime-node, whole process',
      short: 'onnxruntime-node',
      start: async () => (await runDetectProcess(context, scene, 'onnxruntime-node', model, undefined, three)).process,
      runs: [],
    });
  }
  const rounds = context.quick ? 1 : 3;
  const ours: MeasuredProcess[] = [];
  for (let round = 0; round < rounds; round++) {
    context.log(`detect: load + 3 detects as whole processes, round ${round + 1} of ${rounds}`);
    ours.push((await runDetectProcess(context, scene, 'ir-rcnn', seeded?.weights, seeded?.scoreThreshold, three)).process);
    for (const reference of references.filter((r) => !r.failed)) {
      try {
        reference.runs.push(await reference.start());
      } catch (error) {
        context.notice(`detect, whole process: ${(error as Error).message}`);
        reference.failed = true;
      }
    }
  }
  const stats = (runs: MeasuredProcess[]) => summarize(runs.map((r) => r.ms));
  const peakMiB = (runs: MeasuredProcess[]) => Math.round(Math.max(...runs.map((r) => r.peakRssKiB)) / 1024);
  const name = `load + 3 detects, whole process, R50-FPN ${MODELS[0].label}, ${scene.image.width}×${scene.image.height} → ${scene.minSize} px`;
  const note = 'process start, loading the model, 3 detects of the image';
  const measured = references.filter((r) => !r.failed);
  if (measured.length === 0) return [row('detect', name, stats(ours), undefined, { extra: { 'peak RSS MiB': peakMiB(ours) }, note })];
  return measured.map((reference) =>
    row('detect', name, stats(ours), { name: reference.name, stats: stats(reference.runs) }, {
      extra: { 'peak RSS MiB': peakMiB(ours), [`${reference.short} peak RSS MiB`]: peakMiB(reference.runs) },
      note,
    }),
  );
}
