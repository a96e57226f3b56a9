// Sliced detection (SAHI's slicing aided hyper inference): the model sees overlapping full-
// resolution tiles of a large image (and, optionally, the whole image resized as usual), so a
// 12-px object of a 4000-px frame is not shrunk to 2 px; the tiles' detections are moved to
// whole-image pixels and merged (merge.ts). The image is decoded once; tiles are cropped from it
// batch by batch, so memory holds one batch of tiles, not all of them; the whole-image pass gets
// the image already shrunk to the model's input size (the model would otherwise make a float copy
// of all its pixels first: 768 MB for an 8000 × 8000 image).
import sharp from 'sharp';
import { resizeScale, scaledSize } from '../data/images';
import type { RgbImage } from '../types';
import { mergeDetections, type BoxList, type MergeOptions } from './merge';
import { checkTileOptions, tileGrid, type Tile, type TileOptions } from './tiles';

export interface SlicedDetectOptions extends MergeOptions {
  tiles: TileOptions;
  /** Also detect on the whole image (resized as without tiles) and merge it in. */
  fullImage: boolean;
  /** The model's resize rule, for the whole-image pass. */
  minSize: number;
  maxSize: number;
  /** Tiles per forward pass. */
  batchSize: number;
  /** At most this many detections after merging, the highest-scoring. */
  maxDetections: number;
  /** Tiles done of the image's total (the whole image counts as one). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Detects on a batch of images, boxes (x1, y1, x2, y2) in each image's own pixels. */
export type BatchDetector = (images: RgbImage[]) => Promise<BoxList[]>;

/** The pixels of one tile, copied row by row out of the decoded image. */
export function cropTile(image: RgbImage, tile: Tile): RgbImage {
  const data = new Uint8Array(tile.width * tile.height * 3);
  for (let y = 0; y < tile.height; y++) {
    const start = ((tile.y + y) * image.width + tile.x) * 3;
    data.set(image.data.subarray(start, start + tile.width * 3), y * tile.width * 3);
  }
  return { data, height: tile.height, width: tile.width };
}

/** One image's merged detections in its own pixels. */
export async function detectSliced(image: RgbImage, detect: BatchDetector, options: SlicedDetectOptions): Promise<BoxList> {
  checkTileOptions(options.tiles, 'detect: tiles');
  const grid = tileGrid(image.width, image.height, options.tiles);
  const total = grid.length + (options.fullImage ? 1 : 0);
  const parts: BoxList[] = [];
  let done = 0;
  for (let start = 0; start < grid.length; start += options.batchSize) {
    options.signal?.throwIfAborted();
    const batch = grid.slice(start, start + options.batchSize);
    const results = await detect(batch.map((tile) => cropTile(image, tile)));
    results.forEach((result, i) => parts.push(shifted(result, batch[i])));
    done += batch.length;
    options.onProgress?.(done, total);
  }
  if (options.fullImage) {
    options.signal?.throwIfAborted();
    const small = await shrunk(image, options.minSize, options.maxSize);
    const [result] = await detect([small.image]);
    parts.push({ ...result, boxes: result.boxes.map((v, i) => v * (i % 2 === 0 ? small.factorX : small.factorY)) });
    options.onProgress?.(total, total);
  }
  const merged = mergeDetections(concatenated(parts), options);
  return truncated(merged, options.maxDetections);
}

/**
 * The image at the size the model would resize it to, when that is smaller (sharp's linear
 * resize, as the model's bilinear one), and the original pixels per pixel of it along x and y.
 */
export async function shrunk(image: RgbImage, minSize: number, maxSize: number): Promise<{ image: RgbImage; factorX: number; factorY: number }> {
  const size = scaledSize(image.width, image.height, resizeScale(image.width, image.height, minSize, maxSize));
  if (size.width >= image.width || size.height >= image.height) return { image, factorX: 1, factorY: 1 };
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { image: { data: pixels, width: size.width, height: size.height }, factorX: image.width / size.width, factorY: image.height / size.height };
}

function shifted(list: BoxList, tile: Tile): BoxList {
  const boxes = list.boxes.slice();
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] += tile.x;
    boxes[i + 1] += tile.y;
    boxes[i + 2] += tile.x;
    boxes[i + 3] += tile.y;
  }
  return { ...list, boxes };
}

function concatenated(parts: BoxList[]): BoxList {
  const count = parts.reduce((n, p) => n + p.scores.length, 0);
  const out: BoxList = { boxes: new Float32Array(4 * count), scores: new Float32Array(count), labels: new Int32Array(count) };
  let at = 0;
  for (const p of parts) {
    out.boxes.set(p.boxes, 4 * at);
    out.scores.set(p.scores, at);
    out.labels.set(p.labels, at);
    at += p.scores.length;
  }
  return out;
}

/** The first `n` (merged lists come by decreasing score). */
function truncated(list: BoxList, n: number): BoxList {
  if (list.scores.length <= n) return list;
  return { boxes: list.boxes.slice(0, 4 * n), scores: list.scores.slice(0, n), labels: list.labels.slice(0, n) };
}
