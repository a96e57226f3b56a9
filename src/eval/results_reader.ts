// Streams a COCO results file (a JSON list of {image_id, category_id, bbox, score, ...}) into
// typed arrays, with a byte scanner (json_stream.ts) specialised for this one shape: one list
// element is a step, and no JS object is built per detection.
import * as fs from 'fs';
import type { CocoAnnotations } from '../data/coco';
import { CHUNK_BYTES, Ch, JsonScanner, invalidJsonError, keyList, plainNumber, skipSpace, streamJsonFile } from '../data/json_stream';
import { DetectionsBuilder, type Detections } from './detections';

const KEY_NAMES = ['image_id', 'category_id', 'score', 'bbox'];
const KEYS = keyList(KEY_NAMES);
// Indices in KEYS, and slots of this.values, which is laid out as DetectionsBuilder.add takes it:
// the three numbers, then bbox's x, y, w, h.
const IMAGE_ID = 0, CATEGORY_ID = 1, SCORE = 2, BBOX = 3, X = 3;

/**
 * The fewest bytes a record takes, {"image_id":0,"category_id":0,"bbox":[0,0,0,0],"score":0}: a
 * file of n bytes holds at most n / 57 records. The builder is given room for that many, so that
 * it never grows by copying what it holds; the room left unfilled is never written, so the system
 * never gives it memory.
 */
const MIN_RECORD_BYTES = 57;

/** Reads a COCO results file, checking every record against the ground truth. */
export async function readCocoResults(file: string, gt: CocoAnnotations, options: { chunkBytes?: number } = {}): Promise<Detections> {
  // A file that cannot be read is reported by streamJsonFile.
  const bytes = await fs.promises.stat(file).then((stats) => stats.size, () => 0);
  const builder = new DetectionsBuilder(gt, file, Math.ceil(bytes / MIN_RECORD_BYTES));
  await streamJsonFile(file, 'results file', options.chunkBytes ?? CHUNK_BYTES, new ResultsScanner(builder, file));
  return builder.finish();
}

/** Parses results JSON held in memory (a string or bytes); `source` names it in errors. */
export function parseCocoResults(json: string | Buffer, gt: CocoAnnotations, source = 'results'): Detections {
  const bytes = typeof json === 'string' ? Buffer.from(json) : json;
  const builder = new DetectionsBuilder(gt, source, Math.ceil(bytes.length / MIN_RECORD_BYTES));
  const scanner = new ResultsScanner(builder, source);
  scanner.push(bytes);
  scanner.end();
  return builder.finish();
}

const enum State { Start, FirstElement, Element, AfterElement, Done }

class ResultsScanner extends JsonScanner {
  private state = State.Start;
  private record = 0;
  /** The current element's numbers (see X), plus a slot for a bbox's excess values. */
  private readonly values = new Float64Array(8);

  constructor(
    private readonly builder: DetectionsBuilder,
    source: string,
  ) {
    super(source);
  }

  protected step(): boolean {
    switch (this.state) {
      case State.Start:
        if (this.peek() !== Ch.LeftBracket) throw this.syntax('a results file must be a JSON list of detections');
        this.pos++;
        this.state = State.FirstElement;
        return true;
      case State.FirstElement:
        this.state = this.closes(Ch.RightBracket) ? State.Done : State.Element;
        return true;
      case State.Element:
        this.element();
        this.record++;
        this.state = State.AfterElement;
        return true;
      case State.AfterElement:
        this.state = this.another(Ch.RightBracket, 'after a list element') ? State.Element : State.Done;
        return true;
      case State.Done:
        if (!this.atEnd()) throw this.syntax('unexpected data after the results list');
        return false;
    }
  }

  protected endedEarly(): Error {
    if (this.state === State.Start) return new Error(`${this.source}: the file is empty; expected a JSON list of detections`);
    return this.error(this.record, 'the file ends in the middle of the results list');
  }

  protected syntaxError(message: string, byte: number): Error {
    return invalidJsonError(this.source, 'at', byte, ` (list element ${this.record}): ${message}`);
  }

  /** One {…} element: the four fields we need, anything else skipped. */
  private element(): void {
    if (!this.plainElement()) this.anyElement();
    this.builder.add(this.record, this.values);
  }

