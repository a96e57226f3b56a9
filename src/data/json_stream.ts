// The one way this library reads JSON from a file: in chunks (a 450 MB file never sits in memory as
// text), through a byte scanner specialised for the file's shape, with malformed JSON reported in
// one line that names the file and the byte. Both the COCO annotations reader (coco_builder.ts) and
// the results reader (eval/results_reader.ts) are JsonScanners: a generic token stream is several
// times slower, and they never build a JS object per record.
import * as fs from 'fs';

/** A parser that is handed a file's bytes chunk by chunk. */
export interface JsonChunkParser {
  /** Parses the next chunk; throws on malformed JSON or a bad record, which stops the read. */
  push(chunk: Buffer): void;
  /** The file has ended: throws if the JSON has not. */
  end(): void;
}

/** Bytes read at a time by default: few reads, and little memory next to what the readers build. */
export const CHUNK_BYTES = 1 << 20;

/**
 * Feeds `file` to `parser` in chunks of `chunkBytes`. `what` says what kind of file it is in the
 * error when it cannot be opened ("cannot open results file").
 */
export async function streamJsonFile(file: string, what: string, chunkBytes: number, parser: JsonChunkParser): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (error) {
    throw new Error(`${file}: cannot open ${what} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    // One buffer for every chunk: the parser copies what it keeps of one before the next is read.
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      parser.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  parser.end();
}

/**
 * The one-line error for malformed JSON: the source, the byte where parsing failed (after 'at' or
 * 'near', as each reader's messages read), then `detail`, the reader's own wording of why.
 */
export function invalidJsonError(source: string, position: 'at' | 'near', byte: number, detail: string): Error {
  return new Error(`${source}: invalid JSON ${position} byte ${byte}${detail}`);
}

/** Thrown by a scanner's reads when they need bytes past the end of what it holds. */
const NEED_MORE = Symbol('need more input');

export const enum Ch {
  Tab = 9, Newline = 10, Return = 13, Space = 32, Quote = 34, Plus = 43, Comma = 44, Minus = 45, Dot = 46,
  Zero = 48, Nine = 57, Colon = 58, UpperE = 69, UpperI = 73, UpperN = 78, LeftBracket = 91, Backslash = 92,
  RightBracket = 93, LowerE = 101, LowerF = 102, LowerN = 110, LowerT = 116, LeftBrace = 123, RightBrace = 125,
}

/** Exactly representable powers of ten, for plainNumber. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const LITERALS: [Buffer, boolean | null][] = [[Buffer.from('true'), true], [Buffer.from('false'), false], [Buffer.from('null'), null]];
const NAN: [Buffer, number] = [Buffer.from('NaN'), NaN];
const INFINITY: [Buffer, number] = [Buffer.from('Infinity'), Infinity];
const NO_KEYS: Buffer[] = [];

/** Object keys a scanner recognises, as bytes: key() answers with an index into the list. */
export function keyList(names: readonly string[]): Buffer[] {
  return names.map((name) => Buffer.from(name));
}

/**
 * A restartable byte scanner. A subclass parses its file in steps (a list element, an object
 * member); a step that runs past the bytes held throws NEED_MORE from the read that needed them,
 * and is parsed again from its start once the next chunk has arrived. A step must therefore change
 * the scanner's own state only once it has read all it needs.
 */
export abstract class JsonScanner implements JsonChunkParser {
  /** The unparsed rest of the previous chunks, then the current one; bytes [size, length) are stale. */
  protected buf: Buffer = Buffer.alloc(0);
  protected pos = 0;
  protected size = 0;
  protected eof = false;
  /** Bytes dropped from the front of `buf` so far (the file offset of buf[0]). */
  private dropped = 0;
  /** Where skipValue puts the numbers it reads. */
  private readonly skipped = new Float64Array(1);

  constructor(protected readonly source: string) {}

  push(chunk: Buffer): void {
    this.scan(chunk, false);
  }

  end(): void {
    this.scan(Buffer.alloc(0), true);
  }

  /** One step of the file's grammar; false once the file is done (only trailing space may follow). */
  protected abstract step(): boolean;
  /** The error for a file that ends before its JSON does. */
  protected abstract endedEarly(): Error;
  /** The error for malformed JSON at file offset `byte`. */
  protected abstract syntaxError(message: string, byte: number): Error;

  /** The file offset of the byte at `at` in the buffer. */
  protected offset(at = this.pos): number {
    return this.dropped + at;
  }

  /** Takes the next chunk (`last`: no more will come) and parses every complete step it allows. */
  private scan(chunk: Buffer, last: boolean): void {
    // Move the unparsed rest to the front of the buffer and append the chunk, reusing the buffer.
    const rest = this.size - this.pos;
    this.dropped += this.pos;
    if (rest + chunk.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(rest + chunk.length, 2 * this.buf.length));
      this.buf.copy(bigger, 0, this.pos, this.size);
      this.buf = bigger;
    } else {
      this.buf.copyWithin(0, this.pos, this.size);
    }
    chunk.copy(this.buf, rest);
    this.pos = 0;
    this.size = rest + chunk.length;
    this.eof = last;
    for (;;) {
      const checkpoint = this.pos;
      try {
        if (!this.step()) return;
      } catch (error) {
        if (error !== NEED_MORE) throw error;
        if (this.eof) throw this.endedEarly();
        this.pos = checkpoint;
        return;
      }
    }
  }

  /** Skips white space; the byte after it (which must exist: the step needs it). */
  protected peek(): number {
    // Most tokens follow the last directly: then no call.
    if (this.pos < this.size && this.buf[this.pos] > Ch.Space) return this.buf[this.pos];
    this.pos = skipSpace(this.buf, this.pos, this.size);
    if (this.pos >= this.size) throw NEED_MORE;
    return this.buf[this.pos];
  }

  /** Skips white space, then the byte `c`, or throws a syntax error with `message`. */
  protected expect(c: number, message: string): void {
    if (this.peek() !== c) throw this.syntax(message);
    this.pos++;
  }

  /** Skips `close` (after white space) if it comes next: the end of an empty list or object. */
  protected closes(close: number): boolean {
    if (this.peek() !== close) return false;
    this.pos++;
    return true;
  }

  /**
   * After an element of a list or object: true past a comma (another element follows), false past
   * `close`; anything else is a syntax error, which `where` places ("in bbox").
   */
  protected another(close: number, where: string): boolean {
    const c = this.peek();
    this.pos++;
    if (c === Ch.Comma) return true;
    if (c === close) return false;
    throw this.syntax(`expected ',' or '${String.fromCharCode(close)}' ${where}`, this.pos - 1);
  }

  /** After the last step: only white space may follow. */
  protected atEnd(): boolean {
    while (this.pos < this.size && isSpace(this.buf[this.pos])) this.pos++;
    return this.pos >= this.size;
  }

  /** A syntax error at `at`; but where `at` is past the bytes held, the step just needs more. */
  protected syntax(message: string, at = this.pos): Error {
    if (at >= this.size && !this.eof) return NEED_MORE as unknown as Error;
    return this.syntaxError(message, this.offset(at));
  }

  /**
   * The object key at pos (after white space): its index in `keys`, or -1 for any other key.
   * Keys without escapes, the usual case, are matched as bytes without building a string.
   */
  protected key(keys: readonly Buffer[]): number {
    if (this.peek() !== Ch.Quote) throw this.syntax('expected a quoted key');
    const b = this.buf;
    const start = this.pos + 1;
    const close = this.plainStringEnd(start);
    if (close < 0) {
      const text = Buffer.from(this.escapedString());
      return keys.findIndex((key) => key.equals(text));
    }
    this.pos = close + 1;
    next: for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (key.length !== close - start) continue;
      for (let j = 0; j < key.length; j++) if (key[j] !== b[start + j]) continue next;
      return k;
    }
    return -1;
  }

  /** The string at pos (after white space), unescaped. */
  protected string(): string {
    if (this.peek() !== Ch.Quote) throw this.syntax('expected a string');
    const close = this.plainStringEnd(this.pos + 1);
    if (close < 0) return this.escapedString();
    const text = this.buf.toString('utf8', this.pos + 1, close);
    this.pos = close + 1;
    return text;
  }

  /** true, false or null at pos (after white space). */
  protected literal(): boolean | null {
    this.peek();
    for (const [word, value] of LITERALS) {
      if (!this.spells(word, this.pos)) continue;
      this.pos += word.length;
      return value;
    }
    throw this.syntax('expected a value');
  }

  /**
   * Reads the number at pos (after white space) into into[at]; false, with pos unmoved, where there
   * is none. (Stored, not returned: a double returned from a call is boxed on the heap, and a large
   * file has millions of numbers.) NaN and ±Infinity are accepted too, as Python writes them, so
   * that readers can report them as non-finite. Short decimals take plainNumber's exact arithmetic;
   * the rest go through Number().
   */
  protected number(into: Float64Array, at: number): boolean {
    this.peek();
    const end = plainNumber(this.buf, this.pos, this.size, into, at);
    if (end < 0) return this.otherNumber(into, at);
    this.pos = end;
    return true;
  }

  /** number() for what plainNumber leaves: NaN, Infinity, exponents, long or malformed numbers, a number at the end of the bytes held. */
  private otherNumber(into: Float64Array, at: number): boolean {
    const b = this.buf;
    const size = this.size;
    const start = this.pos;
    let i = start;
    const negative = b[i] === Ch.Minus;
    if (negative) i++;
    if (i >= size) throw NEED_MORE;
    if (b[i] === Ch.UpperN || b[i] === Ch.UpperI) {
      const [word, value] = b[i] === Ch.UpperN ? NAN : INFINITY;
      if (!this.spells(word, i)) return false;
      this.pos = i + word.length;
      into[at] = negative ? -value : value;
      return true;
    }
    const integerStart = i;
    while (i < size && isDigit(b[i])) i++;
    if (i === integerStart) {
      if (i >= size && !this.eof) throw NEED_MORE;
      return false;
    }
    // JSON's grammar: no leading zero, and digits after a point and after an exponent's sign.
    let malformed = i - integerStart > 1 && b[integerStart] === Ch.Zero;
    if (i < size && b[i] === Ch.Dot) {
      const fractionStart = ++i;
      while (i < size && isDigit(b[i])) i++;
      malformed ||= i === fractionStart;
    }
    if (i < size && (b[i] === Ch.LowerE || b[i] === Ch.UpperE)) {
      i++;
      if (i < size && (b[i] === Ch.Plus || b[i] === Ch.Minus)) i++;
      const exponentStart = i;
      while (i < size && isDigit(b[i])) i++;
      malformed ||= i === exponentStart;
    }
    if (i >= size && !this.eof) throw NEED_MORE;
    if (malformed) throw this.syntax('malformed number', start);
    this.pos = i;
    // Correctly rounded, as plainNumber's arithmetic is: the same value where both apply.
    into[at] = Number(b.toString('latin1', start, i));
    return true;
  }

  /** Skips the value at pos (after white space), checking its syntax: fields a reader does not use. */
  protected skipValue(): void {
    const c = this.peek();
    if (c === Ch.Quote) {
      this.pos = this.stringEnd(this.pos);
    } else if (c === Ch.LeftBracket || c === Ch.LeftBrace) {
      const close = c === Ch.LeftBracket ? Ch.RightBracket : Ch.RightBrace;
      this.pos++;
      if (this.closes(close)) return;
      do {
        if (close === Ch.RightBrace) {
          this.key(NO_KEYS);
          this.expect(Ch.Colon, "expected ':' after a key");
        }
        this.skipValue();
      } while (this.another(close, close === Ch.RightBrace ? 'in an object' : 'in a list'));
    } else if (c === Ch.LowerT || c === Ch.LowerF || c === Ch.LowerN) {
      this.literal();
    } else if (!this.number(this.skipped, 0)) {
      throw this.syntax('expected a value');
    }
  }

  /** Whether the bytes from `at` spell `word` (NEED_MORE while too few are held to tell). */
  private spells(word: Buffer, at: number): boolean {
    if (at + word.length > this.size) {
      if (!this.eof) throw NEED_MORE;
      return false;
    }
    return this.buf.compare(word, 0, word.length, at, at + word.length) === 0;
  }

  /** Index just past the string whose opening quote is at `i`. */
  private stringEnd(i: number): number {
    const b = this.buf;
    i++;
    while (i < this.size && b[i] !== Ch.Quote) i += b[i] === Ch.Backslash ? 2 : 1;
    if (i >= this.size) throw NEED_MORE;
    return i + 1;
  }

  /**
   * The index of the closing quote of a string whose text starts at `start`, or -1 where an escape
   * comes first (the string is then read by escapedString).
   */
  private plainStringEnd(start: number): number {
    const b = this.buf;
    let i = start;
    while (i < this.size && b[i] !== Ch.Quote && b[i] !== Ch.Backslash) i++;
    if (i >= this.size) throw NEED_MORE;
    return b[i] === Ch.Quote ? i : -1;
  }

  /** The string at pos (its opening quote), with escapes, decoded. */
  private escapedString(): string {
    const start = this.pos;
    const end = this.stringEnd(start);
    try {
      const text = JSON.parse(this.buf.toString('utf8', start, end)) as string;
      this.pos = end;
      return text;
    } catch {
      throw this.syntax('malformed string', start);
    }
  }
}

function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Newline || c === Ch.Return || c === Ch.Tab;
}

/** One unsigned comparison: bytes below '0' wrap around to large numbers. */
function isDigit(c: number): boolean {
  return (c - Ch.Zero) >>> 0 < 10;
}

/** The index of the first byte from `i` on that is not white space (`size` where there is none). */
export function skipSpace(b: Buffer, i: number, size: number): number {
  // Bytes above ' ' are no white space: one comparison for most.
  while (i < size && b[i] <= Ch.Space && isSpace(b[i])) i++;
  return i;
}

/**
 * Reads a plain decimal at b[i], [-]digits[.digits] with at most 15 digits and no exponent, into
 * into[at], and answers the index just past it; -1, having read nothing, where anything else is
 * there, or where the bytes held end before the number does (JsonScanner.number then reads it).
 * Clinger's exact fast path: an integer below 2^53 divided by an exact power of ten is correctly
 * rounded. Small and without calls, so that the optimiser inlines it into a reader's loop.
 */
export function plainNumber(b: Buffer, i: number, size: number, into: Float64Array, at: number): number {
  const negative = i < size && b[i] === Ch.Minus;
  const integerStart = negative ? i + 1 : i;
  let end = integerStart;
  let mantissa = 0;
  while (end < size && isDigit(b[end])) mantissa = mantissa * 10 + (b[end++] - Ch.Zero);
  const integerDigits = end - integerStart;
  // No digit, or a leading zero.
  if (integerDigits === 0 || (integerDigits > 1 && b[integerStart] === Ch.Zero)) return -1;
  let fraction = 0;
  if (end < size && b[end] === Ch.Dot) {
    const fractionStart = ++end;
    while (end < size && isDigit(b[end])) mantissa = mantissa * 10 + (b[end++] - Ch.Zero);
    fraction = end - fractionStart;
    if (fraction === 0) return -1;
  }
  if (end >= size || b[end] === Ch.LowerE || b[end] === Ch.UpperE || integerDigits + fraction > 15) return -1;
  const value = fraction ? mantissa / POW10[fraction] : mantissa;
  into[at] = negative ? -value : value;
  return end;
}
