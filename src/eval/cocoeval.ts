// COCO bounding-box evaluation with the semantics of pycocotools' COCOeval (evaluate + accumulate),
// step for step, but laid out for speed. The detections are put once in the order accumulate()
// ranks them (a stable radix sort by score, then counting sorts, no comparisons). Each category
// is then matched in that order: pycocotools matches each image's detections greedily by score,
// and an image's detections come in that same order here, interleaved with other images' (whose
// matches they cannot change). Most detections match nothing, and an unmatched detection's
// outcome depends only on its area: so only the matches that change an outcome are recorded, and
// accumulating counts the rest as it goes. Besides a copy of the detections' images and boxes in
// ranking order, memory stays bounded by the largest category. For bootstrap samples of the
// images, ImageSampleEvaluator keeps every category's matches and accumulates them per sample.
import type { CocoAnnotations } from '../data/coco';
import { Growable } from '../data/growable';
import type { Detections } from './detections';
import { boxIou } from './iou';
import type { AreaRange, EvalParams } from './params';

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

export function evaluateDetections(gt: CocoAnnotations, dets: Detections, params: EvalParams): EvalArrays {
  const matcher = new CategoryMatcher(gt, dets, params);
  const accumulator = new Accumulator();
  const out = matcher.emptyArrays();
  for (let k = 0; k < matcher.categories; k++) {
    const matched = matcher.match(k);
    accumulator.category(k, rankingOf(matched), matched.npigOf(), out);
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
  private readonly matched: MatchedCategory[] = [];
  private readonly runStarts: Uint8Array[] = [];
  private readonly accumulator = new Accumulator();

  constructor(gt: CocoAnnotations, dets: Detections, params: EvalParams) {
    this.matcher = new CategoryMatcher(gt, dets, params);
    this.images = this.matcher.images;
    for (let k = 0; k < this.matcher.categories; k++) {
      this.matched.push(this.matcher.match(k).copy());
      this.runStarts.push(this.matcher.runStarts(k));
    }
  }

  /** pycocotools' arrays on the sample that holds image i (in id order) counts[i] times. */
  evaluate(counts: ArrayLike<number>): EvalArrays {
    if (counts.length !== this.images) throw new Error(`evaluate sample: expected a count for each of the ${this.images} images, got ${counts.length}`);
    const out = this.matcher.emptyArrays();
    const places = new Growable((n) => new Int32Array(n));
    this.matched.forEach((m, k) => {
      // The copies of an image have ids next to each other, so between equal scores the ranking
      // keeps image id, then copy, then the image's own order: each run of one image's detections
      // with one score comes as many times as the image, copy after copy.
      const runStart = this.runStarts[k];
      places.length = 0;
      for (let start = 0; start < m.count; ) {
        let end = start + 1;
        while (end < m.count && !runStart[end]) end++;
        for (let copy = 0; copy < counts[m.image[start]]; copy++) for (let p = start; p < end; p++) places.push(p);
        start = end;
      }
      this.accumulator.category(k, rankingOf(m, places.view()), m.npigOf(counts), out);
    });
    return out;
  }
}

/**
 * One category matched: its detections in ranking order and what matching made of them. Its
 * arrays are the matcher's, reused for the next category, unless copied.
 */
class MatchedCategory {
  constructor(
    readonly params: EvalParams,
    readonly count: number,
    /** Each detection's image rank. */
    readonly image: Int32Array,
    /** Each detection's rank among its image's detections: maxDets cut on it. */
    readonly rank: Int32Array,
    /** Row a: 1 where a detection's area is inside area range a (unmatched, it is then a false positive; outside, ignored). */
    readonly inside: Uint8Array,
    /**
     * The matches that change an outcome, each 2 × (row a × T + t) + 1 for a true positive or + 0
     * for a detection inside that matched ignored ground truth; place p's are
     * exceptions[exceptionStart[p] .. exceptionStart[p + 1]).
     */
    readonly exceptions: Int32Array,
    readonly exceptionStart: Int32Array,
    /** The images with ground truth of the category, and their ground truth not ignored, A per image. */
    readonly gtImages: Int32Array,
    readonly gtNpig: Float64Array,
  ) {}

  /** The same, in arrays of its own. */
  copy(): MatchedCategory {
    const { params, count, image, rank, inside, exceptions, exceptionStart, gtImages, gtNpig } = this;
    return new MatchedCategory(params, count, image, rank.slice(), inside.slice(), exceptions.slice(), exceptionStart.slice(), gtImages.slice(), gtNpig.slice());
  }

  /** npig: ground truth not ignored per area range, with image i counted counts[i] times (default once). */
  npigOf(counts?: ArrayLike<number>): Float64Array {
    const A = this.params.areaRanges.length;
    const npig = new Float64Array(A);
    for (let b = 0; b < this.gtImages.length; b++) {
      const times = counts ? counts[this.gtImages[b]] : 1;
      for (let a = 0; a < A; a++) npig[a] += times * this.gtNpig[b * A + a];
    }
    return npig;
  }
}

/** evaluate() of pycocotools, one category at a time, over the detections put in ranking order once. */
class CategoryMatcher {
  readonly images: number;
  readonly categories: number;
  private readonly categoryIds: number[];
  private readonly gtGroups: { order: Int32Array; starts: Int32Array };
  private readonly ranked: RankedDetections;
  private readonly truth: CategoryGroundTruth;
  /** Detections seen so far per image rank, while ranks are given. */
  private readonly seen: Int32Array;
  // What match() answers in, reused from one category to the next.
  private readonly rank = new Reused((n) => new Int32Array(n));
  private readonly inside = new Reused((n) => new Uint8Array(n));
  private readonly exceptions = new Growable((n) => new Int32Array(n));
  private readonly exceptionStart = new Reused((n) => new Int32Array(n));
  private readonly ious = new Reused((n) => new Float64Array(n));

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
    const ann = gt.annotations;
    const gtImage = gather(imageRank.of, ann.imageIndex);
    // Ground truth per (category, image), in file order.
    this.gtGroups = countingSort(countingSort(identity(ann.ids.length), gtImage, this.images).order, gather(categoryRank.of, ann.categoryIndex), this.categories);
    this.ranked = rankDetections(dets, imageRank, categoryRank);
    this.truth = new CategoryGroundTruth(gt, params, gtImage, this.images);
    this.seen = new Int32Array(this.images);
  }

  /**
   * 1 at each place of category k's ranking that starts a run of one image's detections with one
   * score (what a copy of the image repeats in a sample, see ImageSampleEvaluator).
   */
  runStarts(k: number): Uint8Array {
    const { starts, order, image } = this.ranked;
    const score = this.dets.score;
    const runStart = new Uint8Array(starts[k + 1] - starts[k]);
    for (let p = starts[k]; p < starts[k + 1]; p++) {
      const i = p - starts[k];
      runStart[i] = i === 0 || image[p] !== image[p - 1] || score[order[p]] !== score[order[p - 1]] ? 1 : 0;
    }
    return runStart;
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

  /**
   * evaluateImg for every (image, area range, IoU threshold) of category k, detection by detection.
   * Each loop is in a function that ends with it: V8 optimises a loop of the first categories while
   * it runs and enters that code again for the next ones, where code after the loop that had not
   * run yet when it was optimised would deoptimise every time.
   */
  match(k: number): MatchedCategory {
    const start = this.ranked.starts[k];
    const n = this.ranked.starts[k + 1] - start;
    const image = this.ranked.image.subarray(start, start + n);
    const box = this.ranked.box.subarray(4 * start, 4 * (start + n));
    const rank = this.rank.get(n);
    this.seen.fill(0);
    ranksInImages(image, this.seen, rank);
    const inside = this.inside.get(this.params.areaRanges.length * n);
    insideAreaRanges(box, this.params.areaRanges, inside);
    const truth = this.truth;
    truth.load(this.gtGroups.order.subarray(this.gtGroups.starts[k], this.gtGroups.starts[k + 1]));
    this.exceptions.length = 0;
    const exceptionStart = this.exceptionStart.get(n + 1);
    this.matchDetections(image, box, rank, inside, exceptionStart);
    exceptionStart[n] = this.exceptions.length;
    const matchedCategory = new MatchedCategory(
      this.params, n, image, rank, inside, this.exceptions.view(), exceptionStart, truth.gtImages.view(), truth.gtNpig.view(),
    );
    truth.unload();
    return matchedCategory;
  }

  /**
   * Matches the detections (`image`, `box`, ...) with the loaded ground truth, appending the
   * exceptions to this.exceptions and where each detection's start to exceptionStart.
   */
  private matchDetections(image: Int32Array, box: Float64Array, rank: Int32Array, inside: Uint8Array, exceptionStart: Int32Array): void {
    const { iouThresholds, areaRanges, maxDets } = this.params;
    const T = iouThresholds.length;
    const A = areaRanges.length;
    const maxDet = maxDets[maxDets.length - 1];
    const n = image.length;
    const { ann, from, to, slot, ignored, matched } = this.truth;
    const G = ann.length;
    const { bbox, iscrowd, ids } = this.gt.annotations;
    const thresholds = Array.from(iouThresholds, (t) => Math.min(t, 1 - 1e-10));
    const exceptions = this.exceptions;
    // IoUs of a detection with its image's ground truth (at most G).
    const ious = this.ious.get(G);
    for (let p = 0; p < n; p++) {
      exceptionStart[p] = exceptions.length;
      const g0 = from[image[p]];
      const g1 = to[image[p]];
      // No ground truth of this category in the image (the common case): nothing to match.
      if (g0 === g1 || rank[p] >= maxDet) continue;
      let maxIou = 0;
      for (let i = g0; i < g1; i++) {
        ious[i - g0] = boxIou(box, 4 * p, bbox, 4 * ann[i], iscrowd[ann[i]] !== 0);
        maxIou = Math.max(maxIou, ious[i - g0]);
      }
      for (let a = 0; a < A; a++) {
        const slots = a * G;
        for (let t = 0; t < T; t++) {
          let best = thresholds[t];
          if (maxIou < best) continue;
          const taken = (a * T + t) * G;
          let m = -1;
          for (let q = g0; q < g1; q++) {
            if (matched[taken + q] && !iscrowd[ann[g0 + slot[slots + q]]]) continue;
            // Once matched to a regular gt, stop at the first ignored one (they are sorted last).
            if (m > -1 && ignored[slots + m] === 0 && ignored[slots + q] === 1) break;
            const iou = ious[slot[slots + q]];
            if (iou < best) continue;
            best = iou;
            m = q;
          }
          if (m === -1) continue;
          matched[taken + m] = 1;
          // Matching an ignored gt makes the detection ignored; a regular one, a true positive,
          // except that pycocotools marks a match by the gt's id, so a gt with id 0 reads as unmatched.
          const truePositive = !ignored[slots + m] && ids[ann[g0 + slot[slots + m]]] !== 0;
          if (truePositive || (ignored[slots + m] && inside[a * n + p])) exceptions.push(2 * (a * T + t) + (truePositive ? 1 : 0));
        }
      }
    }
  }
}

/** Each detection's rank among its image's (in ranking order): maxDets cut on it. `seen` counts per image, from 0. */
function ranksInImages(image: Int32Array, seen: Int32Array, rank: Int32Array): void {
  for (let p = 0; p < image.length; p++) rank[p] = seen[image[p]]++;
}

/** Row a of `inside`: 1 where a box's area is inside area range a. */
function insideAreaRanges(box: Float64Array, areaRanges: AreaRange[], inside: Uint8Array): void {
  const n = box.length / 4;
  for (let a = 0; a < areaRanges.length; a++) {
    const { min, max } = areaRanges[a];
    for (let p = 0; p < n; p++) {
      const area = box[4 * p + 2] * box[4 * p + 3];
      inside[a * n + p] = area < min || area > max ? 0 : 1;
    }
  }
}

interface RankedDetections {
  /** Where each category's detections start in the ranking (K + 1). */
  starts: Int32Array;
  /** The detection at each place of the ranking, and its image rank and box. */
  order: Int32Array;
  image: Int32Array;
  box: Float64Array;
}

/**
 * The detections in the order accumulate() ranks them, category by category: by score, ties by
 * image id, then by their order in the image (by score, ties in input order), that is score, image
 * id, input order.
 */
function rankDetections(dets: Detections, imageRank: Ranks, categoryRank: Ranks): RankedDetections {
  const dtImage = gather(imageRank.of, dets.imageIndex);
  const byScore = sortByScoreDescending(countingSort(identity(dets.count), dtImage, imageRank.count).order, dets.score);
  const { order, starts } = countingSort(byScore, gather(categoryRank.of, dets.categoryIndex), categoryRank.count);
  // Images and boxes copied in input order: reading the detections in ranking order instead would
  // wait on memory for almost every one.
  const place = inverse(order);
  return { starts, order, image: scatter(dtImage, place), box: scatterBoxes(dets.bbox, place) };
}

/** The permutation that undoes `order`: where each item of it is. */
function inverse(order: Int32Array): Int32Array {
  const place = new Int32Array(order.length);
  for (let p = 0; p < order.length; p++) place[order[p]] = p;
  return place;
}

/** values[i] put at place[i]. */
function scatter(values: Int32Array, place: Int32Array): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[place[i]] = values[i];
  return out;
}

