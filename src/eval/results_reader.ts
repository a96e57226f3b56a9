// Streams a COCO results file (a JSON list of {image_id, category_id, bbox, score, ...}) into
// typed arrays, with a byte scanner (json_stream.ts) specialised for this one shape: one list
// element is a step, and no JS object is built per detection.
import type { CocoAnnotations } from '../data/coco';
import { CHUNK_BYTES, Ch, JsonScanner, invalidJsonError, keyList, streamJsonFile } from '../data/json_stream';
import { DetectionsBuilder, type Detections } from './detections';

const KEYS = keyList(['image_id', 'category_id', 'bbox', 'score']);
const IMAGE_ID = 0, CATEGORY_ID = 1, BBOX = 2, SCORE = 3;

/** Reads a COCO results file, checking every record against the ground truth. */
export async function readCocoResults(file: string, gt: CocoAnnotations, options: { chunkBytes?: number } = {}): Promise<Detections> {
  const builder = new DetectionsBuilder(gt, file);
  await streamJsonFile(file, 'results file', options.chunkBytes ?? CHUNK_BYTES, new ResultsScanner(builder, file));
  return builder.finish();
}

/** Parses results JSON held in memory (a string or bytes); `source` names it in errors. */
export function parseCocoResults(json: string | Buffer, gt: CocoAnnotations, source = 'results'): Detections {
  const builder = new DetectionsBuilder(gt, source);
  const scanner = new ResultsScanner(builder, source);
  scanner.push(typeof json === 'string' ? Buffer.from(json) : json);
  scanner.end();
  return builder.finish();
}

const enum State { Start, FirstElement, Element, AfterElement, Done }

class ResultsScanner extends JsonScanner {
  private state = State.Start;
  private record = 0;
  private readonly box = new Float64Array(4);

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
        if (this.peek() === Ch.RightBracket) {
          this.pos++;
          this.state = State.Done;
        } else {
          this.state = State.Element;
        }
        return true;
      case State.Element:
        this.element();
        this.record++;
        this.state = State.AfterElement;
        return true;
      case State.AfterElement: {
        const c = this.peek();
        this.pos++;
        if (c === Ch.Comma) this.state = State.Element;
        else if (c === Ch.RightBracket) this.state = State.Done;
        else throw this.syntax("expected ',' or ']' after a list element", this.pos - 1);
        return true;
      }
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
    const record = this.record;
    if (this.peek() !== Ch.LeftBrace) {
      this.need(1);
      throw this.error(record, 'expected an object');
    }
    this.pos++;
    let imageId: number | undefined;
    let categoryId: number | undefined;
    let score: number | undefined;
    let hasBox = false;
    if (this.peek() === Ch.RightBrace) {
      this.pos++;
    } else {
      for (;;) {
        const key = this.key(KEYS);
        this.expect(Ch.Colon, "expected ':' after a key");
        if (key === IMAGE_ID) imageId = this.numberField(record, 'image_id must be a number');
        else if (key === CATEGORY_ID) categoryId = this.numberField(record, 'category_id must be a number');
        else if (key === SCORE) score = this.numberField(record, 'score must be a number');
        else if (key === BBOX) {
          this.readBox(record);
          hasBox = true;
        }
        else this.skipValue();
        const c = this.peek();
        this.pos++;
        if (c === Ch.RightBrace) break;
        if (c !== Ch.Comma) throw this.syntax("expected ',' or '}' in an object", this.pos - 1);
      }
    }
    if (imageId === undefined) throw this.error(record, 'missing image_id');
    if (categoryId === undefined) throw this.error(record, 'missing category_id');
    if (!hasBox) throw this.error(record, 'missing bbox');
    if (score === undefined) throw this.error(record, 'missing score');
    const box = this.box;
    this.builder.add(record, imageId, categoryId, box[0], box[1], box[2], box[3], score);
  }

  private numberField(record: number, notNumber: string): number {
    const value = this.number();
    if (value === undefined) {
      this.need(1);
      throw this.error(record, notNumber);
    }
    return value;
  }

  /** Reads a bbox into this.box. */
  private readBox(record: number): void {
    if (this.peek() !== Ch.LeftBracket) {
      this.need(1);
      throw this.error(record, 'bbox must be 4 finite numbers');
    }
    this.pos++;
    let length = 0;
    if (this.peek() === Ch.RightBracket) {
      this.pos++;
    } else {
      for (;;) {
        const value = this.numberField(record, 'bbox must be 4 finite numbers');
        if (length < 4) this.box[length] = value;
        length++;
        const c = this.peek();
        this.pos++;
        if (c === Ch.RightBracket) break;
        if (c !== Ch.Comma) throw this.syntax("expected ',' or ']' in bbox", this.pos - 1);
      }
    }
    if (length !== 4) throw this.error(record, `bbox must be 4 finite numbers, got ${length} values`);
  }

  private error(record: number, message: string): Error {
    return new Error(`${this.source}: [${record}]: ${message}`);
  }
}
