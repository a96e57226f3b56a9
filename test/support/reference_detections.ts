// Detections as the fixture scripts record torchvision's (test/fixtures/make_*_fixtures.py).

/** One image's detections, boxes as (x1, y1, x2, y2) rows. */
export interface ReferenceDetections {
  boxes: number[][];
  scores: number[];
  labels: number[];
}
