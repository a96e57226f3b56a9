// One detect process, started and measured by the detect section: loads one model (ours from a
// .pth, or torchvision's model exported to ONNX in onnxruntime-node), times `warmup` + `repeats`
// detects of one image, and prints { samples, detections, version? } as one JSON line. With
// warmup 0 and repeats 3 it is the "load + 3 detects" process; with the section's plan it times
// onnxruntime-node apart from the bench, so that neither runtime's threads or memory touch the
// other's. Each runtime is loaded only on its own path: the ONNX process never maps LibTorch.
//
//   node dist/bench/detect_process.js JOB.json
import * as fs from 'fs';
import { timeRuns } from './harness';
import { loadOnnxRuntime } from './onnxruntime';
import type { RgbImage } from '../src/types';

export interface DetectProcessJob {
  runtime: 'ir-rcnn' | 'onnxruntime-node';
  /** ir-rcnn: a .pth of the plain Faster R-CNN (none: our random init); onnxruntime-node: the .onnx. */
  model?: string;
  /** Raw RGB bytes, height × width × 3. */
  image: { file: string; width: number; height: number };
  threads: number;
  device: string;
  /** ir-rcnn's config; the ONNX model has them, and the score threshold, built in. */
  minSize: number;
  maxSize: number;
  scoreThreshold?: number;
  maxDetections: number;
  warmup: number;
  repeats: number;
}

/** A loaded model: detect() of the job's image, returning its boxes flattened (x1, y1, x2, y2). */
interface Loaded {
  detect(): Promise<number[]>;
  version?: string;
}

async function loadOurs(job: DetectProcessJob, image: RgbImage): Promise<Loaded> {
  const { Detector } = await import('../src/detector');
  const { setNumThreads } = await import('../src/native');
  const { MODELS, cocoConfig } = await import('./models');
  setNumThreads(job.threads);
  const detector = await Detector.load({ config: cocoConfig(MODELS[0].preset, job.minSize, job.maxSize), weights: job.model, device: job.device });
  const options = { scoreThreshold: job.scoreThreshold, maxDetections: job.maxDetections };
  return {
    detect: async () => (await detector.detectPixels([image], options))[0].detections.flatMap(({ bbox: [x, y, w, h] }) => [x, y, x + w, y + h]),
  };
}

async function loadOnnx(job: DetectProcessJob, image: RgbImage): Promise<Loaded> {
  if (!job.model) throw new Error('an onnxruntime-node job needs its model');
  const ort = loadOnnxRuntime();
  const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: job.threads });
  return {
    detect: async () => {
      // The exported model takes what torchvision's does: a float CHW image in [0, 1].
      const { width, height, data } = image;
      const planes = new Float32Array(3 * width * height);
      for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) planes[c * width * height + i] = data[3 * i + c] / 255;
      const output = await session.run({ image: new ort.Tensor('float32', planes, [3, height, width]) });
      return Array.from(output.boxes.data);
    },
    version: ort.env.versions.node,
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as DetectProcessJob;
  const image = { data: new Uint8Array(fs.readFileSync(job.image.file)), width: job.image.width, height: job.image.height };
  const loaded = job.runtime === 'ir-rcnn' ? await loadOurs(job, image) : await loadOnnx(job, image);
  let detections: number[] = [];
  const samples = await timeRuns(async () => {
    detections = await loaded.detect();
  }, job);
  process.stdout.write(JSON.stringify({ samples, detections, version: loaded.version }) + '\n');
}

main().catch((error) => {
  // One line; the bench names the process when it passes it on.
  process.stderr.write(`${(error as Error).message.split('\n')[0]}\n`);
  process.exitCode = 1;
});
