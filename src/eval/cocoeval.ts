// COCO bounding-box evaluation with the semantics of pycocotools' COCOeval (evaluate + accumulate),
// step for step, but laid out for speed: ground truth and detections are grouped per
// (category, image) by counting sorts over index arrays, and each category is matched and
// accumulated on its own, so memory stays bounded by the largest category. For bootstrap samples
// of the images, ImageSampleEvaluator keeps every category's matches and accumulates them per sample.
import type { CocoAnnotations } from '../data/coco';
import type { Detections } from './detections';
import { boxIou } from './iou';
import type { EvalParams } from './params';

/** pycocotools' eval['precision'] [T,R,K,A,M] and eval['recall'] [T,K,A,M], row-major; -1 = undefined. */
export interface EvalArrays {
  params: EvalParams;
  /** Category ids in the order of the K axis (sorted ascending, as pycocotools does), and their names. */
  categoryIds: number[];
  categoryNames: string[];
  precision: Float64Array;
  precisionShape: [number, number, number, number, number];
  recall: Float64Array;
  recallShape: [number, number, number, number];
}

// What each kept detection turned out to be, per (area range, IoU threshold).
const FP = 0;
const TP = 1;
const IGNORED = 2;

export function evaluateDetections(gt: CocoAnnotations, dets: Detections, params: EvalParams): EvalArrays {
  const matcher = new CategoryMatcher(gt, dets, params);
  const out = matcher.emptyArrays();
  const scratch = new Scratch();
  // One category's matches at a time: memory stays bounded by the largest category.
  const results = new CategoryResults(params.areaRanges.length * params.iouThresholds.length);
  for (let k = 0; k < matcher.categories; k++) {
    const matches = matcher.match(k, results);
    const npig = new Float64Array(params.areaRanges.length);
    matches.npig.forEach((n, i) => (npig[i % npig.length] += n));
    accumulateCategory(k, results, npig, params, matcher.categories, out.precision, out.recall, scratch);
  }
  return out;
}

/**
 * The evaluation on samples of the ground truth's images drawn with replacement (a bootstrap): every
 * (category, image) is matched once, and each sample accumulates the matches of its images, an
 * image drawn twice counting as two images, as if it were there twice under two ids.
 */
export class ImageSampleEvaluator {
  /** Distinct images (ids), in id order: what a sample counts. */
  readonly images: number;
  private readonly matcher: CategoryMatcher;
  private readonly matches: CategoryMatches[] = [];
  private readonly scratch = new Scratch();

  constructor(
    gt: CocoAnnotations,
    dets: Detections,
    private readonly params: EvalParams,
  ) {
    this.matcher = new CategoryMatcher(gt, dets, params);
    this.images = this.matcher.images;
    const stride = params.areaRanges.length * params.iouThresholds.length;
    for (let k = 0; k < this.matcher.categories; k++) this.matches.push(this.matcher.match(k, new CategoryResults(stride)));
  }

  /** pycocotools' arrays on the sample that holds image i (in id order) counts[i] times. */
  evaluate(counts: ArrayLike<number>): EvalArrays {
    if (counts.length !== this.images) throw new Error(`evaluate sample: expected a count for each of the ${this.images} images, got ${counts.length}`);
    const A = this.params.areaRanges.length;
    const out = this.matcher.emptyArrays();
    const sample = new CategoryResults(A * this.params.iouThresholds.length);
    this.matches.forEach((m, k) => {
      sample.count = 0;
      const npig = new Float64Array(A);
      // Images in id order, copies next to each other: the order ties between equal scores keep.
      for (let i = 0; i < this.images; i++) {
        for (let a = 0; a < A; a++) npig[a] += counts[i] * m.npig[i * A + a];
        for (let copy = 0; copy < counts[i]; copy++) sample.appendFrom(m.results, m.imageStart[i], m.imageStart[i + 1]);
      }
      accumulateCategory(k, sample, npig, this.params, this.matcher.categories, out.precision, out.recall, this.scratch);
    });
    return out;
  }
}

