// Pixel drawing for the synthetic small-object set, in plain JS on an RGB float canvas so the
// result depends only on the seed (no font, no canvas library, no GPU). Shapes are defined in
// normalized box coordinates (u, v ∈ [-1, 1]) and rendered with 4×4 supersampling, so a shape's
// few-pixel details survive as partial coverage instead of aliasing away.
import { Random } from './random';

export type Rgb = [number, number, number];

/** What a point of a shape is: outside (background shows), body colour or detail colour. */
export const enum Paint {
  Outside = 0,
  Body = 1,
  Detail = 2,
}

/** A shape: the paint at normalized box coordinates (u, v) ∈ [-1, 1]². */
export type Shape = (u: number, v: number) => Paint;

export class Canvas {
  readonly pixels: Float32Array;

  constructor(readonly width: number, readonly height: number) {
    this.pixels = new Float32Array(width * height * 3);
  }

  /**
   * Textured background: the colour modulated by two octaves of smooth value noise (cells of 48
   * and 12 pixels), like uneven ground seen from above.
   */
  fillTexture(random: Random, color: Rgb, strength: number): void {
    const coarse = valueNoise(random, this.width, this.height, 48);
    const fine = valueNoise(random, this.width, this.height, 12);
    for (let p = 0; p < this.width * this.height; p++) {
      const shade = 1 + strength * (0.65 * coarse[p] + 0.35 * fine[p] - 0.5) * 2;
      for (let c = 0; c < 3; c++) this.pixels[3 * p + c] = color[c] * shade;
    }
  }

  /** Paints `shape` stretched over the box (x, y, w, h) with the given colours. */
  draw(shape: Shape, x: number, y: number, w: number, h: number, body: Rgb, detail: Rgb): void {
    const n = 4;
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.ceil(x + w));
    const y1 = Math.min(this.height, Math.ceil(y + h));
    for (let py = y0; py < y1; py++) {
      for (let px = x0; px < x1; px++) {
        let r = 0;
        let g = 0;
        let b = 0;
        let covered = 0;
        for (let sy = 0; sy < n; sy++) {
          const v = (2 * (py + (sy + 0.5) / n - y)) / h - 1;
          for (let sx = 0; sx < n; sx++) {
            const u = (2 * (px + (sx + 0.5) / n - x)) / w - 1;
            const paint = shape(u, v);
            if (paint === Paint.Outside) continue;
            const color = paint === Paint.Body ? body : detail;
            r += color[0];
            g += color[1];
            b += color[2];
            covered++;
          }
        }
        if (covered === 0) continue;
        const keep = 1 - covered / (n * n);
        const i = 3 * (py * this.width + px);
        this.pixels[i] = this.pixels[i] * keep + r / (n * n);
        this.pixels[i + 1] = this.pixels[i + 1] * keep + g / (n * n);
        this.pixels[i + 2] = this.pixels[i + 2] * keep + b / (n * n);
      }
    }
  }

  /** Separable Gaussian blur (edges clamped): the optics that smear tiny details together. */
  blur(sigma: number): void {
    const radius = Math.ceil(2.5 * sigma);
    const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
    const total = kernel.reduce((a, b) => a + b, 0);
    const weights = kernel.map((k) => k / total);
    const { width, height } = this;
    const tmp = new Float32Array(this.pixels.length);
    const pass = (src: Float32Array, dst: Float32Array, horizontal: boolean) => {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let r = 0;
          let g = 0;
          let b = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = horizontal ? Math.min(width - 1, Math.max(0, x + k)) : x;
            const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + k));
            const i = 3 * (yy * width + xx);
            const wk = weights[k + radius];
            r += wk * src[i];
            g += wk * src[i + 1];
            b += wk * src[i + 2];
          }
          const o = 3 * (y * width + x);
          dst[o] = r;
          dst[o + 1] = g;
          dst[o + 2] = b;
        }
      }
    };
    pass(this.pixels, tmp, true);
    pass(tmp, this.pixels, false);
  }

  /** Sensor noise: independent Gaussian per sample, then rounding to uint8 RGB. */
  toBytes(random: Random, noiseSigma: number): Uint8Array {
    const out = new Uint8Array(this.pixels.length);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.min(255, Math.max(0, Math.round(this.pixels[i] + noiseSigma * random.normal())));
    }
    return out;
  }
}

/** Smooth noise in [0, 1]: random values on a grid of `cell` pixels, bilinearly interpolated. */
function valueNoise(random: Random, width: number, height: number, cell: number): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => random.next());
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const iy = Math.floor(gy);
    const fy = smooth(gy - iy);
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const ix = Math.floor(gx);
      const fx = smooth(gx - ix);
      const top = grid[iy * gw + ix] * (1 - fx) + grid[iy * gw + ix + 1] * fx;
      const bottom = grid[(iy + 1) * gw + ix] * (1 - fx) + grid[(iy + 1) * gw + ix + 1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** An RGB colour from hue, saturation, value in [0, 1] (scaled to 0..255). */
export function hsv(h: number, s: number, v: number): Rgb {
  const k = (n: number) => (n + h * 6) % 6;
  const f = (n: number) => 255 * v * (1 - s * Math.max(0, Math.min(k(n), 4 - k(n), 1)));
  return [f(5), f(3), f(1)];
}
