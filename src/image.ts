// Decoding images for detection: a path or an encoded Buffer (JPEG, PNG, WebP, ...) to 8-bit RGB
// pixels, row-major HWC, with the EXIF orientation applied, grey levels copied to R, G and B, and
// any alpha channel dropped.
import sharp from 'sharp';
import { IrRcnnError } from './errors';
import type { ImageSource, RgbImage } from './types';

/** Names an image source in messages: the path, or `image #i` for a Buffer. */
export function describeSource(source: ImageSource, index: number): string {
  return typeof source === 'string' ? source : `image #${index} (buffer)`;
}

/** Decodes one image; a missing, unreadable or corrupt image is a one-line ERR_IMAGE_DECODE naming it. */
export async function decodeRgb(source: ImageSource, index = 0): Promise<RgbImage> {
  const name = describeSource(source, index);
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(source, { failOn: 'error' }).rotate().removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new IrRcnnError('ERR_IMAGE_DECODE', `${name}: cannot decode image (${reason})`);
  }
  const { width, height, channels } = raw.info;
  const pixels = width * height;
  if (channels === 3) return { data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, pixels * 3), height, width };
  if (channels !== 1) throw new IrRcnnError('ERR_IMAGE_DECODE', `${name}: unsupported image with ${channels} channels`);
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = raw.data[i];
  return { data: rgb, height, width };
}