/** Box i (4 values) put at place[i]. */
function scatterBoxes(boxes: Float64Array, place: Int32Array): Float64Array {
  const out = new Float64Array(boxes.length);
  for (let i = 0; i < place.length; i++) {
    const p = place[i];
    out[4 * p] = boxes[4 * i];
    out[4 * p + 1] = boxes[4 * i + 1];
    out[4 * p + 2] = boxes[4 * i + 2];
    out[4 * p + 3] = boxes[4 * i + 3];
  }
  return out;
}

/**
 * One category's ground truth by image, and per area range in the order evaluateImg matches it:
 * slot q of range a, in its image's block of slots, holds the position in the block (file order)
 * of the gt matched q-th, regular ground truth first, then that range's ignored one, each in file
 * order (a stable argsort). Also: which slots are matched, per (range, IoU threshold), and each
 * image's ground truth not ignored per range.
 */
class CategoryGroundTruth {
  /** Annotation indices, grouped by image in image-id order, file order within. */
  ann: Int32Array = new Int32Array(0);
  /** The block of slots of each image rank: [from, to). */
  readonly from: Int32Array;
  readonly to: Int32Array;
  slot = new Int32Array(0);
  ignored = new Uint8Array(0);
  matched = new Uint8Array(0);
  /** The images with ground truth, and their npig per area range (A per image). */
  readonly gtImages = new Growable((n) => new Int32Array(n));
  readonly gtNpig = new Growable((n) => new Float64Array(n));

