// Streams a COCO results file (a JSON list of {image_id, category_id, bbox, score, ...}) into
// typed arrays. A byte-level scanner specialised for this one shape: several times faster than a
// generic token stream and it never builds a JS object per detection. The file is read in chunks
// by json_stream.ts; the scanner parses one list element at a time, and an element cut by the end
// of a chunk is parsed again from its start once the next chunk has arrived.
import type { CocoAnnotations } from '../data/coco';
import { invalidJsonError, streamJsonFile, type JsonChunkParser } from '../data/json_stream';
import { DetectionsBuilder, type Detections } from './detections';

const CHUNK_BYTES = 4 << 20;

/** Thrown by the scanner when it needs bytes past the end of what it has. */
const NEED_MORE = Symbol('need more input');

/** Exactly representable powers of ten, for the exact fast path of number parsing. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

const enum Ch {
  Tab = 9, Newline = 10, Return = 13, Space = 32, Quote = 34, Plus = 43, Comma = 44, Minus = 45, Dot = 46,
  Zero = 48, Nine = 57, Colon = 58, UpperE = 69, UpperI = 73, UpperN = 78, LeftBracket = 91, Backslash = 92,
  RightBracket = 93, LowerE = 101, LeftBrace = 123, RightBrace = 125,
}

const KEYS: [string, Buffer][] = ['image_id', 'category_id', 'bbox', 'score'].map((k) => [k, Buffer.from(k)]);

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

class ResultsScanner implements JsonChunkParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Bytes held in `buf`; those from `pos` on are still to parse. */
  private size = 0;
  private eof = false;
  /** Bytes dropped from the front of `buf` so far (for error offsets). */
  private dropped = 0;
  private state = State.Start;
  private record = 0;

  constructor(
    private readonly builder: DetectionsBuilder,
    private readonly source: string,
  ) {}

  push(chunk: Buffer): void {
    this.scan(chunk, false);
  }

  end(): void {
    this.scan(Buffer.alloc(0), true);
  }

  /** Takes the next chunk (`last`: no more will come) and parses every complete step it allows. */
  private scan(chunk: Buffer, last: boolean): void {
    const rest = this.buf.subarray(this.pos, this.size);
    this.dropped += this.pos;
    this.buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    this.pos = 0;
    this.size = this.buf.length;
    this.eof = last;
    for (;;) {
      const checkpoint = this.pos;
      try {
        if (!this.step()) return;
      } catch (error) {
        if (error !== NEED_MORE) throw error;
        if (this.eof && this.state === State.Start) throw new Error(`${this.source}: the file is empty; expected a JSON list of detections`);
        if (this.eof) throw this.error(this.record, 'the file ends in the middle of the results list');
        this.pos = checkpoint;
        return;
      }
    }
  }

  /** One restartable step of the list grammar; false once the input is used up. */
  private step(): boolean {
    switch (this.state) {
      case State.Start:
        this.skipSpace();
        if (this.buf[this.pos] !== Ch.LeftBracket) throw this.syntax('a results file must be a JSON list of detections');
        this.pos++;
        this.state = State.FirstElement;
        return true;
      case State.FirstElement:
        this.skipSpace();
        if (this.buf[this.pos] === Ch.RightBracket) {
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
        this.skipSpace();
        const c = this.buf[this.pos++];
        if (c === Ch.Comma) this.state = State.Element;
        else if (c === Ch.RightBracket) this.state = State.Done;
        else throw this.syntax("expected ',' or ']' after a list element", this.pos - 1);
        return true;
      }
      case State.Done:
        while (this.pos < this.size && isSpace(this.buf[this.pos])) this.pos++;
        if (this.pos < this.size) throw this.syntax('unexpected data after the results list');
        return false;
    }
  }

  /** One {…} element: the four fields we need, anything else skipped. */
  private element(): void {
    const record = this.record;
    this.skipSpace();
    if (this.buf[this.pos] !== Ch.LeftBrace) {
      this.need(1);
      throw this.error(record, 'expected an object');
    }
    this.pos++;
    let imageId: number | undefined;
    let categoryId: number | undefined;
    let score: number | undefined;
    let box: number[] | undefined;
    this.skipSpace();
    if (this.buf[this.pos] === Ch.RightBrace) {
      this.pos++;
    } else {
      for (;;) {
        this.skipSpace();
        const key = this.key();
        this.skipSpace();
        if (this.buf[this.pos] !== Ch.Colon) throw this.syntax("expected ':' after a key");
        this.pos++;
        this.skipSpace();
        if (key === 'image_id') imageId = this.number(record, 'image_id must be a number');
        else if (key === 'category_id') categoryId = this.number(record, 'category_id must be a number');
        else if (key === 'score') score = this.number(record, 'score must be a number');
        else if (key === 'bbox') box = this.box(record);
        else this.skipValue();
        this.skipSpace();
        const c = this.buf[this.pos++];
        if (c === Ch.RightBrace) break;
        if (c !== Ch.Comma) throw this.syntax("expected ',' or '}' in an object", this.pos - 1);
      }
    }
    if (imageId === undefined) throw this.error(record, 'missing image_id');
    if (categoryId === undefined) throw this.error(record, 'missing category_id');
    if (box === undefined) throw this.error(record, 'missing bbox');
    if (score === undefined) throw this.error(record, 'missing score');
    this.builder.add(record, imageId, categoryId, box[0], box[1], box[2], box[3], score);
  }

  /** An object key; the four known keys are recognised without building a string. */
  private key(): string {
    if (this.buf[this.pos] !== Ch.Quote) throw this.syntax('expected a quoted key');
    const start = this.pos + 1;
    let i = start;
    let escaped = false;
    while (i < this.size && this.buf[i] !== Ch.Quote) {
      if (this.buf[i] === Ch.Backslash) {
        escaped = true;
        i++;
      }
      i++;
    }
    if (i >= this.size) throw NEED_MORE;
    this.pos = i + 1;
    if (escaped) return JSON.parse(this.buf.toString('utf8', start - 1, i + 1)) as string;
    for (const [name, bytes] of KEYS) {
      if (i - start === bytes.length && this.buf.compare(bytes, 0, bytes.length, start, i) === 0) return name;
    }
    return '';
  }

  private box(record: number): number[] {
    if (this.buf[this.pos] !== Ch.LeftBracket) {
      this.need(1);
      throw this.error(record, 'bbox must be 4 finite numbers');
    }
    this.pos++;
    const values: number[] = [];
    this.skipSpace();
    if (this.buf[this.pos] === Ch.RightBracket) {
      this.pos++;
    } else {
      for (;;) {
        this.skipSpace();
        values.push(this.number(record, 'bbox must be 4 finite numbers'));
        this.skipSpace();
        const c = this.buf[this.pos++];
        if (c === Ch.RightBracket) break;
        if (c !== Ch.Comma) throw this.syntax("expected ',' or ']' in bbox", this.pos - 1);
      }
    }
    if (values.length !== 4) throw this.error(record, `bbox must be 4 finite numbers, got ${values.length} values`);
    return values;
  }

  /**
   * A JSON number (NaN and ±Infinity accepted too, as Python writes them, so they can be reported
   * as non-finite). Short decimals take Clinger's exact fast path (an integer below 2^53 divided
   * by an exact power of ten is correctly rounded); the rest go through parseFloat.
   */
  private number(record: number, notNumber: string): number {
    const b = this.buf;
    const start = this.pos;
    let i = start;
    const negative = b[i] === Ch.Minus;
    if (negative) i++;
    if (i >= this.size) throw NEED_MORE;
    if (b[i] === Ch.UpperN || b[i] === Ch.UpperI) {
      const word = b[i] === Ch.UpperN ? 'NaN' : 'Infinity';
      this.need(i - start + word.length);
      if (b.toString('latin1', i, i + word.length) !== word) throw this.error(record, notNumber);
      this.pos = i + word.length;
      return word === 'NaN' ? NaN : negative ? -Infinity : Infinity;
    }
    let mantissa = 0;
    let digits = 0;
    let fraction = 0;
    let simple = true;
    while (i < this.size && b[i] >= Ch.Zero && b[i] <= Ch.Nine) {
      mantissa = mantissa * 10 + (b[i++] - Ch.Zero);
      digits++;
    }
    if (i < this.size && b[i] === Ch.Dot) {
      i++;
      while (i < this.size && b[i] >= Ch.Zero && b[i] <= Ch.Nine) {
        mantissa = mantissa * 10 + (b[i++] - Ch.Zero);
        digits++;
        fraction++;
      }
    }
    if (i < this.size && (b[i] === Ch.LowerE || b[i] === Ch.UpperE)) {
      simple = false;
      i++;
      if (i < this.size && (b[i] === Ch.Plus || b[i] === Ch.Minus)) i++;
      while (i < this.size && b[i] >= Ch.Zero && b[i] <= Ch.Nine) i++;
    }
    if (i >= this.size && !this.eof) throw NEED_MORE;
    if (digits === 0) throw this.error(record, notNumber);
    this.pos = i;
    if (simple && digits <= 15) {
      const value = fraction ? mantissa / POW10[fraction] : mantissa;
      return negative ? -value : value;
    }
    const value = Number(b.toString('latin1', start, i));
    if (Number.isNaN(value)) throw this.syntax('malformed number', start);
    return value;
  }

  /** Skips any JSON value (fields we do not use, such as segmentation or area). */
  private skipValue(): void {
    const b = this.buf;
    let i = this.pos;
    if (i >= this.size) throw NEED_MORE;
    if (b[i] === Ch.Quote) {
      this.pos = this.skipString(i);
      return;
    }
    if (b[i] === Ch.LeftBrace || b[i] === Ch.LeftBracket) {
      let depth = 0;
      do {
        if (i >= this.size) throw NEED_MORE;
        const c = b[i];
        if (c === Ch.Quote) {
          i = this.skipString(i);
          continue;
        }
        if (c === Ch.LeftBrace || c === Ch.LeftBracket) depth++;
        else if (c === Ch.RightBrace || c === Ch.RightBracket) depth--;
        i++;
      } while (depth > 0);
      this.pos = i;
      return;
    }
    // number or literal: up to the next delimiter
    while (i < this.size && !isSpace(b[i]) && b[i] !== Ch.Comma && b[i] !== Ch.RightBrace && b[i] !== Ch.RightBracket) i++;
    if (i >= this.size && !this.eof) throw NEED_MORE;
    if (i === this.pos) throw this.syntax('expected a value');
    this.pos = i;
  }

  /** Index just past the string starting at the quote at `i`. */
  private skipString(i: number): number {
    i++;
    while (i < this.size && this.buf[i] !== Ch.Quote) i += this.buf[i] === Ch.Backslash ? 2 : 1;
    if (i >= this.size) throw NEED_MORE;
    return i + 1;
  }

  private skipSpace(): void {
    while (this.pos < this.size && isSpace(this.buf[this.pos])) this.pos++;
    if (this.pos >= this.size) throw NEED_MORE;
  }

  /** Makes sure `n` bytes from pos are available (or we are at the end of the file). */
  private need(n: number): void {
    if (this.pos + n > this.size && !this.eof) throw NEED_MORE;
  }

  private error(record: number, message: string): Error {
    return new Error(`${this.source}: [${record}]: ${message}`);
  }

  private syntax(message: string, at = this.pos): Error {
    if (at >= this.size && !this.eof) return NEED_MORE as unknown as Error;
    return invalidJsonError(this.source, 'at', this.dropped + at, ` (list element ${this.record}): ${message}`);
  }
}

function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Newline || c === Ch.Return || c === Ch.Tab;
}
