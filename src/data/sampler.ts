// Which images each rank trains on, batch by batch. Like torch's DistributedSampler: every epoch
// is shuffled with a seed derived from (seed, epoch), padded by repeating its start to a multiple
// of the world size, and rank r takes positions r, r + W, r + 2W, ... So the ranks' shards are
// disjoint (up to the padding), cover the set, and have equal length, and every rank yields the
// same number of batches (DDP steps in lockstep). Batches are formed within aspect-ratio groups
// (w >= h, w < h), as torchvision's GroupedBatchSampler, so padding to a common size wastes little.
import { hash32, Random } from './random';

export interface SamplerOptions {
  seed: number;
  rank: number;
  worldSize: number;
  shuffle: boolean;
}

/** This rank's positions (indices into `count` items) for one epoch. */
export function shardIndices(count: number, epoch: number, options: SamplerOptions): Int32Array {
  const { seed, rank, worldSize, shuffle } = options;
  const order = Int32Array.from({ length: count }, (_, i) => i);
  if (shuffle) new Random(hash32(seed, epoch)).shuffle(order);
  const perRank = Math.ceil(count / worldSize);
  const shard = new Int32Array(perRank);
  for (let k = 0; k < perRank; k++) shard[k] = order[(rank + k * worldSize) % count];
  return shard;
}

/** Batches per epoch on every rank: floor(shard / batchSize), at least one. */
export function batchesPerEpoch(count: number, worldSize: number, batchSize: number): number {
  return Math.max(1, Math.floor(Math.ceil(count / worldSize) / batchSize));
}

/**
 * Splits a shard into `batches` batches of `batchSize`. With `group`, each batch holds one group
 * only: items go to their group's open batch in shard order; when the shard runs out before
 * `batches` are full, the fullest open batch is completed by repeating its group's items, as
 * torchvision's GroupedBatchSampler does.
 */
export function makeBatches(
  shard: Int32Array,
  batchSize: number,
  batches: number,
  group?: (item: number) => number,
): number[][] {
  const out: number[][] = [];
  if (!group) {
    for (let b = 0; b < batches; b++) {
      out.push(Array.from({ length: batchSize }, (_, k) => shard[(b * batchSize + k) % shard.length]));
    }
    return out;
  }
  const open = new Map<number, number[]>();
  const members = new Map<number, number[]>();
  for (let i = 0; i < shard.length && out.length < batches; i++) {
    const g = group(shard[i]);
    const batch = open.get(g) ?? [];
    batch.push(shard[i]);
    const seen = members.get(g) ?? [];
    seen.push(shard[i]);
    members.set(g, seen);
    if (batch.length === batchSize) {
      out.push(batch);
      open.delete(g);
    } else {
      open.set(g, batch);
    }
  }
  while (out.length < batches) {
    // The fullest open batch first; ties go to the smaller group id, so the order is deterministic.
    const [g, batch] = [...open.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0])[0];
    const pool = members.get(g) as number[];
    for (let k = 0; batch.length < batchSize; k++) batch.push(pool[k % pool.length]);
    out.push(batch);
    open.delete(g);
  }
  return out;
}

/** Whether image `index` of an epoch gets mirrored: a coin from (seed, epoch, index), rank-free. */
export function flipCoin(seed: number, epoch: number, index: number): boolean {
  // The xor keeps the flip coins apart from the shuffle stream of the same (seed, epoch).
  return new Random(hash32(hash32(seed ^ 0x5f1f, epoch), index)).next() < 0.5;
}
