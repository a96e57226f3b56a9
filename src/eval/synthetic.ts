// Seeded synthetic evaluation cases (ground truth + detections) of any size, for tests and for
// `npm run bench`: COCO-like box sizes from tiny to large, crowd regions, a category-id space with
// gaps, detections that are part near-misses of ground truth and part clutter, and scores with
// ties. Built straight into typed arrays, so millions of detections are cheap to make.
import * as fs from 'fs';
import * as path from 'path';
import type { CocoAnnotations } from '../data/coco';
import { Random } from '../data/random';
import type { Detections } from './detections';

export interface SyntheticEvalCase {
  gt: CocoAnnotations;
  results: Detections;
}

export function makeSyntheticEvalCase(seed: number, images: number, detsPerImage: number, categories: number): SyntheticEvalCase {
  const random = new Random(seed);
  const round2 = (v: number) => Math.round(v * 100) / 100;
  // Ids with gaps, as COCO's 1..90 for 80 categories.
  const categoryIds = Int32Array.from({ length: categories }, (_, i) => i + 1 + Math.floor(i / 8));
  const widths = new Int32Array(images);
  const heights = new Int32Array(images);
  const gtBoxes: number[] = [];
  const gtImage: number[] = [];
  const gtCategory: number[] = [];
  const gtArea: number[] = [];
  const gtCrowd: number[] = [];
  const dets = {
    count: images * detsPerImage,
    imageIndex: new Int32Array(images * detsPerImage),
    categoryIndex: new Int32Array(images * detsPerImage),
    bbox: new Float64Array(4 * images * detsPerImage),
    score: new Float64Array(images * detsPerImage),
  };
  for (let i = 0; i < images; i++) {
    const W = (widths[i] = random.int(200, 800));
    const H = (heights[i] = random.int(200, 800));
    const first = gtImage.length;
    const count = random.int(1, 12);
    for (let g = 0; g < count; g++) {
      // Sides log-uniform in [4, 400] px: a third of the boxes are COCO "small".
      const side = Math.exp(random.uniform(Math.log(4), Math.log(400)));
      const aspect = Math.exp(random.uniform(-0.7, 0.7));
      const w = round2(Math.min(W, side * aspect));
      const h = round2(Math.min(H, side / aspect));
      gtBoxes.push(round2(random.uniform(0, W - w)), round2(random.uniform(0, H - h)), w, h);
      gtImage.push(i);
      gtCategory.push(random.int(0, categories - 1));
      gtArea.push(round2(w * h * random.uniform(0.6, 1)));
      gtCrowd.push(random.next() < 0.03 ? 1 : 0);
    }
    for (let j = 0; j < detsPerImage; j++) {
      const d = i * detsPerImage + j;
      dets.imageIndex[d] = i;
      let category = random.int(0, categories - 1);
      let box: number[];
      if (random.next() < 0.5) {
        // A near-miss of a ground-truth box, usually of the right category.
        const g = first + random.int(0, count - 1);
        const [x, y, w, h] = gtBoxes.slice(4 * g, 4 * g + 4);
        if (random.next() < 0.85) category = gtCategory[g];
        box = [x + w * random.uniform(-0.2, 0.2), y + h * random.uniform(-0.2, 0.2), w * random.uniform(0.8, 1.2), h * random.uniform(0.8, 1.2)];
      } else {
        const side = Math.exp(random.uniform(Math.log(4), Math.log(400)));
        box = [random.uniform(0, W), random.uniform(0, H), side * random.uniform(0.5, 2), side * random.uniform(0.5, 2)];
      }
      dets.categoryIndex[d] = category;
      for (let c = 0; c < 4; c++) dets.bbox[4 * d + c] = round2(box[c]);
      // Three decimals: plenty of exact ties across and within images.
      dets.score[d] = Math.round(random.next() * 1000) / 1000;
    }
  }
  const n = gtImage.length;
  const gt: CocoAnnotations = {
    file: `synthetic-${seed}`,
    images: {
      ids: Int32Array.from({ length: images }, (_, i) => i + 1),
      widths,
      heights,
      fileNames: Array.from({ length: images }, (_, i) => `${String(i + 1).padStart(6, '0')}.jpg`),
    },
    categories: { ids: categoryIds, names: Array.from(categoryIds, (id) => `category ${id}`) },
    annotations: {
      ids: Float64Array.from({ length: n }, (_, i) => i + 1),
      imageIndex: Int32Array.from(gtImage),
      categoryIndex: Int32Array.from(gtCategory),
      bbox: Float64Array.from(gtBoxes),
      area: Float64Array.from(gtArea),
      iscrowd: Uint8Array.from(gtCrowd),
    },
  };
  return { gt, results: dets };
}

/** The ground truth as a COCO annotations JSON document. */
export function cocoGroundTruthJson(gt: CocoAnnotations): object {
  const a = gt.annotations;
  return {
    images: Array.from(gt.images.ids, (id, i) => ({ id, width: gt.images.widths[i], height: gt.images.heights[i], file_name: gt.images.fileNames[i] })),
    annotations: Array.from(a.ids, (id, i) => ({
      id,
      image_id: gt.images.ids[a.imageIndex[i]],
      category_id: gt.categories.ids[a.categoryIndex[i]],
      bbox: Array.from(a.bbox.subarray(4 * i, 4 * i + 4)),
      area: a.area[i],
      iscrowd: a.iscrowd[i],
    })),
    categories: Array.from(gt.categories.ids, (id, i) => ({ id, name: gt.categories.names[i] })),
  };
}

/** Writes the case as gt.json and results.json under `dir`; returns their paths. */
export async function writeSyntheticEvalCase(c: SyntheticEvalCase, dir: string): Promise<{ gt: string; results: string }> {
  await fs.promises.mkdir(dir, { recursive: true });
  const gtFile = path.join(dir, 'gt.json');
  const resultsFile = path.join(dir, 'results.json');
  await fs.promises.writeFile(gtFile, JSON.stringify(cocoGroundTruthJson(c.gt)));
  const { results: r, gt } = c;
  const out = fs.createWriteStream(resultsFile);
  out.write('[');
  for (let d = 0; d < r.count; d++) {
    const record = {
      image_id: gt.images.ids[r.imageIndex[d]],
      category_id: gt.categories.ids[r.categoryIndex[d]],
      bbox: Array.from(r.bbox.subarray(4 * d, 4 * d + 4)),
      score: r.score[d],
    };
    if (!out.write((d ? ',' : '') + JSON.stringify(record))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.end(']\n', resolve);
  });
  return { gt: gtFile, results: resultsFile };
}
