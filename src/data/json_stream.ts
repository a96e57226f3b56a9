// The one way this library streams JSON from a file: read it in chunks (a 450 MB file never sits in
// memory as text), hand each chunk to a parser, stop at the parser's first error, and report
// malformed JSON in one line that names the file and the byte. Two parsers plug in: stream-json's
// tokenizer (streamJsonTokens), which the COCO annotations reader builds records from, and the
// results reader's byte scanner, specialised for one shape because it is several times faster.
import * as fs from 'fs';
import type { Transform } from 'stream';
import { finished } from 'stream/promises';

/** A parser that is handed a file's bytes chunk by chunk. */
export interface JsonChunkParser {
  /** Parses the next chunk; throws on malformed JSON or a bad record, which stops the read. */
  push(chunk: Buffer): void | Promise<void>;
  /** The file has ended: throws if the JSON has not. */
  end(): void | Promise<void>;
}

/**
 * Feeds `file` to `parser` in chunks of `chunkBytes`. `what` says what kind of file it is in the
 * error when it cannot be opened ("cannot open results file").
 */
export async function streamJsonFile(file: string, what: string, chunkBytes: number, parser: JsonChunkParser): Promise<void> {
  for await (const chunk of fileChunks(file, what, chunkBytes)) await parser.push(chunk);
  await parser.end();
}

/**
 * The one-line error for malformed JSON: the source, the byte where parsing failed ('near' when the
 * parser can only place it approximately), then `detail`, the reader's own wording of why.
 */
export function invalidJsonError(source: string, position: 'at' | 'near', byte: number, detail: string): Error {
  return new Error(`${source}: invalid JSON ${position} byte ${byte}${detail}`);
}

/**
 * The first `length` bytes of `file` (all of it by default) in chunks of `chunkBytes`. The file is
 * closed when the last chunk has been taken or the caller stops early (a break or a throw).
 */
async function* fileChunks(file: string, what: string, chunkBytes: number, length = Infinity): AsyncGenerator<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (error) {
    throw new Error(`${file}: cannot open ${what} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    for (let read = 0; read < length; ) {
      const size = Math.min(chunkBytes, length - read);
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(size), 0, size, null);
      if (bytesRead === 0) return;
      read += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

// ---- stream-json's tokens ----

/** A token of stream-json's parser with packed keys, strings and numbers. */
export interface JsonToken {
  name: string;
  value?: string | boolean | null;
}

/** What streamJsonTokens hands the tokens to. */
export interface JsonTokenSink {
  token(t: JsonToken): void;
  /**
   * The first error the tokens made (one line), or undefined. Recorded rather than thrown because
   * tokens arrive inside the parser's stream callbacks; the read stops after the chunk that set it.
   */
  readonly error: string | undefined;
}

// stream-json ships no type declarations; this is the part of its Parser used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const JsonParser = require('stream-json/Parser') as new (options: object) => Transform;
const PARSER_OPTIONS = { packValues: true, streamValues: false };
/** Small enough that locating a syntax error, which replays its chunk byte by byte, stays cheap. */
const TOKEN_CHUNK_BYTES = 1 << 16;

/** Streams `file` through stream-json's parser into `sink`; `what` as for streamJsonFile. */
export async function streamJsonTokens(file: string, what: string, sink: JsonTokenSink): Promise<void> {
  const tokenizer = new Tokenizer(file, what, sink);
  try {
    await streamJsonFile(file, what, TOKEN_CHUNK_BYTES, tokenizer);
  } finally {
    tokenizer.destroy();
  }
}

class Tokenizer implements JsonChunkParser {
  private readonly parser = new JsonParser(PARSER_OPTIONS);
  /** Bytes pushed before the current chunk. */
  private offset = 0;

  constructor(
    private readonly file: string,
    private readonly what: string,
    private readonly sink: JsonTokenSink,
  ) {
    this.parser.on('data', (t: JsonToken) => sink.token(t));
    // Syntax errors arrive through write()'s callback and finished(); this keeps them from also
    // surfacing as an uncaught 'error' event.
    this.parser.on('error', () => undefined);
  }

  async push(chunk: Buffer): Promise<void> {
    const error = await write(this.parser, chunk);
    if (error) throw invalidJsonError(this.file, 'near', await this.locateSyntaxError(chunk), ` (${parserReason(error)})`);
    this.offset += chunk.length;
    this.throwSinkError();
  }

  async end(): Promise<void> {
    try {
      this.parser.end();
      await finished(this.parser);
    } catch (error) {
      throw invalidJsonError(this.file, 'at', this.offset, `: the file ends early (${parserReason(error)})`);
    }
    this.throwSinkError();
  }

  destroy(): void {
    this.parser.destroy();
  }

  private throwSinkError(): void {
    if (this.sink.error !== undefined) throw new Error(this.sink.error);
  }

  /**
   * The parser only says *that* a chunk is malformed. Parse the file again up to that chunk, then
   * feed the chunk one byte at a time to find where the parser gives up. Only runs on a broken file.
   */
  private async locateSyntaxError(chunk: Buffer): Promise<number> {
    const parser = new JsonParser(PARSER_OPTIONS);
    parser.on('data', () => undefined);
    parser.on('error', () => undefined);
    try {
      let at = 0;
      for await (const before of fileChunks(this.file, this.what, TOKEN_CHUNK_BYTES, this.offset)) {
        if (await write(parser, before)) return at;
        at += before.length;
      }
      for (let i = 0; i < chunk.length; i++) {
        if (await write(parser, chunk.subarray(i, i + 1))) return this.offset + i;
      }
      return this.offset + chunk.length;
    } finally {
      parser.destroy();
    }
  }
}

function write(parser: Transform, chunk: Buffer): Promise<Error | null | undefined> {
  return new Promise((resolve) => parser.write(chunk, resolve));
}

function parserReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Parser (cannot parse input: |has )/, '');
}
