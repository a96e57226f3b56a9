// The scanner that builds COCO ground truth from an annotations file's bytes (json_stream.ts): it
// copies the few fields we need into geometrically grown typed arrays and skips everything else
// (segmentation polygons, licenses, ...) without building it. One record of a section is one
// step. The images, annotations and categories sections may come in any order; ids are resolved
// to indices once the whole file has been read.
import { Growable } from './growable';
import { Ch, JsonScanner, invalidJsonError, keyList } from './json_stream';

type Section = 'images' | 'annotations' | 'categories';
const SECTIONS: Section[] = ['images', 'annotations', 'categories'];
const SECTION_KEYS = keyList(SECTIONS);

/** A record field holding a container (object or list) where a scalar was expected. */
const NESTED = Symbol('nested');
type FieldValue = number | string | boolean | null | typeof NESTED | undefined;

// Slots of the fields we read, then bbox (read on its own); any other key is skipped.
const FIELDS = ['id', 'image_id', 'category_id', 'area', 'iscrowd', 'width', 'height', 'file_name', 'name'] as const;
const ID = 0, IMAGE_ID = 1, CATEGORY_ID = 2, AREA = 3, ISCROWD = 4, WIDTH = 5, HEIGHT = 6, FILE_NAME = 7, NAME = 8, BBOX = 9;
const FIELD_KEYS = keyList([...FIELDS, 'bbox']);

const enum State { Start, FirstKey, Key, AfterValue, FirstRecord, Record, AfterRecord, Done }

/** Builds the CocoAnnotations of `file` (src/data/coco.ts) from its bytes. */
export class CocoBuilder extends JsonScanner {
  private state = State.Start;
  private section: Section | undefined;
  private readonly seen = new Set<Section>();
  private readonly counts = { images: 0, annotations: 0, categories: 0 };

  private readonly values: FieldValue[] = new Array(FIELDS.length);
  private bboxSeen = false;
  private bboxLength = 0;
  private bboxValid = true;
  private readonly bboxValues = new Float64Array(5);
  /** Where value() reads a number. */
  private readonly scalar = new Float64Array(1);

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

  protected step(): boolean {
    switch (this.state) {
      case State.Start:
        if (this.peek() !== Ch.LeftBrace) throw this.error('expected one JSON object with "images", "annotations" and "categories"');
        this.pos++;
        this.state = State.FirstKey;
        return true;
      case State.FirstKey:
        this.state = this.closes(Ch.RightBrace) ? State.Done : State.Key;
        return true;
      case State.Key: {
        // A member of the root object: a section opens; any other list is skipped an element a
        // step (however long it is), anything else whole.
        const key = this.key(SECTION_KEYS);
        this.expect(Ch.Colon, "expected ':' after a key");
        const section = key < 0 ? undefined : SECTIONS[key];
        if (section === undefined && this.peek() !== Ch.LeftBracket) {
          this.skipValue();
          this.state = State.AfterValue;
          return true;
        }
        if (this.peek() !== Ch.LeftBracket) throw this.error(`"${section}" must be a list`);
        if (section && this.seen.has(section)) throw this.error(`"${section}" appears twice`);
        this.pos++;
        this.section = section;
        if (section) this.seen.add(section);
        this.state = State.FirstRecord;
        return true;
      }
      case State.AfterValue:
        this.state = this.another(Ch.RightBrace, 'after a value') ? State.Key : State.Done;
        return true;
      case State.FirstRecord:
        this.state = this.closes(Ch.RightBracket) ? State.AfterValue : State.Record;
        return true;
      case State.Record:
        this.record();
        this.state = State.AfterRecord;
        return true;
      case State.AfterRecord:
        this.state = this.another(Ch.RightBracket, 'after a record') ? State.Record : State.AfterValue;
        return true;
      case State.Done:
        if (!this.atEnd()) throw this.syntax('unexpected data after the root object');
        return false;
    }
  }

  protected endedEarly(): Error {
    return invalidJsonError(this.source, 'at', this.offset(this.size), ': the file ends early');
  }

  protected syntaxError(message: string, byte: number): Error {
    return invalidJsonError(this.source, 'near', byte, ` (${message})`);
  }

  /** One record of the current section: its fields, checked, appended to the columns. */
  private record(): void {
    if (this.section === undefined) return this.skipValue();
    this.values.fill(undefined);
    this.bboxSeen = false;
    if (this.peek() !== Ch.LeftBrace) throw this.recordError('expected an object');
    this.pos++;
    if (!this.closes(Ch.RightBrace)) {
      do {
        const slot = this.key(FIELD_KEYS);
        this.expect(Ch.Colon, "expected ':' after a key");
        if (slot === BBOX && this.section === 'annotations') this.readBbox();
        else if (slot >= 0 && slot < BBOX) this.values[slot] = this.value();
        else this.skipValue();
      } while (this.another(Ch.RightBrace, 'in an object'));
    }
    this.finishRecord();
  }

