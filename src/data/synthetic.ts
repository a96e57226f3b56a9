// A synthetic small-object detection set built to probe IR R-CNN's hypothesis (paper §1, §3):
// small objects of one category share scale and aspect ratio and gather in clusters, so a small,
// ambiguous object can borrow evidence from its related neighbours, especially the few larger ones
// whose details are visible.
//
// - Five categories share one body (an ellipse filling the box) and differ by a detail a few
//   pixels wide: nothing, a notch, a dark stripe, a bright dot, a hole. At 8–16 px, after blur,
//   noise and JPEG, they become near-identical blobs; at 40+ px they are easy to tell apart.
//   Colours are drawn from one distribution for all categories, so colour tells nothing.
// - Objects come in clusters: one category, one size and one aspect ratio per cluster, 3–10
//   members near each other, mostly small (area < 32²); some clusters have one medium or large
//   member, the "easy" object the paper says the hard ones should learn from.
// - Clutter: triangles, squares, bars and crosses of the same sizes and colours; a textured
//   background, a Gaussian blur and sensor noise.
//
// Deterministic: every image is drawn from its own seed (seed, split, index) in plain JS and
// encoded with fixed JPEG settings, so the same seed gives the same bytes.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { hash32, Random } from './random';
import { Canvas, hsv, Paint, type Rgb, type Shape } from './synthetic_draw';

/** The categories (ids 1..5 in this order) and their defining detail. */
export const SYNTHETIC_CATEGORIES: { name: string; shape: Shape }[] = [
  { name: 'disc', shape: (u, v) => (u * u + v * v <= 1 ? Paint.Body : Paint.Outside) },
  // A wedge cut into the right side: 35% of the width deep, 35% of the height wide at the rim.
  { name: 'notched', shape: (u, v) => (u * u + v * v > 1 || Math.abs(v) < (u - 0.3) * 0.5 ? Paint.Outside : Paint.Body) },
  // A dark horizontal band, 11% of the height.
  { name: 'striped', shape: (u, v) => (u * u + v * v > 1 ? Paint.Outside : Math.abs(v) < 0.22 ? Paint.Detail : Paint.Body) },
  // A bright central dot, 17% of the size across.
  { name: 'dotted', shape: (u, v) => (u * u + v * v > 1 ? Paint.Outside : u * u + v * v < 0.35 ** 2 ? Paint.Detail : Paint.Body) },
  // A hole, 40% of the size across, that shows the ground.
  { name: 'ring', shape: (u, v) => (u * u + v * v > 1 || u * u + v * v < 0.4 ** 2 ? Paint.Outside : Paint.Body) },
];

/** Clutter: shapes that are no category. */
const DISTRACTORS: Shape[] = [
  (u, v) => (Math.abs(u) <= (v + 1) / 2 ? Paint.Body : Paint.Outside), // triangle
  () => Paint.Body, // square
  (u, v) => (Math.abs(u) < 0.25 || Math.abs(v) < 0.25 ? Paint.Body : Paint.Outside), // cross
];

export interface SyntheticObject {
  /** x, y, w, h in pixels. */
  bbox: [number, number, number, number];
  /** 1..5, an index into SYNTHETIC_CATEGORIES plus one. */
  categoryId: number;
}

export interface SyntheticImage {
  /** RGB uint8, row-major height × width × 3, before JPEG encoding. */
  pixels: Uint8Array;
  size: number;
  objects: SyntheticObject[];
}

/** JPEG settings are fixed so that the same pixels always give the same bytes. */
const JPEG_OPTIONS = { quality: 90, chromaSubsampling: '4:2:0', mozjpeg: false, progressive: false } as const;

