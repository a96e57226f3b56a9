// Box IoU exactly as pycocotools' maskApi bbIou computes it (float64, boxes as x, y, w, h): for
// a crowd ground-truth region the union is the detection's own area, so a detection inside a
// crowd scores 1 however small it is.

/** IoU of detection box `dt[d..d+4]` with ground-truth box `gt[g..g+4]`. */
export function boxIou(dt: Float64Array, d: number, gt: Float64Array, g: number, crowd: boolean): number {
  const w = Math.min(dt[d + 2] + dt[d], gt[g + 2] + gt[g]) - Math.max(dt[d], gt[g]);
  if (w <= 0) return 0;
  const h = Math.min(dt[d + 3] + dt[d + 1], gt[g + 3] + gt[g + 1]) - Math.max(dt[d + 1], gt[g + 1]);
  if (h <= 0) return 0;
  const inter = w * h;
  const detArea = dt[d + 2] * dt[d + 3];
  return inter / (crowd ? detArea : detArea + gt[g + 2] * gt[g + 3] - inter);
}
