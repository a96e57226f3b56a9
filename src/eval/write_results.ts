// Writes detections as a COCO results file, the format the COCO evaluation server (test-dev)
// accepts: a JSON list of {image_id, category_id, bbox: [x, y, w, h], score}. Written as a
// stream, a batch of images at a time, so a whole test set's detections never sit in one string.
import * as fs from 'fs';
import type { Detection } from '../types';

/** One image's detections; each detection's categoryId is written as its category_id. */
export interface ImageDetections {
  imageId: number;
  detections: Pick<Detection, 'bbox' | 'score' | 'categoryId'>[];
}

export interface ResultsWriterOptions {
  /** Decimals kept for box coordinates (default 2, as COCO's own annotations) and scores (default 5). */
  bboxDecimals?: number;
  scoreDecimals?: number;
}

/** Streams detections to a COCO results file; call close() to finish the list. */
export class CocoResultsWriter {
  private readonly out: fs.WriteStream;
  private first = true;
  private failure: Error | undefined;
  private readonly bboxScale: number;
  private readonly scoreScale: number;

  constructor(
    private readonly file: string,
    options: ResultsWriterOptions = {},
  ) {
    this.bboxScale = 10 ** checkedDecimals(options.bboxDecimals ?? 2, 'bboxDecimals');
    this.scoreScale = 10 ** checkedDecimals(options.scoreDecimals ?? 5, 'scoreDecimals');
    this.out = fs.createWriteStream(file);
    this.out.on('error', (error) => (this.failure = new Error(`${file}: cannot write results (${error.message})`)));
    this.out.write('[');
  }

  /** Adds one image's detections; resolves when the stream can take more. */
  async write(image: ImageDetections): Promise<void> {
    if (this.failure) throw this.failure;
    const parts: string[] = [];
    image.detections.forEach((d, j) => {
      const where = `${this.file}: image_id ${image.imageId}, detection ${j}`;
      const b = d.bbox;
      if (!b || b.length !== 4 || ![0, 1, 2, 3].every((i) => Number.isFinite(b[i]))) {
        throw new Error(`${where}: bbox must be 4 finite numbers [x, y, w, h]`);
      }
      if (!Number.isFinite(d.score)) throw new Error(`${where}: score must be a finite number`);
      const bbox = [0, 1, 2, 3].map((i) => Math.round(b[i] * this.bboxScale) / this.bboxScale);
      const score = Math.round(d.score * this.scoreScale) / this.scoreScale;
      const record = { image_id: image.imageId, category_id: categoryId(d.categoryId, where), bbox, score };
      parts.push(JSON.stringify(record));
    });
    if (parts.length === 0) return;
    const text = (this.first ? '' : ',') + parts.join(',');
    this.first = false;
    if (!this.out.write(text)) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(']\n', resolve));
    if (this.failure) throw this.failure;
  }

  /** Stops writing and removes the unfinished file, so no truncated results are left behind. */
  async abort(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
    await fs.promises.rm(this.file, { force: true });
  }
}

function categoryId(id: number, where: string): number {
  if (!Number.isInteger(id)) throw new Error(`${where}: categoryId must be an integer`);
  return id;
}

/** Writes every image's detections to `file` in the COCO results format. */
export async function writeCocoResults(file: string, images: ImageDetections[], options?: ResultsWriterOptions): Promise<void> {
  const writer = new CocoResultsWriter(file, options);
  try {
    for (const image of images) await writer.write(image);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.close();
}

function checkedDecimals(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 15) throw new Error(`writeCocoResults: ${what} must be an integer in [0, 15], got ${n}`);
  return n;
}