  constructor(
    private readonly gt: CocoAnnotations,
    private readonly params: EvalParams,
    private readonly gtImage: Int32Array,
    I: number,
  ) {
    this.from = new Int32Array(I);
    this.to = new Int32Array(I);
  }

  load(ann: Int32Array): void {
    const { areaRanges, iouThresholds } = this.params;
    const A = areaRanges.length;
    const G = ann.length;
    const { area, iscrowd } = this.gt.annotations;
    this.ann = ann;
    if (this.slot.length < A * G) {
      this.slot = new Int32Array(A * G);
      this.ignored = new Uint8Array(A * G);
      this.matched = new Uint8Array(A * iouThresholds.length * G);
    } else {
      this.matched.fill(0, 0, A * iouThresholds.length * G);
    }
    const { gtImages, gtNpig } = this;
    gtImages.length = gtNpig.length = 0;
    for (let start = 0; start < G; ) {
      const image = this.gtImage[ann[start]];
      let end = start;
      while (end < G && this.gtImage[ann[end]] === image) end++;
      this.from[image] = start;
      this.to[image] = end;
      gtImages.push(image);
      for (let a = 0; a < A; a++) {
        const { min, max } = areaRanges[a];
        let q = a * G + start;
        let regular = 0;
        for (let pass = 0; pass < 2; pass++) {
          for (let i = start; i < end; i++) {
            const g = ann[i];
            const ignore = iscrowd[g] !== 0 || area[g] < min || area[g] > max ? 1 : 0;
            if (ignore !== pass) continue;
            this.slot[q] = i - start;
            this.ignored[q++] = ignore;
            regular += 1 - ignore;
          }
        }
        gtNpig.push(regular);
      }
      start = end;
    }
  }