/** One category's matching: every image's detections with their outcomes, and its ground truth counted per area range. */
interface CategoryMatches {
  results: CategoryResults;
  /** Image i's detections are results[imageStart[i], imageStart[i + 1]) (images in id order). */
  imageStart: Int32Array;
  /** Image i's ground truth not ignored in area range a: npig[i * A + a]. */
  npig: Float64Array;
}

/** evaluate() of pycocotools, one category at a time: the ground truth and detections grouped per (category, image). */
class CategoryMatcher {
  readonly images: number;
  readonly categories: number;
  private readonly categoryIds: number[];
  private readonly gtImage: Int32Array;
  private readonly dtImage: Int32Array;
  private readonly gtGroups: { order: Int32Array; starts: Int32Array };
  private readonly dtGroups: { order: Int32Array; starts: Int32Array };
  private readonly matcher: ImageMatcher;

  constructor(
    private readonly gt: CocoAnnotations,
    private readonly dets: Detections,
    private readonly params: EvalParams,
  ) {
    // pycocotools iterates np.unique of the ids: equal ids share a rank.
    const imageRank = ranks(gt.images.ids);
    const categoryRank = ranks(gt.categories.ids);
    this.images = imageRank.count;
    this.categories = categoryRank.count;
    this.categoryIds = categoryRank.sortedIds;
    this.gtImage = Int32Array.from(gt.annotations.imageIndex, (i) => imageRank.of[i]);
    this.dtImage = Int32Array.from(dets.imageIndex, (i) => imageRank.of[i]);
    this.gtGroups = groupByCategoryThenImage(this.gtImage, gt.annotations.categoryIndex, imageRank.count, categoryRank);
    this.dtGroups = groupByCategoryThenImage(this.dtImage, dets.categoryIndex, imageRank.count, categoryRank);
    this.matcher = new ImageMatcher(gt, dets, params, this.gtGroups.order, this.dtGroups.order);
  }

  /** Precision and recall filled with -1 (undefined), for the categories to fill in. */
  emptyArrays(): EvalArrays {
    const T = this.params.iouThresholds.length;
    const R = this.params.recallThresholds.length;
    const K = this.categories;
    const A = this.params.areaRanges.length;
    const M = this.params.maxDets.length;
    const nameOf = new Map<number, string>();
    this.gt.categories.ids.forEach((id, i) => nameOf.set(id, this.gt.categories.names[i]));
    return {
      params: this.params,
      categoryIds: this.categoryIds,
      categoryNames: this.categoryIds.map((id) => nameOf.get(id) ?? String(id)),
      precision: new Float64Array(T * R * K * A * M).fill(-1),
      precisionShape: [T, R, K, A, M],
      recall: new Float64Array(T * K * A * M).fill(-1),
      recallShape: [T, K, A, M],
    };
  }

  /** Matches category k on every image, into `results` (emptied first). */
  match(k: number, results: CategoryResults): CategoryMatches {
    const A = this.params.areaRanges.length;
    const maxDet = this.params.maxDets[this.params.maxDets.length - 1];
    const { gtImage, dtImage, gtGroups, dtGroups } = this;
    results.count = 0;
    const imageStart = new Int32Array(this.images + 1);
    const npig = new Float64Array(this.images * A);
    let g = gtGroups.starts[k];
    const gEnd = gtGroups.starts[k + 1];
    let d = dtGroups.starts[k];
    const dEnd = dtGroups.starts[k + 1];
    // Walk the images that have ground truth or detections of this category, in image-id order.
    while (g < gEnd || d < dEnd) {
      const image = Math.min(g < gEnd ? gtImage[gtGroups.order[g]] : Infinity, d < dEnd ? dtImage[dtGroups.order[d]] : Infinity);
      const g0 = g;
      while (g < gEnd && gtImage[gtGroups.order[g]] === image) g++;
      const d0 = d;
      while (d < dEnd && dtImage[dtGroups.order[d]] === image) d++;
      sortByScore(dtGroups.order, d0, d, this.dets.score);
      const before = results.count;
      this.matcher.match(g0, g, d0, Math.min(d, d0 + maxDet), results, npig.subarray(image * A, (image + 1) * A));
      imageStart[image + 1] = results.count - before;
    }
    for (let i = 0; i < this.images; i++) imageStart[i + 1] += imageStart[i];
    return { results, imageStart, npig };
  }
}

