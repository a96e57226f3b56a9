// COCO ground truth (instances_*.json) streamed into typed arrays. A 450 MB file must load without
// holding its text or one JS object per box: stream-json's parser turns the bytes into tokens and a
// small state machine copies the few fields we need into geometrically grown typed arrays, skipping
// everything else (segmentation polygons, licenses, ...) without building it. The images,
// annotations and categories sections may come in any order; ids are resolved to indices after
// the whole file has streamed.
import * as fs from 'fs';
import type { Transform } from 'stream';
import { finished } from 'stream/promises';
import type { ImageTargets } from '../types';
import { Growable } from './growable';

export interface CocoAnnotations {
  /** Where it was read from (for error messages). */
  file: string;
  images: { ids: Int32Array; widths: Int32Array; heights: Int32Array; fileNames: string[] };
  /** Sorted by id; the contiguous label of categories.ids[i] is i + 1 (0 = background). */
  categories: { ids: Int32Array; names: string[] };
  /** One entry per annotation, in file order. */
  annotations: {
    ids: Float64Array;
    /** Index into images.*. */
    imageIndex: Int32Array;
    /** Index into categories.*. */
    categoryIndex: Int32Array;
    /** 4 per annotation: x, y, w, h (COCO). */
    bbox: Float64Array;
    /** The file's `area` field (COCO evaluation uses it, not w*h); w*h when the file has none. */
    area: Float64Array;
    iscrowd: Uint8Array;
  };
}

export interface LoadCocoOptions {
  /**
   * Drop images that have no trainable box (a non-crowd box with w, h > 0) and their annotations.
   * Off by default: evaluation needs every image. The batch loader skips such images by itself.
   */
  skipEmptyImages?: boolean;
}

/** Loads a COCO instances file; every error names the file and, where there is one, the record. */
export async function loadCocoAnnotations(file: string, options: LoadCocoOptions = {}): Promise<CocoAnnotations> {
  const builder = new CocoBuilder(file);
  await streamTokens(file, (token) => builder.token(token), () => builder.error);
  const annotations = builder.finish();
  return options.skipEmptyImages ? withoutEmptyImages(annotations) : annotations;
}

/** The boxes of image `imageIndex` (an index into ann.images). */
export function imageAnnotations(ann: CocoAnnotations, imageIndex: number): ImageTargets {
  const { offsets, order } = perImageIndex(ann);
  const { bbox, iscrowd, categoryIndex } = ann.annotations;
  const start = offsets[imageIndex];
  const end = offsets[imageIndex + 1];
  let boxCount = 0;
  let crowdCount = 0;
  for (let k = start; k < end; k++) {
    const a = order[k];
    if (iscrowd[a]) crowdCount++;
    else if (bbox[4 * a + 2] > 0 && bbox[4 * a + 3] > 0) boxCount++;
  }
  const boxes = new Float32Array(4 * boxCount);
  const labels = new Int32Array(boxCount);
  const crowdBoxes = new Float32Array(4 * crowdCount);
  let b = 0;
  let c = 0;
  for (let k = start; k < end; k++) {
    const a = order[k];
    const x = bbox[4 * a];
    const y = bbox[4 * a + 1];
    const w = bbox[4 * a + 2];
    const h = bbox[4 * a + 3];
    if (iscrowd[a]) {
      crowdBoxes.set([x, y, x + w, y + h], 4 * c++);
    } else if (w > 0 && h > 0) {
      boxes.set([x, y, x + w, y + h], 4 * b);
      labels[b++] = categoryIndex[a] + 1;
    }
  }
  return { boxes, labels, crowdBoxes };
}

/** Indices of the images with at least one trainable box (what training samples from). */
export function nonEmptyImageIndices(ann: CocoAnnotations): Int32Array {
  const { offsets, order } = perImageIndex(ann);
  const { bbox, iscrowd } = ann.annotations;
  const kept = new Growable((n) => new Int32Array(n));
  for (let i = 0; i < ann.images.ids.length; i++) {
    for (let k = offsets[i]; k < offsets[i + 1]; k++) {
      const a = order[k];
      if (!iscrowd[a] && bbox[4 * a + 2] > 0 && bbox[4 * a + 3] > 0) {
        kept.push(i);
        break;
      }
    }
  }
  return kept.toArray();
}