  /** Leaves every image without ground truth again. */
  unload(): void {
    for (let i = 0; i < this.ann.length; i++) {
      const image = this.gtImage[this.ann[i]];
      this.from[image] = this.to[image] = 0;
    }
  }
}

/**
 * A category's detections in the order accumulate() walks them: each one's rank in its image
 * (maxDets cut on it), whether it is inside each area range (row a of `inside`), and per (area
 * range, IoU threshold) row the matches that change an outcome: row r's are values[starts[r] ..
 * starts[r + 1]), each 2 × position + 1 for a true positive or + 0 for a detection inside that
 * matched ignored ground truth, in walking order.
 */
interface Ranking {
  count: number;
  rank: Int32Array;
  inside: Uint8Array;
  exceptions: { starts: Int32Array; values: Int32Array };
}

/**
 * The Ranking of m's detections at `places` of its ranking, in that order (a sample repeats some),
 * or of all of them in ranking order.
 */
function rankingOf(m: MatchedCategory, places?: Int32Array): Ranking {
  const A = m.params.areaRanges.length;
  const count = places ? places.length : m.count;
  const placeAt = (j: number) => (places ? places[j] : j);
  let total = 0;
  for (let j = 0; j < count; j++) total += m.exceptionStart[placeAt(j) + 1] - m.exceptionStart[placeAt(j)];
  // (row, value) pairs in walking order, then grouped by row.
  const pairs = new Int32Array(2 * total);
  for (let j = 0, i = 0; j < count; j++) {
    const p = placeAt(j);
    for (let e = m.exceptionStart[p]; e < m.exceptionStart[p + 1]; e++, i += 2) {
      pairs[i] = m.exceptions[e] >> 1;
      pairs[i + 1] = 2 * j + (m.exceptions[e] & 1);
    }
  }
  const exceptions = byRow(pairs, A * m.params.iouThresholds.length);
  if (!places) return { count, rank: m.rank, inside: m.inside, exceptions };
  const rank = Int32Array.from(places, (p) => m.rank[p]);
  const inside = new Uint8Array(A * count);
  for (let a = 0; a < A; a++) for (let j = 0; j < count; j++) inside[a * count + j] = m.inside[a * m.count + places[j]];
  return { count, rank, inside, exceptions };
}