  /**
   * The element at pos where it has the usual shape, read with a cursor of its own in a local
   * (JsonScanner's general reads move pos token by token, and are too many to be inlined): the four
   * fields, no other, with plain numbers (see plainNumber), complete in the bytes held. False, with
   * pos unmoved, at anything else, which anyElement then reads (or reports) in full.
   */
  private plainElement(): boolean {
    const b = this.buf;
    const size = this.size;
    let i = skipSpace(b, this.pos, size);
    if (i >= size || b[i] !== Ch.LeftBrace) return false;
    // Bit k set: KEYS[k] has been read.
    let seen = 0;
    do {
      i = skipSpace(b, i + 1, size);
      const key = knownKey(b, i, size);
      if (key < 0) return false;
      i = skipSpace(b, i + KEYS[key].length + 2, size);
      if (i >= size || b[i] !== Ch.Colon) return false;
      i = skipSpace(b, i + 1, size);
      if (key === BBOX) {
        if (i >= size || b[i] !== Ch.LeftBracket) return false;
        for (let c = 0; c < 4; c++) {
          i = plainNumber(b, skipSpace(b, i + 1, size), size, this.values, X + c);
          if (i < 0) return false;
          i = skipSpace(b, i, size);
          if (i >= size || b[i] !== (c < 3 ? Ch.Comma : Ch.RightBracket)) return false;
        }
        i++;
      } else {
        i = plainNumber(b, i, size, this.values, key);
        if (i < 0) return false;
      }
      seen |= 1 << key;
      i = skipSpace(b, i, size);
    } while (i < size && b[i] === Ch.Comma);
    if (i >= size || b[i] !== Ch.RightBrace || seen !== 0b1111) return false;
    this.pos = i + 1;
    return true;
  }

  /** The element at pos, whatever its shape: every error is reported here. */
  private anyElement(): void {
    const record = this.record;
    if (this.peek() !== Ch.LeftBrace) throw this.error(record, 'expected an object');
    this.pos++;
    // Bit k set: KEYS[k] has been read.
    let seen = 0;
    if (!this.closes(Ch.RightBrace)) {
      do {
        const key = this.key(KEYS);
        this.expect(Ch.Colon, "expected ':' after a key");
        if (key === BBOX) this.readBox(record);
        else if (key >= 0) this.numberField(key, record);
        else this.skipValue();
        if (key >= 0) seen |= 1 << key;
      } while (this.another(Ch.RightBrace, 'in an object'));
    }
    if (seen !== 0b1111) {
      const missing = [IMAGE_ID, CATEGORY_ID, BBOX, SCORE].find((key) => !(seen & (1 << key))) as number;
      throw this.error(record, `missing ${KEY_NAMES[missing]}`);
    }
  }

  /** The number of field `key` (image_id, category_id or score) into this.values. */
  private numberField(key: number, record: number): void {
    if (!this.number(this.values, key)) throw this.error(record, `${KEY_NAMES[key]} must be a number`);
  }

  /** A bbox into this.values[X..X+4]. */
  private readBox(record: number): void {
    if (this.peek() !== Ch.LeftBracket) throw this.error(record, 'bbox must be 4 finite numbers');
    this.pos++;
    let length = 0;
    if (!this.closes(Ch.RightBracket)) {
      do {
        // Values past the fourth are read into the last slot, only to be counted.
        if (!this.number(this.values, X + Math.min(length, 4))) throw this.error(record, 'bbox must be 4 finite numbers');
        length++;
      } while (this.another(Ch.RightBracket, 'in bbox'));
    }
    if (length !== 4) throw this.error(record, `bbox must be 4 finite numbers, got ${length} values`);
  }

  private error(record: number, message: string): Error {
    return new Error(`${this.source}: [${record}]: ${message}`);
  }
}

/** The index in KEYS of the quoted key at b[i] (a quote, then its bytes, then a quote); -1 for any other. */
function knownKey(b: Buffer, i: number, size: number): number {
  if (i >= size || b[i] !== Ch.Quote) return -1;
  next: for (let k = 0; k < KEYS.length; k++) {
    const key = KEYS[k];
    const close = i + 1 + key.length;
    if (close >= size || b[close] !== Ch.Quote) continue;
    for (let j = 0; j < key.length; j++) if (b[i + 1 + j] !== key[j]) continue next;
    return k;
  }
  return -1;
}
