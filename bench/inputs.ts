// Seeded bench inputs: feature maps, boxes, scores and a test image, the same on every run so
// that timings compare like with like (NMS and RoIAlign costs depend on the boxes).
import { Random } from '../src/data/random';
import type { ImageTargets, Tensor } from '../src/types';

export function randomFloats(seed: number, shape: number[], scale = 1): Tensor<Float32Array> {
  const random = new Random(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = scale * random.normal();
  return { data, shape };
}

export function randomScores(seed: number, count: number): Tensor<Float32Array> {
  const random = new Random(seed);
  return { data: Float32Array.from({ length: count }, () => random.next()), shape: [count] };
}

/** [count, 4] boxes (x1, y1, x2, y2) inside width × height, sides log-uniform in [minSide, maxSide]. */
export function randomBoxes(seed: number, count: number, width: number, height: number, minSide = 8, maxSide = 256): Tensor<Float32Array> {
  const random = new Random(seed);
  const data = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const w = Math.min(width, Math.exp(random.uniform(Math.log(minSide), Math.log(maxSide))));
    const h = Math.min(height, Math.exp(random.uniform(Math.log(minSide), Math.log(maxSide))));
    const x = random.uniform(0, width - w);
    const y = random.uniform(0, height - h);
    data.set([x, y, x + w, y + h], 4 * i);
  }
  return { data, shape: [count, 4] };
}

/**
 * [count, 4] boxes the way an RPN proposes them: jittered copies around `clusters` objects, so
 * that NMS has real suppressing to do (uniform random boxes barely overlap).
 */
export function clusteredBoxes(seed: number, count: number, clusters: number, width: number, height: number): Tensor<Float32Array> {
  const random = new Random(seed);
  const centres = randomBoxes(seed + 1, clusters, width, height, 16, 400).data;
  const data = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const c = random.int(0, clusters - 1);
    const [x1, y1, x2, y2] = centres.subarray(4 * c, 4 * c + 4);
    const jitter = (v: number, side: number) => v + side * 0.15 * random.normal();
    const w = x2 - x1;
    const h = y2 - y1;
    const a = [jitter(x1, w), jitter(y1, h), jitter(x2, w), jitter(y2, h)];
    data.set([Math.min(a[0], a[2]), Math.min(a[1], a[3]), Math.max(a[0], a[2]) + 1, Math.max(a[1], a[3]) + 1], 4 * i);
  }
  return { data, shape: [count, 4] };
}

/** RoIAlign's [count, 5] rois: (batch index, x1, y1, x2, y2), batch indices spread over `batch`. */
export function randomRois(seed: number, count: number, batch: number, width: number, height: number): Tensor<Float32Array> {
  const boxes = randomBoxes(seed, count, width, height);
  const data = new Float32Array(count * 5);
  for (let i = 0; i < count; i++) {
    data[5 * i] = i % batch;
    data.set(boxes.data.subarray(4 * i, 4 * i + 4), 5 * i + 1);
  }
  return { data, shape: [count, 5] };
}

/** An RGB image (HWC uint8) of smooth gradients and coloured rectangles: something a detector can chew on. */
export function testImage(seed: number, width: number, height: number): { data: Uint8Array; height: number; width: number } {
  const random = new Random(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = 128;
    }
  for (let r = 0; r < 40; r++) {
    const w = random.int(8, width / 4);
    const h = random.int(8, height / 4);
    const x0 = random.int(0, width - w);
    const y0 = random.int(0, height - h);
    const colour = [random.int(0, 255), random.int(0, 255), random.int(0, 255)];
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data.set(colour, 3 * (y * width + x));
  }
  return { data, height, width };
}

/** Six boxes of random COCO classes (1..90) inside width × height: a training target. */
export function trainTarget(seed: number, width: number, height: number): ImageTargets {
  const random = new Random(seed);
  const boxes = randomBoxes(seed, 6, width, height, 16, 200).data;
  return { boxes, labels: Int32Array.from({ length: 6 }, () => random.int(1, 90)), crowdBoxes: new Float32Array(0) };
}