/** The same ground truth restricted to the images with a trainable box. */
export function withoutEmptyImages(ann: CocoAnnotations): CocoAnnotations {
  const keep = nonEmptyImageIndices(ann);
  const newIndex = new Int32Array(ann.images.ids.length).fill(-1);
  keep.forEach((image, i) => (newIndex[image] = i));
  const a = ann.annotations;
  const kept = new Growable((n) => new Int32Array(n));
  for (let k = 0; k < a.ids.length; k++) if (newIndex[a.imageIndex[k]] >= 0) kept.push(k);
  const rows = kept.toArray();
  const pick = <A extends Float64Array | Int32Array | Uint8Array>(src: A, make: (n: number) => A, width = 1): A => {
    const out = make(rows.length * width);
    rows.forEach((k, i) => out.set(src.subarray(k * width, (k + 1) * width), i * width));
    return out;
  };
  return {
    file: ann.file,
    images: {
      ids: Int32Array.from(keep, (i) => ann.images.ids[i]),
      widths: Int32Array.from(keep, (i) => ann.images.widths[i]),
      heights: Int32Array.from(keep, (i) => ann.images.heights[i]),
      fileNames: Array.from(keep, (i) => ann.images.fileNames[i]),
    },
    categories: ann.categories,
    annotations: {
      ids: pick(a.ids, (n) => new Float64Array(n)),
      imageIndex: Int32Array.from(rows, (k) => newIndex[a.imageIndex[k]]),
      categoryIndex: pick(a.categoryIndex, (n) => new Int32Array(n)),
      bbox: pick(a.bbox, (n) => new Float64Array(n), 4),
      area: pick(a.area, (n) => new Float64Array(n)),
      iscrowd: pick(a.iscrowd, (n) => new Uint8Array(n)),
    },
  };
}

// ---- per-image index (CSR: the annotations of image i are order[offsets[i] .. offsets[i+1]]) ----

interface PerImageIndex {
  offsets: Int32Array;
  order: Int32Array;
}

const perImageIndexCache = new WeakMap<CocoAnnotations, PerImageIndex>();

function perImageIndex(ann: CocoAnnotations): PerImageIndex {
  const cached = perImageIndexCache.get(ann);
  if (cached) return cached;
  const imageIndex = ann.annotations.imageIndex;
  const offsets = new Int32Array(ann.images.ids.length + 1);
  for (let k = 0; k < imageIndex.length; k++) offsets[imageIndex[k] + 1]++;
  for (let i = 0; i < ann.images.ids.length; i++) offsets[i + 1] += offsets[i];
  const next = offsets.slice(0, -1);
  const order = new Int32Array(imageIndex.length);
  for (let k = 0; k < imageIndex.length; k++) order[next[imageIndex[k]]++] = k;
  const index = { offsets, order };
  perImageIndexCache.set(ann, index);
  return index;
}

// ---- streaming ----

/** A token of stream-json's parser with packed keys, strings and numbers. */
interface JsonToken {
  name: string;
  value?: string | boolean | null;
}

// stream-json ships no type declarations; this is the part of its Parser used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const JsonParser = require('stream-json/Parser') as new (options: object) => Transform;
const PARSER_OPTIONS = { packValues: true, streamValues: false };
const CHUNK_BYTES = 1 << 16;

/**
 * Feeds `file` through the JSON parser chunk by chunk, handing every token to `onToken`; stops
 * early when `failure()` reports an error. Syntax errors are located to the byte.
 */
