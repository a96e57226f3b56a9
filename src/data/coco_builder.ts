// The state machine that builds COCO ground truth from stream-json's tokens: it copies the few
// fields we need into geometrically grown typed arrays and skips everything else (segmentation
// polygons, licenses, ...) without building it. The images, annotations and categories sections
// may come in any order; ids are resolved to indices once the whole file has streamed.
import { Growable } from './growable';
import type { JsonToken, JsonTokenSink } from './json_stream';

type Section = 'images' | 'annotations' | 'categories';

/** A record field holding a container (object or list) where a scalar was expected. */
const NESTED = Symbol('nested');
type FieldValue = number | string | boolean | null | typeof NESTED | undefined;

// Slots of the fields we read; any other key is skipped.
const FIELDS = ['id', 'image_id', 'category_id', 'area', 'iscrowd', 'width', 'height', 'file_name', 'name'] as const;
const ID = 0, IMAGE_ID = 1, CATEGORY_ID = 2, AREA = 3, ISCROWD = 4, WIDTH = 5, HEIGHT = 6, FILE_NAME = 7, NAME = 8;
const SLOT = new Map<string, number>(FIELDS.map((f, i) => [f, i]));

/** Builds the CocoAnnotations of `file` (src/data/coco.ts) from its tokens. */
export class CocoBuilder implements JsonTokenSink {
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

  /**
   * Typed arrays with ids resolved to indices; throws on the first inconsistency. The return type is
   * CocoAnnotations, checked where loadCocoAnnotations returns it: naming it here would make this
   * file and coco.ts import each other.
   */
  finish() {
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
