// Sliced training data (SAHI's slicing-aided fine-tuning): a COCO dataset becomes a COCO dataset
// of its tiles. Each tile is an image file of its own; each box is clipped to the tiles it falls
// in and kept where at least `minAreaRatio` of it remains (a sliver of an object teaches the
// model nothing); tiles without a box are kept at `emptyTileRate` (seeded) as negatives. The
// annotations are read into typed arrays (data/coco.ts) and the output is written as a stream,
// image by image, so COCO's 118k-image train set is never held as JSON objects.
import { once } from 'events';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { imageAnnotationRows, loadCocoAnnotations } from '../data/coco';
import { decodeImage } from '../data/images';
import { IrRcnnError } from '../errors';
import { hash32 } from '../data/random';
import { checkTileOptions, tileGrid, type Tile, type TileOptions } from './tiles';

export interface SliceDatasetOptions {
  /** COCO instances JSON of the source set. */
  annotations: string;
  /** Folder the source's file_name entries are relative to. */
  images: string;
  /** Output folder: annotations.json and images/. */
  out: string;
  tile: TileOptions;
  /** A clipped box is kept when at least this share of its area is inside the tile (default 0.3). */
  minAreaRatio?: number;
  /** Share of the tiles without a box that are kept (default 0.1). */
  emptyTileRate?: number;
  /** Seed of the empty-tile choice (default 0). */
  seed?: number;
  /** Called after each source image. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SliceDatasetResult {
  annotations: string;
  images: string;
  sourceImages: number;
  tiles: number;
  emptyTiles: number;
  boxes: number;
  /** Boxes (tile parts) dropped because less than minAreaRatio of them was inside a tile. */
  droppedParts: number;
}

/** A JSON-array writer over a file: records are appended as they come, with backpressure. */
class JsonLines {
  private readonly out: fs.WriteStream;
  private first = true;
  private closed = false;
  private readonly failed: Promise<never>;

