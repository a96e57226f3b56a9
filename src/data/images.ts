// Image decoding for training and inference: file → sharp (on libuv's threads, off the main
// thread) → RGB uint8 HWC at the scale GeneralizedRCNNTransform would use, optionally mirrored,
// with the boxes moved to match.
import * as fs from 'fs';
import sharp from 'sharp';
import type { RgbImage } from '../types';

export interface DecodedImage extends RgbImage {
  /** The resize factor torchvision's rule gave (the size is floor(original × scale) per side). */
  scale: number;
  flipped: boolean;
  /** Size of the file's image after EXIF orientation, before resizing. */
  originalWidth: number;
  originalHeight: number;
}

export interface DecodeOptions {
  /** Short side after resizing (torchvision's min_size); 0 keeps the original size. */
  minSize: number;
  /** Cap on the long side (torchvision's max_size). */
  maxSize: number;
  /** Mirror left–right. */
  flip?: boolean;
  /**
   * The size the annotations were made on (COCO's width/height). When it matches the stored
   * pixels but not the EXIF-rotated ones, the annotations were drawn on the raw pixels and the
   * EXIF rotation is not applied (tools differ on this; COCO's own images follow the raw pixels).
   */
  annotatedSize?: { width: number; height: number };
}

/**
 * torchvision's GeneralizedRCNNTransform scale: min(minSize / short side, maxSize / long side),
 * computed as torchvision computes it (float32, and `number / tensor` is `reciprocal() * number`),
 * so output sizes agree with it to the pixel: 640×480 → 1066×800 but 640×427 → 1199×799.
 */
export function resizeScale(width: number, height: number, minSize: number, maxSize: number): number {
  if (minSize <= 0) return 1;
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const f = Math.fround;
  return Math.min(f(f(1 / short) * minSize), f(f(1 / long) * maxSize));
}

/** Output size for a scale: floor(size × scale) per side, as torch's interpolate gives. */
export function scaledSize(width: number, height: number, scale: number): { width: number; height: number } {
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/**
 * Boxes (x1, y1, x2, y2 per box) from an image of size `from` to its resized (and possibly
 * mirrored) version of size `to`; per-axis ratios as torchvision's resize_boxes.
 */
export function transformBoxes(
  boxes: Float32Array,
  from: { width: number; height: number },
  to: { width: number; height: number },
  flipped: boolean,
): Float32Array {
  const rx = to.width / from.width;
  const ry = to.height / from.height;
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const x1 = boxes[i] * rx;
    const x2 = boxes[i + 2] * rx;
    out[i] = flipped ? to.width - x2 : x1;
    out[i + 1] = boxes[i + 1] * ry;
    out[i + 2] = flipped ? to.width - x1 : x2;
    out[i + 3] = boxes[i + 3] * ry;
  }
  return out;
}

/** Decodes an image file; rejects with "FILE: cannot read/decode image (reason)". */
export async function decodeImage(file: string, options: DecodeOptions): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw new Error(`${file}: cannot read image (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  try {
    const meta = await sharp(bytes).metadata();
    const swaps = (meta.orientation ?? 1) >= 5;
    const stored = { width: meta.width ?? 0, height: meta.height ?? 0 };
    const oriented = swaps ? { width: stored.height, height: stored.width } : stored;
    const expected = options.annotatedSize;
    const rawPixels =
      swaps && expected !== undefined && sameSize(expected, stored) && !sameSize(expected, oriented);
    const original = rawPixels ? stored : oriented;
    const scale = resizeScale(original.width, original.height, options.minSize, options.maxSize);
    const size = scaledSize(original.width, original.height, scale);

    let pipeline = sharp(bytes);
    if (!rawPixels) pipeline = pipeline.rotate();
    if (size.width !== original.width || size.height !== original.height) {
      pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
    }
    if (options.flip) pipeline = pipeline.flop();
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size.width || info.height !== size.height) {
      throw new Error(`decoded ${info.width}×${info.height}×${info.channels}, expected ${size.width}×${size.height}×3`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      height: size.height,
      width: size.width,
      scale,
      flipped: options.flip ?? false,
      originalWidth: original.width,
      originalHeight: original.height,
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`${file}: cannot decode image (${reason})`);
  }
}

function sameSize(a: { width: number; height: number }, b: { width: number; height: number }): boolean {
  return a.width === b.width && a.height === b.height;
}
