// IR R-CNN fine-tuned from a Faster R-CNN R50-FPN checkpoint at the paper's learning rate: the
// check that the relation module neither blows up nor disturbs the detector it is added to.
//
//   node dist/bench/ir_finetune.js --weights FRCNN.pth [--iterations 200] [--size 512] [--out DIR]
//
// 1. First-step losses (Detector.losses, one seeded batch) of the Faster R-CNN and of IR R-CNN
//    built on the same weights: the detection losses must agree (the module starts as the
//    identity) and loss_relation must start near ln 2.
// 2. IR R-CNN, then Faster R-CNN, trained from those weights for `iterations` steps of 2 images on
//    a synthetic set of `size`-pixel images at lr 0.02 (linear warm-up over the first 100 steps,
//    gradients clipped at norm 10):
//    IR R-CNN's losses all finite and its detection loss lower at the end than at the start; the
//    Faster R-CNN run is the reference for what the recipe does without the module.
// Prints one JSON document with the figures; exits 1 when a check fails.
import * as fs from 'fs';
import * as path from 'path';
import { resolveConfig, type ConfigInput } from '../src/config';
import { generateSyntheticDataset } from '../src/data/synthetic';
import { Detector } from '../src/detector';
import { train } from '../src/train/train';
import { randomBoxes, testImage } from './inputs';

const DETECTION_LOSSES = ['loss_classifier', 'loss_box_reg', 'loss_objectness', 'loss_rpn_box_reg'];
// Gradient-norm clipping for both models: from an untrained (seeded) checkpoint the Faster R-CNN
// alone diverges at 2 images a step once the warm-up passes lr 0.005 (measured: loss 52 → 1e31
// over iterations 25–29); a trained checkpoint, as users start from, does not need it.
const CLIP = 10;

function option(name: string, fallback?: string): string {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? process.argv[at + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const detectionLoss = (losses: Record<string, number>): number => DETECTION_LOSSES.reduce((sum, key) => sum + losses[key], 0);
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

async function main(): Promise<void> {
  const weights = option('weights');
  const iterations = Number(option('iterations', '200'));
  const size = Number(option('size', '512'));
  const outDir = option('out', 'ir-finetune');
  const model = (preset: string): ConfigInput => ({ ...resolveConfig(preset, { model: { numClasses: 91, categoryIds: undefined, minSize: size, maxSize: size } }) });

  // 1. The first step, both models on one seeded batch: an image with three boxes.
  const image = testImage(3, size, size);
  const target = { boxes: randomBoxes(5, 3, size, size, 24, 160).data, labels: new Int32Array([1, 3, 1]), crowdBoxes: new Float32Array(0) };
  const first: Record<string, Record<string, number>> = {};
  for (const preset of ['faster_rcnn_r50_fpn_coco', 'ir_rcnn_r50_fpn_coco']) {
    const detector = await Detector.load({ config: model(preset), weights, allowMissing: true });
    first[preset] = await detector.losses([image], [target], { seed: 0 });
  }
  const [baseline, ir] = [first.faster_rcnn_r50_fpn_coco, first.ir_rcnn_r50_fpn_coco];
  const firstStepDifference = Math.max(...DETECTION_LOSSES.map((key) => Math.abs(ir[key] - baseline[key]) / Math.abs(baseline[key])));

  // 2. Fine-tuning at the paper's lr, the Faster R-CNN first as the reference for the same recipe.
  const data = await generateSyntheticDataset({ out: path.join(outDir, 'data'), images: 200, valImages: 1, size, seed: 0 });
  const fineTune = async (preset: string) => {
    const runDir = path.join(outDir, preset);
    fs.rmSync(runDir, { recursive: true, force: true });
    const config = resolveConfig(model(preset), {
      train: { iterations, imagesPerBatch: 2, lr: 0.02, warmupIters: 100, warmupFactor: 1 / 1000, milestones: [], clipGradNorm: CLIP, checkpointEvery: iterations, seed: 0 },
    });
    const started = Date.now();
    let failure: string | undefined;
    try {
      await train({ config, data: { annotations: data.trainAnnotations, images: data.trainImages }, outDir: runDir, weights });
    } catch (error) {
      failure = (error as Error).message;
    }
    const records = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { losses?: Record<string, number> });
    const losses = records.filter((r) => r.losses).map((r) => r.losses as Record<string, number>);
    const window = Math.min(20, Math.floor(losses.length / 2));
    return {
      iterations: losses.length, seconds: (Date.now() - started) / 1000, failure,
      detectionLossFirst20: mean(losses.slice(0, window).map(detectionLoss)),
      detectionLossLast20: mean(losses.slice(-window).map(detectionLoss)),
      relationLossFirst20: mean(losses.slice(0, window).map((l) => l.loss_relation ?? 0)),
      relationLossLast20: mean(losses.slice(-window).map((l) => l.loss_relation ?? 0)),
      last: losses[losses.length - 1],
    };
  };
  const irRcnn = await fineTune('ir_rcnn_r50_fpn_coco');
  const fasterRcnn = await fineTune('faster_rcnn_r50_fpn_coco');
  const report = {
    firstStep: { fasterRcnn: baseline, irRcnn: ir, detectionLossesMaxRelativeDifference: firstStepDifference },
    training: { imagesPerBatch: 2, size, lr: 0.02, warmupIters: 100, clipGradNorm: CLIP, irRcnn, fasterRcnn },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const problems = [
    firstStepDifference > 0.01 && `first-step detection losses differ by ${(100 * firstStepDifference).toFixed(2)}%`,
    Math.abs(ir.loss_relation - Math.LN2) > 0.1 && `first loss_relation ${ir.loss_relation} is not near ln 2`,
    irRcnn.failure,
    irRcnn.iterations < iterations && `IR R-CNN ran ${irRcnn.iterations} of ${iterations} iterations`,
    !(irRcnn.detectionLossLast20 < irRcnn.detectionLossFirst20) &&
      `IR R-CNN's detection loss did not fall (${irRcnn.detectionLossFirst20} → ${irRcnn.detectionLossLast20})`,
  ].filter(Boolean);
  if (problems.length) {
    process.stderr.write(`ir_finetune: ${problems.join('; ')}\n`);
    process.exit(1);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`ir_finetune: ${error.message.split('\n')[0]}\n`);
  process.exit(1);
});