/**
 * accumulate(), one category at a time, with buffers kept from one to the next. pycocotools
 * computes recall and precision at every detection; but recall only rises at a true positive and
 * precision only falls between two, so the precision envelope at the first detection reaching a
 * recall threshold is the one at the first true positive reaching it. Only true positives are
 * evaluated here, with the same expressions, so the numbers are the same.
 */
class Accumulator {
  // precision[:, :, k] laid out [T, R, A, M] while it is computed: each write then lands near the
  // last, and the whole is copied into place once, in order.
  private readonly q = new Reused((n) => new Float64Array(n));
  // Recall and precision at each true positive of a row.
  private readonly rc = new Reused((n) => new Float64Array(n));
  private readonly pr = new Reused((n) => new Float64Array(n));
  // 1 where a detection is kept under the maxDets at hand (its rank in its image is below it).
  private readonly counted = new Reused((n) => new Uint8Array(n));
  // Kept detections before each position that are false positives unless matched (inside the range).
  private readonly insideBefore = new Reused((n) => new Int32Array(n));

  /**
   * Fills precision[:, :, k] and recall[:, k] of `out` from the ranking of category k's detections.
   * Its loops are functions of their own, as match()'s are (see there).
   */
  category(k: number, ranking: Ranking, npig: Float64Array, out: EvalArrays): void {
    const { iouThresholds, recallThresholds, maxDets, areaRanges } = out.params;
    const T = iouThresholds.length;
    const R = recallThresholds.length;
    const A = areaRanges.length;
    const M = maxDets.length;
    const K = out.precisionShape[2];
    const { count: n, rank, inside, exceptions } = ranking;
    const q = this.q.get(T * R * A * M).fill(-1);
    const rc = this.rc.get(n);
    const pr = this.pr.get(n);
    const counted = this.counted.get(n);
    const insideBefore = this.insideBefore.get(n);
    // Detections kept under the previous (larger) maxDets, pycocotools' nd: where a smaller maxDets
    // keeps as many, its answers are the larger one's, copied rather than computed again.
    let keptBefore = -1;
    for (let m = M - 1; m >= 0; m--) {
      const kept = countKept(rank, maxDets[m], counted);
      const copy = kept === keptBefore;
      keptBefore = kept;
      for (let a = 0; a < A; a++) {
        if (npig[a] === 0) continue;
        const insideA = inside.subarray(a * n, (a + 1) * n);
        if (!copy) countInsideBefore(insideA, counted, insideBefore);
        for (let t = 0; t < T; t++) {
          const recallAt = ((t * K + k) * A + a) * M + m;
          // q[t, :, a, m]: R values, A * M apart.
          const qAt = (t * R * A + a) * M + m;
          if (copy) {
            out.recall[recallAt] = out.recall[recallAt + 1];
            copyStrided(q, qAt + 1, qAt, A * M, R);
            continue;
          }
          const tp = precisionAtTruePositives(exceptions, a * T + t, insideA, counted, insideBefore, npig[a], rc, pr);
          out.recall[recallAt] = kept ? tp / npig[a] : 0;
          precisionAtRecalls(rc, pr, tp, recallThresholds, q, qAt, A * M);
        }
      }
    }
    copyIntoPlace(q, out.precision, k, K, A * M);
  }
}

