// The tile grid of sliced detection and sliced training (SAHI's slicing): overlapping windows of
// one size that cover the image, the last window of a row or column moved back to end at the
// image's edge rather than hanging over it, and an image smaller than a window kept whole.
import { IrRcnnError } from '../errors';

/** A window of an image, in its pixels. */
export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TileOptions {
  /** Side of a tile in pixels (square tiles). */
  size: number;
  /** Share of a tile that overlaps its neighbour, in [0, 1). */
  overlap: number;
}

/** Checks tile options; a bad value is a one-line error naming it. */
export function checkTileOptions(options: TileOptions, where: string): TileOptions {
  const { size, overlap } = options;
  if (!Number.isInteger(size) || size < 1) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `${where}.size: expected an integer >= 1, got ${String(size)}`);
  if (typeof overlap !== 'number' || !(overlap >= 0 && overlap < 1)) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `${where}.overlap: expected a number in [0, 1), got ${String(overlap)}`);
  return options;
}

/** Start offsets along one axis of `length` pixels: windows of `size` every `step`, the last flush with the end. */
function starts(length: number, size: number, step: number): number[] {
  if (length <= size) return [0];
  const out: number[] = [];
  for (let start = 0; start + size < length; start += step) out.push(start);
  out.push(length - size);
  return out;
}

/** The tiles of a width × height image, row by row. */
export function tileGrid(width: number, height: number, options: TileOptions): Tile[] {
  const { size, overlap } = options;
  // A step of at least one pixel: an overlap of 0.999 on small tiles must still advance.
  const step = Math.max(1, Math.floor(size * (1 - overlap)));
  const tiles: Tile[] = [];
  for (const y of starts(height, size, step)) {
    for (const x of starts(width, size, step)) tiles.push({ x, y, width: Math.min(size, width), height: Math.min(size, height) });
  }
  return tiles;
}
