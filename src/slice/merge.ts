// Merging the detections of overlapping tiles (and of the whole image) into one list: an object
// cut by a tile border, or seen by two tiles, must come out once. Greedy in score order, as NMS:
// 'nms' drops a box that matches a higher-scoring kept box; 'nmm' (non-maximum merging) instead
// grows the kept box to the union of the two, so that the two halves of a cut object become the
// whole object. The match is IoU, or IoS (intersection over the smaller box), which also catches
// a half box inside a whole one.

/** Detections as flat arrays: x1, y1, x2, y2 per box. */
export interface BoxList {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

export interface MergeOptions {
  method: 'nms' | 'nmm';
  metric: 'iou' | 'ios';
  /** Boxes match when the metric exceeds this. */
  threshold: number;
  /** Match boxes of different classes too. */
  classAgnostic: boolean;
}

function overlap(b: Float32Array, i: number, j: number, metric: 'iou' | 'ios'): number {
  const w = Math.min(b[4 * i + 2], b[4 * j + 2]) - Math.max(b[4 * i], b[4 * j]);
  const h = Math.min(b[4 * i + 3], b[4 * j + 3]) - Math.max(b[4 * i + 1], b[4 * j + 1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const areaI = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
  const areaJ = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
  const denominator = metric === 'iou' ? areaI + areaJ - inter : Math.min(areaI, areaJ);
  return denominator > 0 ? inter / denominator : 0;
}

/** The merged detections, by decreasing score (ties: the earlier box first). */
export function mergeDetections(list: BoxList, options: MergeOptions): BoxList {
  const n = list.scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => list.scores[b] - list.scores[a] || a - b);
  const done = new Uint8Array(n);
  const boxes: number[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi];
    if (done[i]) continue;
    done[i] = 1;
    const merged = Array.from(list.boxes.subarray(4 * i, 4 * i + 4));
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj];
      if (done[j] || (!options.classAgnostic && list.labels[j] !== list.labels[i])) continue;
      // Matched against the kept box as detected, not as it grows: the result does not depend
      // on the order in which lower-scoring boxes are merged into it.
      if (overlap(list.boxes, i, j, options.metric) <= options.threshold) continue;
      done[j] = 1;
      if (options.method === 'nmm') {
        merged[0] = Math.min(merged[0], list.boxes[4 * j]);
        merged[1] = Math.min(merged[1], list.boxes[4 * j + 1]);
        merged[2] = Math.max(merged[2], list.boxes[4 * j + 2]);
        merged[3] = Math.max(merged[3], list.boxes[4 * j + 3]);
      }
    }
    boxes.push(...merged);
    scores.push(list.scores[i]);
    labels.push(list.labels[i]);
  }
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), labels: Int32Array.from(labels) };
}