  /** A field's value: a scalar as JSON.parse gives it, or NESTED for a list or object. */
  private value(): FieldValue {
    const c = this.peek();
    if (c === Ch.Quote) return this.string();
    if (c === Ch.LeftBracket || c === Ch.LeftBrace) {
      this.skipValue();
      return NESTED;
    }
    if (c === Ch.LowerT || c === Ch.LowerF || c === Ch.LowerN) return this.literal();
    if (!this.number(this.scalar, 0)) throw this.syntax('expected a value');
    return this.scalar[0];
  }

  /** An annotation's bbox: its first four numbers and how many there were; anything else makes it invalid. */
  private readBbox(): void {
    this.bboxSeen = true;
    this.bboxLength = 0;
    this.bboxValid = this.peek() === Ch.LeftBracket;
    if (!this.bboxValid) return this.skipValue();
    this.pos++;
    if (this.closes(Ch.RightBracket)) return;
    do {
      // Values past the fourth are read into the last slot, only to be counted.
      if (this.number(this.bboxValues, Math.min(this.bboxLength, 4))) {
        this.bboxLength++;
      } else {
        this.bboxValid = false;
        this.skipValue();
      }
    } while (this.another(Ch.RightBracket, 'in bbox'));
  }

  /**
   * Typed arrays with ids resolved to indices; throws on the first inconsistency. The return type is
   * CocoAnnotations, checked where loadCocoAnnotations returns it: naming it here would make this
   * file and coco.ts import each other.
   */
  finish() {
    for (const section of ['images', 'categories'] as const) {
      if (!this.seen.has(section)) throw this.error(`no "${section}" list`);
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
      if (image === undefined) throw this.errorAt('annotations', k, ids[k], `image_id ${imageIndex[k]} is not in "images"`);
      imageIndex[k] = image;
      const category = categoryIndexOf.get(categoryIndex[k]);
      if (category === undefined) {
        throw this.errorAt('annotations', k, ids[k], `category_id ${categoryIndex[k]} is not in "categories"`);
      }
      categoryIndex[k] = sortedPosition[category];
    }
    this.checkUniqueAnnotationIds(ids);
    return {
      file: this.source,
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
      if (fileName === undefined) throw this.recordError('missing "file_name"');
      if (typeof fileName !== 'string' || fileName === '') throw this.recordError('"file_name" must be a non-empty string');
      this.imageIds.push(id);
      this.widths.push(width);
      this.heights.push(height);
      this.fileNames.push(fileName);
    } else if (section === 'categories') {
      const id = this.int(ID, 'id');
      const name = v[NAME];
      if (name === undefined) throw this.recordError('missing "name"');
      if (typeof name !== 'string') throw this.recordError('"name" must be a string');
      this.categoryIds.push(id);
      this.categoryNames.push(name);
    } else {
      const id = v[ID];
      if (id === undefined) throw this.recordError('missing "id"');
      if (typeof id !== 'number' || !Number.isFinite(id)) throw this.recordError('"id" must be a number');
      const imageId = this.int(IMAGE_ID, 'image_id');
      const categoryId = this.int(CATEGORY_ID, 'category_id');
      if (!this.bboxSeen) throw this.recordError('missing "bbox"');
      const [x, y, w, h] = this.bboxValues;
      if (!this.bboxValid || this.bboxLength !== 4 || !isFinite4(x, y, w, h) || w < 0 || h < 0) {
        throw this.recordError('"bbox" must be 4 finite numbers [x, y, w, h] with w, h >= 0');
      }
      const area = v[AREA] ?? w * h;
      if (typeof area !== 'number' || !(area >= 0)) throw this.recordError('"area" must be a number >= 0');
      const crowd = v[ISCROWD] ?? 0;
      if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) {
        throw this.recordError('"iscrowd" must be 0 or 1');
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

  /** The integer in `slot`, checked. */
  private int(slot: number, field: string, min = -2147483648): number {
    const value = this.values[slot];
    if (value === undefined) throw this.recordError(`missing "${field}"`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2147483647) {
      throw this.recordError(`"${field}" must be an integer${min > 0 ? ` >= ${min}` : ''} (got ${describe(value)})`);
    }
    return value;
  }

  private indexById(ids: Int32Array, section: Section): Map<number, number> {
    const index = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) {
      const first = index.get(ids[i]);
      if (first !== undefined) throw this.errorAt(section, i, ids[i], `duplicate id (also ${section}[${first}])`);
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
      throw this.errorAt('annotations', second, ids[second], `duplicate id (also annotations[${first}])`);
    }
  }

  private error(message: string): Error {
    return new Error(`${this.source}: ${message}`);
  }

  /** An error in the record being read. */
  private recordError(message: string): Error {
    const section = this.section as Section;
    const id = this.values[ID];
    return this.error(`${recordName(section, this.counts[section], typeof id === 'number' ? id : undefined)}: ${message}`);
  }

  /** An error in a record read earlier. */
  private errorAt(section: Section, index: number, id: number, message: string): Error {
    return this.error(`${recordName(section, index, id)}: ${message}`);
  }
}

function recordName(section: Section, index: number, id: number | undefined): string {
  return id === undefined ? `${section}[${index}]` : `${section}[${index}] (id ${id})`;
}

function isFinite4(a: number, b: number, c: number, d: number): boolean {
  return Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(d);
}

function describe(value: FieldValue): string {
  if (value === NESTED) return 'a list or object';
  return JSON.stringify(value);
}