/** Draws one square image of side `size` from `seed`. */
export function renderSyntheticImage(seed: number, size = 320): SyntheticImage {
  const random = new Random(seed);
  const canvas = new Canvas(size, size);
  const ground = hsv(random.next(), random.uniform(0.1, 0.5), random.uniform(0.3, 0.6));
  canvas.fillTexture(random, ground, random.uniform(0.1, 0.3));

  const taken: [number, number, number, number][] = [];
  const fits = (x: number, y: number, w: number, h: number) =>
    x >= 1 && y >= 1 && x + w <= size - 1 && y + h <= size - 1 &&
    taken.every(([tx, ty, tw, th]) => x + w + 1 < tx || tx + tw + 1 < x || y + h + 1 < ty || ty + th + 1 < y);
  const objectColor = (): Rgb => hsv(random.next(), random.uniform(0.25, 0.7), random.uniform(0.4, 0.95));

  const objects: SyntheticObject[] = [];
  // Objects keep their absolute pixel sizes at every image size; past 320 px, a larger image
  // holds proportionally more clusters and distractors (per side, as a wider view of a scene),
  // so a 2048-px frame is a large scene of small objects, not a 320-px scene enlarged.
  const density = Math.max(1, size / 320);
  const clusters = Math.round(random.int(3, 6) * density);
  for (let c = 0; c < clusters; c++) {
    const category = random.int(0, SYNTHETIC_CATEGORIES.length - 1);
    const side = Math.exp(random.uniform(Math.log(6), Math.log(22)));
    const aspect = Math.exp(random.uniform(Math.log(0.5), Math.log(2)));
    const members = random.int(3, 10);
    const spread = 2 * side + 8;
    const cx = random.uniform(0.15, 0.85) * size;
    const cy = random.uniform(0.15, 0.85) * size;
    // The cluster's larger, easy instance (if any) is its last member, placed around the others.
    const bigSide = random.next() < 0.5 ? random.uniform(36, 80) : random.next() < 0.3 ? random.uniform(100, 130) : 0;
    for (let m = 0; m < members; m++) {
      const s = m === members - 1 && bigSide > 0 ? bigSide : side * random.uniform(0.9, 1.1);
      const w = s * Math.sqrt(aspect);
      const h = s / Math.sqrt(aspect);
      for (let attempt = 0; attempt < 50; attempt++) {
        const x = cx + spread * random.normal() - w / 2;
        const y = cy + spread * random.normal() - h / 2;
        if (!fits(x, y, w, h)) continue;
        taken.push([x, y, w, h]);
        const body = objectColor();
        // The detail colour: a darker stripe, a brighter dot (unused by the other shapes).
        const detail: Rgb = category === 2 ? (body.map((v) => v * 0.6) as Rgb) : (body.map((v) => v + 0.45 * (255 - v)) as Rgb);
        canvas.draw(SYNTHETIC_CATEGORIES[category].shape, x, y, w, h, body, detail);
        objects.push({ bbox: [round2(x), round2(y), round2(w), round2(h)], categoryId: category + 1 });
        break;
      }
    }
  }

  const distractors = Math.round(random.int(4, 12) * density);
  for (let d = 0; d < distractors; d++) {
    const s = Math.exp(random.uniform(Math.log(6), Math.log(30)));
    const kind = random.int(0, DISTRACTORS.length);
    // kind === DISTRACTORS.length: a thin bar, horizontal or vertical.
    const bar = kind === DISTRACTORS.length;
    const vertical = random.next() < 0.5;
    const w = bar ? (vertical ? s / 6 : s) : s * random.uniform(0.7, 1.4);
    const h = bar ? (vertical ? s : s / 6) : s * random.uniform(0.7, 1.4);
    const x = random.uniform(0, size - w);
    const y = random.uniform(0, size - h);
    if (!fits(x, y, w, h)) continue;
    taken.push([x, y, w, h]);
    const color = objectColor();
    canvas.draw(bar ? DISTRACTORS[1] : DISTRACTORS[kind], x, y, w, h, color, color);
  }

  canvas.blur(random.uniform(0.4, 1.0));
  return { pixels: canvas.toBytes(random, random.uniform(2, 7)), size, objects };
}

export interface SyntheticOptions {
  /** Output folder; gets train/, val/ and annotations/. */
  out: string;
  /** Training images. */
  images: number;
  /** Validation images; default a quarter of `images`, at least 1. */
  valImages?: number;
  seed?: number;
  /** Image side in pixels; default 320. */
  size?: number;
}

export interface SyntheticDataset {
  trainImages: string;
  trainAnnotations: string;
  valImages: string;
  valAnnotations: string;
}

/** Writes the set as JPEG files plus COCO instances JSON, train and val. */
export async function generateSyntheticDataset(options: SyntheticOptions): Promise<SyntheticDataset> {
  const { out, images, seed = 0, size = 320 } = options;
  const valImages = options.valImages ?? Math.max(1, Math.round(images / 4));
  const count = (value: number, name: string, min: number) => {
    if (!Number.isInteger(value) || value < min) throw new Error(`synthetic set: ${name} must be an integer >= ${min} (got ${value})`);
  };
  count(images, 'images', 1);
  count(valImages, 'valImages', 0);
  count(seed, 'seed', 0);
  count(size, 'size', 64);
  const result: SyntheticDataset = {
    trainImages: path.join(out, 'train'),
    trainAnnotations: path.join(out, 'annotations', 'instances_train.json'),
    valImages: path.join(out, 'val'),
    valAnnotations: path.join(out, 'annotations', 'instances_val.json'),
  };
  try {
    await fs.promises.mkdir(path.join(out, 'annotations'), { recursive: true });
    await writeSplit(result.trainImages, result.trainAnnotations, images, hash32(seed, 1), size);
    await writeSplit(result.valImages, result.valAnnotations, valImages, hash32(seed, 2), size);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new Error(e.path ? `${e.path}: cannot write (${e.code})` : `synthetic set: ${e.message}`);
  }
  return result;
}

async function writeSplit(dir: string, annotationFile: string, count: number, splitSeed: number, size: number) {
  await fs.promises.mkdir(dir, { recursive: true });
  const images: object[] = [];
  const annotations: object[] = [];
  // Drawing is synchronous JS; encoding and writing run on libuv's threads while the next draws.
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const image = renderSyntheticImage(hash32(splitSeed, i), size);
    const fileName = `${String(i + 1).padStart(6, '0')}.jpg`;
    images.push({ id: i + 1, file_name: fileName, width: size, height: size });
    for (const o of image.objects) {
      const [, , w, h] = o.bbox;
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: o.categoryId, bbox: o.bbox, area: round2(w * h), iscrowd: 0 });
    }
    const job = sharp(image.pixels, { raw: { width: size, height: size, channels: 3 } })
      .jpeg(JPEG_OPTIONS)
      .toFile(path.join(dir, fileName))
      .then(() => undefined);
    pending.add(job);
    void job.finally(() => pending.delete(job)).catch(() => undefined);
    if (pending.size >= 4) await Promise.race(pending);
  }
  await Promise.all(pending);
  const categories = SYNTHETIC_CATEGORIES.map((c, k) => ({ id: k + 1, name: c.name, supercategory: 'shape' }));
  await fs.promises.writeFile(annotationFile, JSON.stringify({ info: { description: 'ir-rcnn synthetic small-object set' }, images, annotations, categories }));
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