async function streamTokens(file: string, onToken: (t: JsonToken) => void, failure: () => string | undefined) {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (error) {
    throw new Error(`${file}: cannot open annotation file (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const parser = new JsonParser(PARSER_OPTIONS);
  parser.on('data', onToken);
  // Syntax errors arrive through write()'s callback and finished(); this keeps them from also
  // surfacing as an uncaught 'error' event.
  parser.on('error', () => undefined);
  let offset = 0;
  try {
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(CHUNK_BYTES), 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      const error = await write(parser, buffer.subarray(0, bytesRead));
      if (error) {
        const at = await locateSyntaxError(handle, offset, bytesRead);
        throw new Error(`${file}: invalid JSON near byte ${at} (${parserReason(error)})`);
      }
      offset += bytesRead;
      const message = failure();
      if (message) throw new Error(message);
    }
    try {
      parser.end();
      await finished(parser);
    } catch (error) {
      throw new Error(`${file}: invalid JSON at byte ${offset}: the file ends early (${parserReason(error)})`);
    }
  } finally {
    parser.destroy();
    await handle.close();
  }
  const message = failure();
  if (message) throw new Error(message);
}

function write(parser: Transform, chunk: Buffer): Promise<Error | null | undefined> {
  return new Promise((resolve) => parser.write(chunk, resolve));
}

function parserReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Parser (cannot parse input: |has )/, '');
}

/**
 * The parser only says *that* a chunk is malformed. Parse again up to that chunk, then feed the
 * chunk one byte at a time to find where the parser gives up. Only runs on a broken file.
 */
async function locateSyntaxError(handle: fs.promises.FileHandle, chunkStart: number, chunkBytes: number) {
  const parser = new JsonParser(PARSER_OPTIONS);
  parser.on('data', () => undefined);
  parser.on('error', () => undefined);
  try {
    for (let at = 0; at < chunkStart; at += CHUNK_BYTES) {
      const size = Math.min(CHUNK_BYTES, chunkStart - at);
      const { buffer } = await handle.read(Buffer.allocUnsafe(size), 0, size, at);
      if (await write(parser, buffer)) return at;
    }
    const { buffer } = await handle.read(Buffer.allocUnsafe(chunkBytes), 0, chunkBytes, chunkStart);
    for (let i = 0; i < chunkBytes; i++) {
      if (await write(parser, buffer.subarray(i, i + 1))) return chunkStart + i;
    }
    return chunkStart + chunkBytes;
  } finally {
    parser.destroy();
  }
}

// ---- the state machine that copies COCO records into typed arrays ----

type Section = 'images' | 'annotations' | 'categories';

/** A record field holding a container (object or list) where a scalar was expected. */
const NESTED = Symbol('nested');
type FieldValue = number | string | boolean | null | typeof NESTED | undefined;

// Slots of the fields we read; any other key is skipped.
const FIELDS = ['id', 'image_id', 'category_id', 'area', 'iscrowd', 'width', 'height', 'file_name', 'name'] as const;
const ID = 0, IMAGE_ID = 1, CATEGORY_ID = 2, AREA = 3, ISCROWD = 4, WIDTH = 5, HEIGHT = 6, FILE_NAME = 7, NAME = 8;
const SLOT = new Map<string, number>(FIELDS.map((f, i) => [f, i]));

class CocoBuilder {
  error: string | undefined;

  private depth = 0;
  /** While >= 0, tokens are skipped until the depth returns to this value. */
  private skipDepth = -1;
  private rootClosed = false;
  private key = '';
  private section: Section | undefined;
  private readonly seen = new Set<Section>();
  private readonly counts = { images: 0, annotations: 0, categories: 0 };

  private readonly values: FieldValue[] = new Array(FIELDS.length);
  private slot = -1;
  private inBbox = false;
  private bboxSeen = false;
  private bboxLength = 0;
  private bboxValid = true;
  private readonly bboxValues = [0, 0, 0, 0];

  private readonly imageIds = new Growable((n) => new Int32Array(n));
  private readonly widths = new Growable((n) => new Int32Array(n));
  private readonly heights = new Growable((n) => new Int32Array(n));
  private readonly fileNames: string[] = [];
  private readonly categoryIds = new Growable((n) => new Int32Array(n));
  private readonly categoryNames: string[] = [];
  private readonly annIds = new Growable((n) => new Float64Array(n));
  private readonly annImageIds = new Growable((n) => new Int32Array(n));
  private readonly annCategoryIds = new Growable((n) => new Int32Array(n));
  private readonly bbox = new Growable((n) => new Float64Array(n));
  private readonly area = new Growable((n) => new Float64Array(n));
  private readonly iscrowd = new Growable((n) => new Uint8Array(n));

  constructor(private readonly file: string) {}

  token(t: JsonToken): void {
    if (this.error !== undefined) return;
    const name = t.name;
    const opens = name === 'startObject' || name === 'startArray';
    const closes = name === 'endObject' || name === 'endArray';
    if (this.skipDepth >= 0) {
      if (opens) this.depth++;
      else if (closes && --this.depth === this.skipDepth) this.skipDepth = -1;
      return;
    }
    switch (this.depth) {
      case 0:
        if (name !== 'startObject' || this.rootClosed) {
          this.fail('expected one JSON object with "images", "annotations" and "categories"');
        }
        this.depth = 1;
        return;
      case 1:
        if (name === 'keyValue') {
          this.key = t.value as string;
        } else if (name === 'endObject') {
          this.depth = 0;
          this.rootClosed = true;
        } else if (this.key === 'images' || this.key === 'annotations' || this.key === 'categories') {
          if (name !== 'startArray') return this.fail(`"${this.key}" must be a list`);
          if (this.seen.has(this.key)) return this.fail(`"${this.key}" appears twice`);
          this.section = this.key;
          this.seen.add(this.key);
          this.depth = 2;
        } else if (opens) {
          this.skip();
        }
        return;
      case 2:
        if (name === 'startObject') {
          this.values.fill(undefined);
          this.slot = -1;
          this.bboxSeen = false;
          this.depth = 3;
        } else if (name === 'endArray') {
          this.section = undefined;
          this.depth = 1;
        } else {
          this.values.fill(undefined);
          this.failRecord('expected an object');
        }
        return;
      case 3:
        if (name === 'keyValue') {
          const key = t.value as string;
          this.slot = SLOT.get(key) ?? -1;
          this.inBbox = key === 'bbox' && this.section === 'annotations';
        } else if (name === 'endObject') {
          this.depth = 2;
          this.finishRecord();
        } else if (this.inBbox) {
          this.bboxSeen = true;
          this.bboxLength = 0;
          this.bboxValid = name === 'startArray';
          if (name === 'startArray') this.depth = 4;
          else if (opens) this.skip();
        } else {
          if (this.slot >= 0) this.values[this.slot] = opens ? NESTED : scalar(t);
          if (opens) this.skip();
        }
        return;
      default:
        // Depth 4: inside an annotation's bbox list.
        if (name === 'endArray') {
          this.depth = 3;
        } else if (name === 'numberValue') {
          if (this.bboxLength < 4) this.bboxValues[this.bboxLength] = Number(t.value);
          this.bboxLength++;
        } else {
          this.bboxValid = false;
          if (opens) this.skip();
        }
    }
  }

  /** Typed arrays with ids resolved to indices; throws on the first inconsistency. */
  finish(): CocoAnnotations {
    for (const section of ['images', 'categories'] as const) {
      if (!this.seen.has(section)) throw new Error(`${this.file}: no "${section}" list`);
    }
    const imageIds = this.imageIds.toArray();
    const imageIndexOf = this.indexById(imageIds, 'images');

    // Categories sorted by id, so labels do not depend on the order of the file.
    const unsortedIds = this.categoryIds.toArray();
    const byId = Array.from(unsortedIds.keys()).sort((a, b) => unsortedIds[a] - unsortedIds[b]);
    const categoryIds = Int32Array.from(byId, (i) => unsortedIds[i]);
    const categoryIndexOf = this.indexById(unsortedIds, 'categories');
    const sortedPosition = new Int32Array(byId.length);
    byId.forEach((original, sorted) => (sortedPosition[original] = sorted));

    const ids = this.annIds.toArray();
    const imageIndex = this.annImageIds.toArray();
    const categoryIndex = this.annCategoryIds.toArray();
    for (let k = 0; k < ids.length; k++) {
      const image = imageIndexOf.get(imageIndex[k]);
      if (image === undefined) throw this.recordError('annotations', k, ids[k], `image_id ${imageIndex[k]} is not in "images"`);
      imageIndex[k] = image;
      const category = categoryIndexOf.get(categoryIndex[k]);
      if (category === undefined) {
        throw this.recordError('annotations', k, ids[k], `category_id ${categoryIndex[k]} is not in "categories"`);
      }
      categoryIndex[k] = sortedPosition[category];
    }
    this.checkUniqueAnnotationIds(ids);
    return {
      file: this.file,
      images: { ids: imageIds, widths: this.widths.toArray(), heights: this.heights.toArray(), fileNames: this.fileNames },
      categories: { ids: categoryIds, names: byId.map((i) => this.categoryNames[i]) },
      annotations: {
        ids,
        imageIndex,
        categoryIndex,
        bbox: this.bbox.toArray(),
        area: this.area.toArray(),
        iscrowd: this.iscrowd.toArray(),
      },
    };
  }

  private finishRecord(): void {
    const section = this.section as Section;
    const v = this.values;
    if (section === 'images') {
      const id = this.int(ID, 'id');
      const width = this.int(WIDTH, 'width', 1);
      const height = this.int(HEIGHT, 'height', 1);
      const fileName = v[FILE_NAME];
      if (fileName === undefined) return this.failRecord('missing "file_name"');
      if (typeof fileName !== 'string' || fileName === '') return this.failRecord('"file_name" must be a non-empty string');
      if (this.error !== undefined) return;
      this.imageIds.push(id);
      this.widths.push(width);
      this.heights.push(height);
      this.fileNames.push(fileName);
    } else if (section === 'categories') {
      const id = this.int(ID, 'id');
      const name = v[NAME];
      if (name === undefined) return this.failRecord('missing "name"');
      if (typeof name !== 'string') return this.failRecord('"name" must be a string');
      if (this.error !== undefined) return;
      this.categoryIds.push(id);
      this.categoryNames.push(name);
    } else {
      const id = v[ID];
      if (id === undefined) return this.failRecord('missing "id"');
      if (typeof id !== 'number' || !Number.isFinite(id)) return this.failRecord('"id" must be a number');
      const imageId = this.int(IMAGE_ID, 'image_id');
      const categoryId = this.int(CATEGORY_ID, 'category_id');
      if (this.error !== undefined) return;
      if (!this.bboxSeen) return this.failRecord('missing "bbox"');
      const [x, y, w, h] = this.bboxValues;
      if (!this.bboxValid || this.bboxLength !== 4 || !isFinite4(x, y, w, h) || w < 0 || h < 0) {
        return this.failRecord('"bbox" must be 4 finite numbers [x, y, w, h] with w, h >= 0');
      }
      const area = v[AREA] ?? w * h;
      if (typeof area !== 'number' || !(area >= 0)) return this.failRecord('"area" must be a number >= 0');
      const crowd = v[ISCROWD] ?? 0;
      if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) {
        return this.failRecord('"iscrowd" must be 0 or 1');
      }
      this.annIds.push(id);
      this.annImageIds.push(imageId);
      this.annCategoryIds.push(categoryId);
      this.bbox.push(x);
      this.bbox.push(y);
      this.bbox.push(w);
      this.bbox.push(h);
      this.area.push(area);
      this.iscrowd.push(crowd === 1 || crowd === true ? 1 : 0);
    }
    this.counts[section]++;
  }

  /** The integer in `slot`, or a recorded error (and 0). */
  private int(slot: number, field: string, min = -2147483648): number {
    const value = this.values[slot];
    if (value === undefined) this.failRecord(`missing "${field}"`);
    else if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2147483647) {
      this.failRecord(`"${field}" must be an integer${min > 0 ? ` >= ${min}` : ''} (got ${describe(value)})`);
    } else return value;
    return 0;
  }

  private indexById(ids: Int32Array, section: Section): Map<number, number> {
    const index = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) {
      const first = index.get(ids[i]);
      if (first !== undefined) throw this.recordError(section, i, ids[i], `duplicate id (also ${section}[${first}])`);
      index.set(ids[i], i);
    }
    return index;
  }

  private checkUniqueAnnotationIds(ids: Float64Array): void {
    const sorted = ids.slice().sort();
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] !== sorted[i - 1]) continue;
      const first = ids.indexOf(sorted[i]);
      const second = ids.indexOf(sorted[i], first + 1);
      throw this.recordError('annotations', second, ids[second], `duplicate id (also annotations[${first}])`);
    }
  }

  private skip(): void {
    this.skipDepth = this.depth;
    this.depth++;
  }

  private fail(message: string): void {
    this.error ??= `${this.file}: ${message}`;
  }

  private failRecord(message: string): void {
    const section = this.section as Section;
    const id = this.values[ID];
    this.fail(`${recordName(section, this.counts[section], typeof id === 'number' ? id : undefined)}: ${message}`);
  }

  private recordError(section: Section, index: number, id: number, message: string): Error {
    return new Error(`${this.file}: ${recordName(section, index, id)}: ${message}`);
  }
}

function recordName(section: Section, index: number, id: number | undefined): string {
  return id === undefined ? `${section}[${index}]` : `${section}[${index}] (id ${id})`;
}

function scalar(t: JsonToken): FieldValue {
  return t.name === 'numberValue' ? Number(t.value) : (t.value as string | boolean | null);
}

function isFinite4(a: number, b: number, c: number, d: number): boolean {
  return Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(d);
}

function describe(value: FieldValue): string {
  if (value === NESTED) return 'a list or object';
  return JSON.stringify(value);
}
