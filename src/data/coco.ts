// COCO ground truth (instances_*.json) held column-wise in typed arrays, and the queries training
// and evaluation make of it. A 450 MB file must load without holding its text or one JS object per
// box: it is read in chunks (json_stream.ts) by a scanner that fills the columns (coco_builder.ts).
import type { ImageTargets } from '../types';
import { CocoBuilder } from './coco_builder';
import { Growable } from './growable';
import { CHUNK_BYTES, streamJsonFile } from './json_stream';

export interface CocoAnnotations {
  /** Where it was read from (for error messages). */
  file: string;
  images: { ids: Int32Array; widths: Int32Array; heights: Int32Array; fileNames: string[] };
  /** Sorted by id; the contiguous label of categories.ids[i] is i + 1 (0 = background). */
  categories: { ids: Int32Array; names: string[] };
  /** One entry per annotation, in file order. */
  annotations: {
    ids: Float64Array;
    /** Index into images.*. */
    imageIndex: Int32Array;
    /** Index into categories.*. */
    categoryIndex: Int32Array;
    /** 4 per annotation: x, y, w, h (COCO). */
    bbox: Float64Array;
    /** The file's `area` field (COCO evaluation uses it, not w*h); w*h when the file has none. */
    area: Float64Array;
    iscrowd: Uint8Array;
  };
}

export interface LoadCocoOptions {
  /**
   * Drop images that have no trainable box (see isTrainableBox) and their annotations.
   * Off by default: evaluation needs every image. The batch loader skips such images by itself.
   */
  skipEmptyImages?: boolean;
  /** Bytes read at a time (default 1 MiB). */
  chunkBytes?: number;
}

/** Loads a COCO instances file; every error names the file and, where there is one, the record. */
export async function loadCocoAnnotations(file: string, options: LoadCocoOptions = {}): Promise<CocoAnnotations> {
  const builder = new CocoBuilder(file);
  await streamJsonFile(file, 'annotation file', options.chunkBytes ?? CHUNK_BYTES, builder);
  const annotations: CocoAnnotations = builder.finish();
  return options.skipEmptyImages ? withoutEmptyImages(annotations) : annotations;
}

/**
 * Whether annotation `a` is a box training learns from: not a crowd region, and with width and
 * height > 0. Other boxes are kept for evaluation, which needs every one.
 */
function isTrainableBox(annotations: CocoAnnotations['annotations'], a: number): boolean {
  return !annotations.iscrowd[a] && annotations.bbox[4 * a + 2] > 0 && annotations.bbox[4 * a + 3] > 0;
}

/** The annotations of image `imageIndex` (an index into ann.images), as indices into ann.annotations, in file order. */
export function imageAnnotationRows(ann: CocoAnnotations, imageIndex: number): Int32Array {
  const { offsets, order } = perImageIndex(ann);
  return order.subarray(offsets[imageIndex], offsets[imageIndex + 1]);
}

/** The trainable boxes and the crowd regions of image `imageIndex` (an index into ann.images). */
export function imageAnnotations(ann: CocoAnnotations, imageIndex: number): ImageTargets {
  const { bbox, iscrowd, categoryIndex } = ann.annotations;
  const rows = imageAnnotationRows(ann, imageIndex);
  const trainable = rows.filter((a) => isTrainableBox(ann.annotations, a));
  const crowd = rows.filter((a) => iscrowd[a] !== 0);
  return {
    boxes: corners(bbox, trainable),
    labels: Int32Array.from(trainable, (a) => categoryIndex[a] + 1),
    crowdBoxes: corners(bbox, crowd),
  };
}

/** x1, y1, x2, y2 of the COCO boxes (x, y, w, h) in `rows`. */
function corners(bbox: Float64Array, rows: Int32Array): Float32Array {
  const out = new Float32Array(4 * rows.length);
  rows.forEach((a, i) => {
    const [x, y, w, h] = bbox.subarray(4 * a, 4 * a + 4);
    out.set([x, y, x + w, y + h], 4 * i);
  });
  return out;
}

/** Indices of the images with at least one trainable box (what training samples from). */
export function nonEmptyImageIndices(ann: CocoAnnotations): Int32Array {
  const { offsets, order } = perImageIndex(ann);
  const kept = new Growable((n) => new Int32Array(n));
  for (let i = 0; i < ann.images.ids.length; i++) {
    for (let k = offsets[i]; k < offsets[i + 1]; k++) {
      if (isTrainableBox(ann.annotations, order[k])) {
        kept.push(i);
        break;
      }
    }
  }
  return kept.toArray();
}

/** The same ground truth restricted to the images with a trainable box. */
export function withoutEmptyImages(ann: CocoAnnotations): CocoAnnotations {
  const keep = nonEmptyImageIndices(ann);
  const newIndex = new Int32Array(ann.images.ids.length).fill(-1);
  keep.forEach((image, i) => (newIndex[image] = i));
  const a = ann.annotations;
  const kept = new Growable((n) => new Int32Array(n));
  for (let k = 0; k < a.ids.length; k++) if (newIndex[a.imageIndex[k]] >= 0) kept.push(k);
  const rows = kept.toArray();
  const pick = <A extends Float64Array | Int32Array | Uint8Array>(src: A, make: (n: number) => A, width = 1): A => {
    const out = make(rows.length * width);
    rows.forEach((k, i) => out.set(src.subarray(k * width, (k + 1) * width), i * width));
    return out;
  };
  return {
    file: ann.file,
    images: {
      ids: Int32Array.from(keep, (i) => ann.images.ids[i]),
      widths: Int32Array.from(keep, (i) => ann.images.widths[i]),
      heights: Int32Array.from(keep, (i) => ann.images.heights[i]),
      fileNames: Array.from(keep, (i) => ann.images.fileNames[i]),
    },
    categories: ann.categories,
    annotations: {
      ids: pick(a.ids, (n) => new Float64Array(n)),
      imageIndex: Int32Array.from(rows, (k) => newIndex[a.imageIndex[k]]),
      categoryIndex: pick(a.categoryIndex, (n) => new Int32Array(n)),
      bbox: pick(a.bbox, (n) => new Float64Array(n), 4),
      area: pick(a.area, (n) => new Float64Array(n)),
      iscrowd: pick(a.iscrowd, (n) => new Uint8Array(n)),
    },
  };
}

// ---- per-image index (CSR: the annotations of image i are order[offsets[i] .. offsets[i+1]]) ----

interface PerImageIndex {
  offsets: Int32Array;
  order: Int32Array;
}

const perImageIndexCache = new WeakMap<CocoAnnotations, PerImageIndex>();

function perImageIndex(ann: CocoAnnotations): PerImageIndex {
  const cached = perImageIndexCache.get(ann);
  if (cached) return cached;
  const imageIndex = ann.annotations.imageIndex;
  const offsets = new Int32Array(ann.images.ids.length + 1);
  for (let k = 0; k < imageIndex.length; k++) offsets[imageIndex[k] + 1]++;
  for (let i = 0; i < ann.images.ids.length; i++) offsets[i + 1] += offsets[i];
  const next = offsets.slice(0, -1);
  const order = new Int32Array(imageIndex.length);
  for (let k = 0; k < imageIndex.length; k++) order[next[imageIndex[k]]++] = k;
  const index = { offsets, order };
  perImageIndexCache.set(ann, index);
  return index;
}