/** 1 in counted[j] where rank[j] is below maxDet; how many. */
function countKept(rank: Int32Array, maxDet: number, counted: Uint8Array): number {
  let kept = 0;
  for (let j = 0; j < rank.length; j++) {
    // (rank - maxDet) is negative, its sign bit set, exactly when the rank is below maxDet; a
    // branch here would be mispredicted at random.
    counted[j] = (rank[j] - maxDet) >>> 31;
    kept += counted[j];
  }
  return kept;
}

/** insideBefore[j]: the detections before j that are kept and inside the area range (`inside`, its row). */
function countInsideBefore(inside: Uint8Array, counted: Uint8Array, insideBefore: Int32Array): void {
  for (let j = 0, count = 0; j < inside.length; j++) {
    insideBefore[j] = count;
    count += inside[j] & counted[j];
  }
}

/**
 * Recall and precision (into rc, pr) at each kept true positive of exception row `row`, whose area
 * range's row of Ranking.inside is `inside`; how many there are.
 */
function precisionAtTruePositives(
  exceptions: Ranking['exceptions'], row: number, inside: Uint8Array, counted: Uint8Array, insideBefore: Int32Array, npig: number, rc: Float64Array, pr: Float64Array,
): number {
  let tp = 0;
  // Kept exceptions so far that are inside: false positives had they not matched.
  let matchedInside = 0;
  for (let e = exceptions.starts[row]; e < exceptions.starts[row + 1]; e++) {
    const j = exceptions.values[e] >> 1;
    if (!counted[j]) continue;
    if (exceptions.values[e] & 1) {
      tp++;
      const fp = insideBefore[j] - matchedInside;
      rc[tp - 1] = tp / npig;
      pr[tp - 1] = tp / (fp + tp + Number.EPSILON);
    }
    matchedInside += inside[j];
  }
  return tp;
}