/** evaluateImg for one (image, category) over every area range and IoU threshold. */
class ImageMatcher {
  private readonly s = new Scratch();

  constructor(
    private readonly gt: CocoAnnotations,
    private readonly dets: Detections,
    private readonly params: EvalParams,
    /** Annotation and detection indices grouped per (category, image), as evaluateDetections made them. */
    private readonly gtOrder: Int32Array,
    private readonly dtOrder: Int32Array,
  ) {}

  /**
   * Ground truth gtOrder[g0..g1) (file order) against detections dtOrder[d0..d1) (sorted by score,
   * already cut at maxDet); appends the detections' outcomes to `out` and counts npig per range.
   */
  match(g0: number, g1: number, d0: number, d1: number, out: CategoryResults, npig: Float64Array): void {
    const { iouThresholds, areaRanges } = this.params;
    const ann = this.gt.annotations;
    const box = this.dets.bbox;
    const G = g1 - g0;
    const D = d1 - d0;
    const T = iouThresholds.length;
    const ious = this.s.floats('ious', D * G);
    for (let j = 0; j < D; j++) {
      for (let i = 0; i < G; i++) {
        const g = this.gtOrder[g0 + i];
        ious[j * G + i] = boxIou(box, 4 * this.dtOrder[d0 + j], ann.bbox, 4 * g, ann.iscrowd[g] !== 0);
      }
    }
    const first = out.append(D);
    for (let j = 0; j < D; j++) {
      out.score[first + j] = this.dets.score[this.dtOrder[d0 + j]];
      out.rank[first + j] = j;
    }
    const order = this.s.ints('order', G); // ground truth of this range, ignored last: positions in g0..g1
    const ignored = this.s.bytes('ignored', G); // per position in `order`
    const matched = this.s.bytes('matched', G); // per position in `order`
    const crowd = this.s.bytes('crowd', G); // per position in `order`
    if (G === 0) {
      // Nothing to match (the common case): each detection is an FP, or ignored outside the range.
      for (let j = 0; j < D; j++) {
        const d = 4 * this.dtOrder[d0 + j];
        const area = box[d + 2] * box[d + 3];
        for (let a = 0; a < areaRanges.length; a++) {
          const outcome = area < areaRanges[a].min || area > areaRanges[a].max ? IGNORED : FP;
          out.outcome.fill(outcome, (first + j) * out.stride + a * T, (first + j) * out.stride + (a + 1) * T);
        }
      }
      return;
    }
    for (let a = 0; a < areaRanges.length; a++) {
      const { min, max } = areaRanges[a];
      // Ground truth ignored in this range goes last, keeping file order otherwise (stable argsort).
      let n = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < G; i++) {
          const g = this.gtOrder[g0 + i];
          const area = ann.area[g];
          const ignore = ann.iscrowd[g] !== 0 || area < min || area > max ? 1 : 0;
          if (ignore === pass) {
            order[n] = i;
            crowd[n] = ann.iscrowd[g];
            ignored[n++] = ignore;
          }
        }
        if (pass === 0) npig[a] += n;
      }
      for (let t = 0; t < T; t++) {
        matched.fill(0, 0, G);
        for (let j = 0; j < D; j++) {
          let best = Math.min(iouThresholds[t], 1 - 1e-10);
          let m = -1;
          for (let p = 0; p < G; p++) {
            if (matched[p] && !crowd[p]) continue;
            // Once matched to a regular gt, stop at the first ignored one (they are sorted last).
            if (m > -1 && ignored[m] === 0 && ignored[p] === 1) break;
            const iou = ious[j * G + order[p]];
            if (iou < best) continue;
            best = iou;
            m = p;
          }
          const d = 4 * this.dtOrder[d0 + j];
          const area = box[d + 2] * box[d + 3];
          const outside = area < min || area > max;
          let outcome: number;
          if (m === -1) {
            outcome = outside ? IGNORED : FP;
          } else {
            matched[m] = 1;
            // pycocotools marks a match by the gt's id, so a gt with id 0 reads as "unmatched".
            if (ignored[m]) outcome = IGNORED;
            else if (ann.ids[this.gtOrder[g0 + order[m]]] !== 0) outcome = TP;
            else outcome = outside ? IGNORED : FP;
          }
          out.outcome[(first + j) * out.stride + a * T + t] = outcome;
        }
      }
    }
  }
}

