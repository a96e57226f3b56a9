// Detections to evaluate, held column-wise in typed arrays (no JS object per detection), with
// image and category ids already resolved against the ground truth.
import type { CocoAnnotations } from '../data/coco';

export interface Detections {
  count: number;
  /** Index into gt.images. */
  imageIndex: Int32Array;
  /** Index into gt.categories. */
  categoryIndex: Int32Array;
  /** 4 per detection: x, y, w, h. */
  bbox: Float64Array;
  score: Float64Array;
}

/** One record of a COCO results list. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  bbox: ArrayLike<number>;
  score: number;
}

/**
 * Appends detections, checking each against the ground truth; `source` names the input in errors.
 * Room for `capacity` detections is made at once, then doubled as needed.
 */
export class DetectionsBuilder {
  private count = 0;
  private imageIndex: Int32Array;
  private categoryIndex: Int32Array;
  private bbox: Float64Array;
  private score: Float64Array;
  private readonly images: IdIndex;
  private readonly categories: IdIndex;

  constructor(
    private readonly gt: CocoAnnotations,
    private readonly source: string,
    capacity = 1024,
  ) {
    this.images = new IdIndex(gt.images.ids);
    this.categories = new IdIndex(gt.categories.ids);
    this.imageIndex = new Int32Array(capacity);
    this.categoryIndex = new Int32Array(capacity);
    this.bbox = new Float64Array(4 * capacity);
    this.score = new Float64Array(capacity);
  }

  /**
   * Appends a detection given as `v` = [image_id, category_id, score, x, y, w, h] (an array rather
   * than arguments: doubles passed to a call are boxed on the heap, once per detection). `record`
   * is its index in the input, for error messages.
   */
  add(record: number, v: ArrayLike<number>): void {
    const imageId = v[0], categoryId = v[1], score = v[2], x = v[3], y = v[4], w = v[5], h = v[6];
    const image = this.images.get(imageId);
    if (image < 0) {
      throw new Error(`${this.source}: [${record}]: image_id ${imageId} is not an image of the ground truth (${this.gt.file})`);
    }
    const category = this.categories.get(categoryId);
    if (category < 0) {
      throw new Error(`${this.source}: [${record}]: category_id ${categoryId} is not a category of the ground truth (${this.gt.file})`);
    }
    if (!(Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(w) && Number.isFinite(h))) {
      throw new Error(`${this.source}: [${record}]: bbox must be 4 finite numbers`);
    }
    if (!Number.isFinite(score)) throw new Error(`${this.source}: [${record}]: score must be a finite number`);
    if (this.count === this.score.length) this.grow();
    const i = this.count++;
    this.imageIndex[i] = image;
    this.categoryIndex[i] = category;
    this.bbox[4 * i] = x;
    this.bbox[4 * i + 1] = y;
    this.bbox[4 * i + 2] = w;
    this.bbox[4 * i + 3] = h;
    this.score[i] = score;
  }

  /** Adds one results-list record given as a JS object. */
  addRecord(record: number, r: CocoResult): void {
    if (r === null || typeof r !== 'object') throw new Error(`${this.source}: [${record}]: expected an object`);
    for (const key of ['image_id', 'category_id', 'score'] as const) {
      if (typeof r[key] !== 'number') throw new Error(`${this.source}: [${record}]: ${key} must be a number`);
    }
    const b = r.bbox;
    if (b === null || typeof b !== 'object' || b.length !== 4 || ![0, 1, 2, 3].every((j) => typeof b[j] === 'number')) {
      throw new Error(`${this.source}: [${record}]: bbox must be 4 finite numbers`);
    }
    this.add(record, [r.image_id, r.category_id, r.score, b[0], b[1], b[2], b[3]]);
  }

  /**
   * The detections added. Views of the builder's arrays rather than copies, so that reading a large
   * results file does not need twice its detections' memory at its end; the builder is done.
   */
  finish(): Detections {
    const n = this.count;
    return {
      count: n,
      imageIndex: this.imageIndex.subarray(0, n),
      categoryIndex: this.categoryIndex.subarray(0, n),
      bbox: this.bbox.subarray(0, 4 * n),
      score: this.score.subarray(0, n),
    };
  }

  private grow(): void {
    const grown = <T extends Int32Array | Float64Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(Math.max(1024, a.length * 2));
      b.set(a);
      return b;
    };
    this.imageIndex = grown(this.imageIndex, Int32Array);
    this.categoryIndex = grown(this.categoryIndex, Int32Array);
    this.bbox = grown(this.bbox, Float64Array);
    this.score = grown(this.score, Float64Array);
  }
}

/**
 * Index of an id (the last entry with it), or -1. A flat table where the ids are integers in
 * [0, 2^21), as COCO's are (a lookup per detection, several times faster than a Map); else a Map.
 */
class IdIndex {
  private readonly table: Int32Array | undefined;
  private readonly map = new Map<number, number>();

  constructor(ids: Int32Array) {
    const flat = ids.every((id) => id >= 0 && id < 1 << 21);
    this.table = flat ? new Int32Array(ids.reduce((max, id) => Math.max(max, id + 1), 0)).fill(-1) : undefined;
    for (let i = 0; i < ids.length; i++) {
      if (this.table) this.table[ids[i]] = i;
      else this.map.set(ids[i], i);
    }
  }

  get(id: number): number {
    // A typed array has no element at a fractional, negative or too large index: undefined.
    return (this.table ? this.table[id] : this.map.get(id)) ?? -1;
  }
}