  constructor(readonly file: string) {
    this.out = fs.createWriteStream(file);
    this.failed = once(this.out, 'error').then(([error]) => {
      throw new Error(`${file}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    });
    this.failed.catch(() => undefined);
  }

  async write(text: string, separated = true): Promise<void> {
    const chunk = separated && !this.first ? `,${text}` : text;
    if (separated) this.first = false;
    if (!this.out.write(chunk)) await Promise.race([once(this.out, 'drain'), this.failed]);
  }

  async append(file: string): Promise<void> {
    for await (const chunk of fs.createReadStream(file)) await this.write(chunk as string, false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.race([new Promise<void>((resolve) => this.out.end(resolve)), this.failed]);
  }
}

function sliceSettings(options: SliceDatasetOptions): { minAreaRatio: number; emptyTileRate: number; seed: number } {
  const minAreaRatio = options.minAreaRatio ?? 0.3;
  const emptyTileRate = options.emptyTileRate ?? 0.1;
  const seed = options.seed ?? 0;
  if (!(minAreaRatio >= 0 && minAreaRatio <= 1)) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `slice: minAreaRatio must be in [0, 1], got ${minAreaRatio}`);
  if (!(emptyTileRate >= 0 && emptyTileRate <= 1)) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `slice: emptyTileRate must be in [0, 1], got ${emptyTileRate}`);
  if (!Number.isInteger(seed) || seed < 0) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `slice: seed must be an integer >= 0, got ${seed}`);
  return { minAreaRatio, emptyTileRate, seed };
}

/** Writes the tiles of every source image and their COCO annotations; returns what was written. */
export async function sliceDataset(options: SliceDatasetOptions): Promise<SliceDatasetResult> {
  const tile = checkTileOptions(options.tile, 'slice: tile');
  const { minAreaRatio, emptyTileRate, seed } = sliceSettings(options);
  const source = await loadCocoAnnotations(options.annotations);
  const imagesDir = path.join(options.out, 'images');
  await fs.promises.mkdir(imagesDir, { recursive: true });
  const annotationsFile = path.join(options.out, 'annotations.json');
  const partFile = `${annotationsFile}.annotations.part`;
  const main = new JsonLines(`${annotationsFile}.part`);
  const parts = new JsonLines(partFile);
  const categories = Array.from(source.categories.ids, (id, k) => ({ id, name: source.categories.names[k] }));
  await main.write(`{"categories":${JSON.stringify(categories)},"images":[`, false);
  const result: SliceDatasetResult = { annotations: annotationsFile, images: imagesDir, sourceImages: 0, tiles: 0, emptyTiles: 0, boxes: 0, droppedParts: 0 };
  const a = source.annotations;
  let annotationId = 1;
  try {
    const total = source.images.ids.length;
    for (let i = 0; i < total; i++) {
      options.signal?.throwIfAborted();
      const fileName = source.images.fileNames[i];
      const width = source.images.widths[i];
      const height = source.images.heights[i];
      const image = await decodeImage(path.join(options.images, fileName), { minSize: 0, maxSize: 0, annotatedSize: { width, height } });
      const rows = imageAnnotationRows(source, i);
      const grid = tileGrid(image.width, image.height, tile);
      for (let t = 0; t < grid.length; t++) {
        const window = grid[t];
        const boxes: { bbox: number[]; area: number; category: number; crowd: number }[] = [];
        for (const k of rows) {
          const clipped = clipBox(a.bbox.subarray(4 * k, 4 * k + 4), window);
          if (clipped === undefined) continue;
          // clipBox leaves only parts with area; crowd regions are kept whatever remains of them.
          const kept = a.iscrowd[k] || clipped.area >= minAreaRatio * a.bbox[4 * k + 2] * a.bbox[4 * k + 3];
          if (!kept) {
            result.droppedParts++;
            continue;
          }
          boxes.push({ bbox: clipped.bbox, area: clipped.area, category: source.categories.ids[a.categoryIndex[k]], crowd: a.iscrowd[k] });
        }
        if (boxes.length === 0) {
          // A seeded coin per (image id, tile): the same tiles are kept on every run.
          if (hash32(hash32(seed, source.images.ids[i]), t) / 2 ** 32 >= emptyTileRate) continue;
          result.emptyTiles++;
        }
        const tileId = result.tiles + 1;
        const name = tileFileName(fileName, window);
        await writeTile(image, window, path.join(imagesDir, name));
        await main.write(JSON.stringify({ id: tileId, file_name: name, width: window.width, height: window.height, source_image_id: source.images.ids[i], x: window.x, y: window.y }));
        for (const box of boxes) {
          await parts.write(JSON.stringify({ id: annotationId++, image_id: tileId, category_id: box.category, bbox: box.bbox, area: box.area, iscrowd: box.crowd }));
        }
        result.boxes += boxes.length;
        result.tiles++;
      }
      result.sourceImages++;
      options.onProgress?.(i + 1, total);
    }
    await parts.close();
    await main.write('],"annotations":[', false);
    await main.append(partFile);
    await main.write(']}\n', false);
    await main.close();
    await fs.promises.rename(`${annotationsFile}.part`, annotationsFile);
  } finally {
    await Promise.allSettled([parts.close(), main.close()]);
    await fs.promises.rm(partFile, { force: true });
    await fs.promises.rm(`${annotationsFile}.part`, { force: true });
  }
  return result;
}

/** The box (COCO x, y, w, h) clipped to the tile, in the tile's pixels; undefined when outside. */
function clipBox(bbox: Float64Array, tile: Tile): { bbox: number[]; area: number } | undefined {
  const x1 = Math.max(bbox[0], tile.x);
  const y1 = Math.max(bbox[1], tile.y);
  const x2 = Math.min(bbox[0] + bbox[2], tile.x + tile.width);
  const y2 = Math.min(bbox[1] + bbox[3], tile.y + tile.height);
  if (x2 <= x1 || y2 <= y1) return undefined;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { bbox: [round(x1 - tile.x), round(y1 - tile.y), round(x2 - x1), round(y2 - y1)], area: (x2 - x1) * (y2 - y1) };
}

/** `dir/name.png` → `dir_name_X_Y.png` keeps tiles of different sources apart in one folder. */
function tileFileName(fileName: string, tile: Tile): string {
  const ext = path.extname(fileName).toLowerCase() === '.png' ? '.png' : '.jpg';
  const stem = fileName.slice(0, fileName.length - path.extname(fileName).length).replace(/[\\/]/g, '_');
  return `${stem}_${tile.x}_${tile.y}${ext}`;
}

/** Crops the tile out of the decoded pixels and encodes it (PNG for PNG sources, else JPEG 95). */
async function writeTile(image: { data: Uint8Array; width: number; height: number }, tile: Tile, file: string): Promise<void> {
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).extract({
    left: tile.x,
    top: tile.y,
    width: tile.width,
    height: tile.height,
  });
  await (file.endsWith('.png') ? pipeline.png() : pipeline.jpeg({ quality: 95 })).toFile(file);
}