/** accumulate() for one category k: fills precision[:, :, k] and recall[:, k]. */
function accumulateCategory(
  k: number,
  c: CategoryResults,
  npig: Float64Array,
  params: EvalParams,
  K: number,
  precision: Float64Array,
  recall: Float64Array,
  s: Scratch,
): void {
  const { iouThresholds, recallThresholds, maxDets, areaRanges } = params;
  const T = iouThresholds.length;
  const R = recallThresholds.length;
  const A = areaRanges.length;
  const M = maxDets.length;
  const n = c.count;
  const AT = A * T;
  // Concatenated in image order, then stably sorted by score: ties keep image order (mergesort).
  const order = s.ints('order', n);
  for (let p = 0; p < n; p++) order[p] = p;
  const score = c.score;
  order.subarray(0, n).sort((p, q) => score[q] - score[p] || p - q);
  // Copies in score order, one contiguous row per (area, IoU), so the passes below read sequentially.
  const rank = s.ints('rank', n);
  const outcome = s.bytes('outcome', AT * n);
  for (let i = 0; i < n; i++) {
    const p = order[i];
    rank[i] = c.rank[p];
    for (let at = 0; at < AT; at++) outcome[at * n + i] = c.outcome[p * AT + at];
  }
  // Detections kept under each maxDets; where a smaller maxDets keeps them all, its answers are
  // those of the next larger one, copied rather than computed again.
  const kept = maxDets.map((maxDet) => rank.subarray(0, n).reduce((count, r) => count + (r < maxDet ? 1 : 0), 0));
  const rc = s.floats('rc', n);
  const pr = s.floats('pr', n);
  for (let a = 0; a < A; a++) {
    if (npig[a] === 0) continue;
    for (let m = M - 1; m >= 0; m--) {
      const maxDet = maxDets[m];
      if (m < M - 1 && kept[m] === kept[m + 1]) {
        for (let t = 0; t < T; t++) {
          recall[((t * K + k) * A + a) * M + m] = recall[((t * K + k) * A + a) * M + m + 1];
          for (let r = 0; r < R; r++) {
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            precision[at] = precision[at + 1];
          }
        }
        continue;
      }
      for (let t = 0; t < T; t++) {
        const row = (a * T + t) * n;
        let tp = 0;
        let fp = 0;
        let nd = 0;
        for (let i = 0; i < n; i++) {
          if (rank[i] >= maxDet) continue;
          const o = outcome[row + i];
          if (o === TP) tp++;
          else if (o === FP) fp++;
          rc[nd] = tp / npig[a];
          pr[nd] = tp / (fp + tp + Number.EPSILON);
          nd++;
        }
        recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
        // Precision envelope, right to left.
        for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        // searchsorted(rc, recallThresholds, side='left'); past the end stays 0.
        let i = 0;
        for (let r = 0; r < R; r++) {
          while (i < nd && rc[i] < recallThresholds[r]) i++;
          precision[(((t * R + r) * K + k) * A + a) * M + m] = i < nd ? pr[i] : 0;
        }
      }
    }
  }
}

/** The kept detections of one category: score, rank within its image, outcome per (area, IoU). */
class CategoryResults {
  count = 0;
  score = new Float64Array(256);
  rank = new Int32Array(256);
  outcome: Uint8Array;

  constructor(readonly stride: number) {
    this.outcome = new Uint8Array(256 * stride);
  }

