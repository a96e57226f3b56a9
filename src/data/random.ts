// A small seeded random generator (mulberry32). The data pipeline and the synthetic set must be
// reproducible from a seed on any machine and any Node version, which Math.random is not.

/** mulberry32's stream from `state` as given: uniform numbers in [0, 1). */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  /** Uniform in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    // Mixing the seed once keeps nearby seeds (0, 1, 2, ...) from starting on nearby streams.
    this.next = mulberry32(hash32(seed >>> 0, 0x9e3779b9));
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const v = values[i];
      values[i] = values[j];
      values[j] = v;
    }
    return values;
  }
}

/** A 32-bit hash of two 32-bit values: seeds derived from (seed, epoch), (seed, image), ... */
export function hash32(a: number, b: number): number {
  return fmix32(Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51) ^ Math.imul(b ^ 0xc2b2ae35, 0x1b873593));
}

/** murmur3's finaliser: every input bit flips each output bit with probability about one half. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