/** The precision envelope at each recall threshold, into q[at + r * stride]; past the last true positive, 0. */
function precisionAtRecalls(rc: Float64Array, pr: Float64Array, tp: number, recallThresholds: Float64Array, q: Float64Array, at: number, stride: number): void {
  // Precision envelope, right to left.
  for (let i = tp - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  // searchsorted(rc, recallThresholds, side='left').
  let i = 0;
  for (let r = 0; r < recallThresholds.length; r++) {
    while (i < tp && rc[i] < recallThresholds[r]) i++;
    q[at + r * stride] = i < tp ? pr[i] : 0;
  }
}

/** `count` values, `stride` apart, copied from index `from` on to index `to` on. */
function copyStrided(values: Float64Array, from: number, to: number, stride: number, count: number): void {
  for (let i = 0; i < count; i++) values[to + i * stride] = values[from + i * stride];
}

/** q, precision[:, :, k] laid out [T, R, A, M] (blocks of A * M), into precision ([T, R, K, A, M]). */
function copyIntoPlace(q: Float64Array, precision: Float64Array, k: number, K: number, block: number): void {
  for (let tr = 0; tr < q.length / block; tr++) {
    for (let i = 0; i < block; i++) precision[(tr * K + k) * block + i] = q[tr * block + i];
  }
}

/** A typed array kept from one category to the next, grown when a longer one is asked for. */
class Reused<A extends Int32Array | Float64Array | Uint8Array> {
  private array: A;

  constructor(private readonly make: (n: number) => A) {
    this.array = make(0);
  }

  /** `n` elements, holding whatever the last user left. */
  get(n: number): A {
    if (this.array.length < n) this.array = this.make(Math.max(n, 2 * this.array.length));
    return this.array.subarray(0, n) as A;
  }
}

/** (row, value) pairs grouped by row, keeping their order within a row. */
function byRow(pairs: Int32Array, rows: number): { starts: Int32Array; values: Int32Array } {
  const starts = new Int32Array(rows + 1);
  for (let i = 0; i < pairs.length; i += 2) starts[pairs[i] + 1]++;
  for (let r = 0; r < rows; r++) starts[r + 1] += starts[r];
  const next = starts.slice(0, rows);
  const values = new Int32Array(pairs.length / 2);
  for (let i = 0; i < pairs.length; i += 2) values[next[pairs[i]]++] = pairs[i + 1];
  return { starts, values };
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

/** table[index[i]] for every i. */
function gather(table: Int32Array, index: Int32Array): Int32Array {
  const out = new Int32Array(index.length);
  for (let i = 0; i < index.length; i++) out[i] = table[index[i]];
  return out;
}

function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
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

/** Which of a float64's two 32-bit words is the high one on this machine. */
const HIGH_WORD = new Uint8Array(new Float64Array([-0]).buffer)[7] === 0x80 ? 1 : 0;

/**
 * `items` (detection indices) stably sorted by score, highest first: an LSD radix sort, 16 bits a
 * pass, over the score's bits mapped to an unsigned key that orders as the scores do, reversed.
 * Each loop is a function of its own, here and in the helpers above: a function that runs once
 * has its loops optimised while they run, and a loop followed by code that has not run yet is
 * deoptimised on leaving it, then optimised again for the next loop.
 */
function sortByScoreDescending(items: Int32Array, score: Float64Array): Int32Array {
  const { words, counts } = descendingScoreKeys(score);
  let from: Int32Array = items;
  let to: Int32Array = new Int32Array(items.length);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass < 2 ? 1 - HIGH_WORD : HIGH_WORD;
    const shift = pass % 2 === 0 ? 0 : 16;
    if (radixPass(from, to, words, word, shift, counts.subarray(pass * 65536, (pass + 1) * 65536))) [from, to] = [to, from];
  }
  return from;
}

/**
 * Each score's key as two 32-bit words (in a float64's word order), and the counts of each 16-bit
 * digit of the keys, pass by pass (4 × 65536). Descending order of the scores is ascending order
 * of the keys: a negative score's bits grow with its magnitude already (sign bit set); a positive
 * score's bits are inverted below it.
 */
function descendingScoreKeys(score: Float64Array): { words: Uint32Array; counts: Int32Array } {
  const keys = new Float64Array(score.length);
  // +0: -0 and 0 are equal scores, as numpy compares them.
  for (let i = 0; i < score.length; i++) keys[i] = score[i] + 0;
  const words = new Uint32Array(keys.buffer);
  const counts = new Int32Array(4 * 65536);
  for (let i = 0; i < score.length; i++) {
    let hi = words[2 * i + HIGH_WORD];
    let lo = words[2 * i + 1 - HIGH_WORD];
    if (!(hi & 0x80000000)) {
      hi = ~hi & 0x7fffffff;
      lo = ~lo >>> 0;
    }
    words[2 * i + HIGH_WORD] = hi;
    words[2 * i + 1 - HIGH_WORD] = lo;
    counts[lo & 0xffff]++;
    counts[65536 + (lo >>> 16)]++;
    counts[131072 + (hi & 0xffff)]++;
    counts[196608 + (hi >>> 16)]++;
  }
  return { words, counts };
}

/**
 * One pass of the radix sort: `from` into `to` by the 16-bit digit at `shift` of each item's key
 * word `word`, given the digits' counts. A pass where every key has the same digit would leave the
 * order as it is: nothing is written, false.
 */
function radixPass(from: Int32Array, to: Int32Array, words: Uint32Array, word: number, shift: number, counts: Int32Array): boolean {
  let start = 0;
  for (let b = 0; b < 65536; b++) {
    const c = counts[b];
    if (c === from.length) return false;
    counts[b] = start;
    start += c;
  }
  for (let i = 0; i < from.length; i++) {
    const item = from[i];
    to[counts[(words[2 * item + word] >>> shift) & 0xffff]++] = item;
  }
  return true;
}