  /** Appends `from`'s entries [start, end). */
  appendFrom(from: CategoryResults, start: number, end: number): void {
    const first = this.append(end - start);
    this.score.set(from.score.subarray(start, end), first);
    this.rank.set(from.rank.subarray(start, end), first);
    this.outcome.set(from.outcome.subarray(start * this.stride, end * this.stride), first * this.stride);
  }

  /** Makes room for n more; returns the first new position. */
  append(n: number): number {
    const first = this.count;
    this.count += n;
    if (this.count > this.score.length) {
      const size = Math.max(this.count, 2 * this.score.length);
      this.score = resized(this.score, size);
      this.rank = resized(this.rank, size);
      this.outcome = resized(this.outcome, size * this.stride);
    }
    return first;
  }
}

function resized<A extends Float64Array | Int32Array | Uint8Array>(a: A, size: number): A {
  const b = new (a.constructor as new (n: number) => A)(size);
  b.set(a);
  return b;
}

/** Reusable typed buffers, grown on demand, so the per-image loop does not allocate (each is at least n long). */
class Scratch {
  private readonly buffers = new Map<string, Float64Array | Int32Array | Uint8Array>();
  floats(name: string, n: number): Float64Array {
    return this.get(name, n, Float64Array);
  }
  ints(name: string, n: number): Int32Array {
    return this.get(name, n, Int32Array);
  }
  bytes(name: string, n: number): Uint8Array {
    return this.get(name, n, Uint8Array);
  }
  private get<A extends Float64Array | Int32Array | Uint8Array>(name: string, n: number, make: new (n: number) => A): A {
    let b = this.buffers.get(name) as A | undefined;
    if (!b || b.length < n) {
      b = new make(Math.max(n, 2 * (b?.length ?? 0), 64));
      this.buffers.set(name, b);
    }
    return b;
  }
}

interface Ranks {
  /** Rank of each entry's id among the distinct ids, ascending. */
  of: Int32Array;
  count: number;
  sortedIds: number[];
}

function ranks(ids: ArrayLike<number>): Ranks {
  const order = Array.from({ length: ids.length }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
  const of = new Int32Array(ids.length);
  const sortedIds: number[] = [];
  for (const i of order) {
    if (sortedIds.length === 0 || sortedIds[sortedIds.length - 1] !== ids[i]) sortedIds.push(ids[i]);
    of[i] = sortedIds.length - 1;
  }
  return { of, count: sortedIds.length, sortedIds };
}

/** Entry indices ordered by (category rank, image rank, input order), with per-category starts. */
function groupByCategoryThenImage(
  imageRankOf: Int32Array,
  categoryIndex: Int32Array,
  images: number,
  categories: Ranks,
): { order: Int32Array; starts: Int32Array } {
  const identity = Int32Array.from({ length: imageRankOf.length }, (_, i) => i);
  const byImage = countingSort(identity, imageRankOf, images).order;
  const categoryRankOf = Int32Array.from(categoryIndex, (c) => categories.of[c]);
  return countingSort(byImage, categoryRankOf, categories.count);
}

/** Stable counting sort of `items` by key[item] in [0, buckets). */
function countingSort(items: Int32Array, key: Int32Array, buckets: number): { order: Int32Array; starts: Int32Array } {
  const starts = new Int32Array(buckets + 1);
  for (let i = 0; i < items.length; i++) starts[key[items[i]] + 1]++;
  for (let b = 0; b < buckets; b++) starts[b + 1] += starts[b];
  const next = starts.slice(0, buckets);
  const order = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) order[next[key[items[i]]]++] = items[i];
  return { order, starts };
}

/** Sorts order[start..end) (detection indices in input order) by score, highest first, stably. */
function sortByScore(order: Int32Array, start: number, end: number, score: Float64Array): void {
  if (end - start <= 16) {
    // Insertion sort: stable, and the runs are mostly this short.
    for (let i = start + 1; i < end; i++) {
      const v = order[i];
      let j = i - 1;
      while (j >= start && score[order[j]] < score[v]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
  } else {
    order.subarray(start, end).sort((p, q) => score[q] - score[p] || p - q);
  }
}
