// A restricted unpickler: it runs the pickle machine over the opcodes torch.save emits and builds
// plain values, and it resolves a global only from the caller's allow-list. Any other global
// (os.system, builtins.eval, ...) is refused the moment the pickle names it, so a weights file
// can never make us call anything. Python values map to: dict → Map, list and tuple → Array,
// str → string, int → number (bigint beyond 2^53), float → number, bool, None → null.

/** Globals the pickle may name, by 'module.name'; a function among them may be called by REDUCE. */
export type PickleGlobals = ReadonlyMap<string, unknown>;

export interface UnpickleOptions {
  /** Names the file in every error message. */
  file: string;
  globals: PickleGlobals;
  /** Turns a persistent id (BINPERSID) into a value; torch uses it for tensor storages. */
  persistentLoad(pid: unknown): unknown;
}

/** A callable global: receives the argument tuple of REDUCE. */
export type PickleCallable = (args: unknown[]) => unknown;

// Opcodes, by the names of Python's pickletools.
const op = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e, // .
  MARK: 0x28, // (
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47, // G
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE: 0x58, // X
  BINUNICODE8: 0x8d,
  SHORT_BINBYTES: 0x43, // C
  BINBYTES: 0x42, // B
  EMPTY_TUPLE: 0x29, // )
  TUPLE: 0x74, // t
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, // ]
  LIST: 0x6c, // l
  APPEND: 0x61, // a
  APPENDS: 0x65, // e
  EMPTY_DICT: 0x7d, // }
  DICT: 0x64, // d
  SETITEM: 0x73, // s
  SETITEMS: 0x75, // u
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  MEMOIZE: 0x94,
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  GLOBAL: 0x63, // c
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52, // R
  BUILD: 0x62, // b
  BINPERSID: 0x51, // Q
} as const;

/** Reads a pickle to its value. Errors are one line: `FILE: what (at byte N)`. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const { file, globals } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  let opcodeAt = 0;

  const fail = (what: string): never => {
    throw new Error(`${file}: ${what} (pickle byte ${opcodeAt})`);
  };
  const need = (count: number): number => {
    if (at + count > bytes.length) fail('the pickle is truncated');
    const start = at;
    at += count;
    return start;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true);
    if (value > BigInt(bytes.length)) fail('a length runs past the end of the pickle');
    return Number(value);
  };
  const text = (length: number): string => {
    const start = need(length);
    try {
      return decoder.decode(bytes.subarray(start, start + length));
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('the pickle is truncated');
    return text(end - at + 1).slice(0, -1);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail('the pickle stack underflows');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('the pickle stack underflows');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) fail('the pickle has no MARK to pop');
    return stack.splice(mark as number);
  };
  const asDict = (value: unknown): Map<unknown, unknown> => (value instanceof Map ? value : fail('SETITEM on something not a dict'));
  const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : fail('APPEND on something not a list'));
  const setItems = (dict: Map<unknown, unknown>, items: unknown[]): void => {
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const global = (module: string, name: string): unknown => {
    const qualified = `${module}.${name}`;
    if (!globals.has(qualified)) throw new Error(`${file}: refuses to load global '${qualified}' (a weights file must not run code)`);
    return globals.get(qualified);
  };
  const smallInt = (value: bigint): number | bigint => (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
  const long = (length: number): number | bigint => {
    const start = need(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[start + i]);
    // Two's complement: the top bit of the last byte is the sign.
    if (length > 0 && bytes[start + length - 1] & 0x80) value -= 1n << BigInt(8 * length);
    return smallInt(value);
  };

  for (;;) {
    opcodeAt = at;
    if (at >= bytes.length) fail('the pickle is truncated (no STOP)');
    const code = u8();
    switch (code) {
      case op.PROTO:
        if (u8() > 5) fail('unknown pickle protocol');
        break;
      case op.FRAME:
        u64(); // framing only groups opcodes; the bytes are all here already
        break;
      case op.STOP:
        if (stack.length !== 1 || marks.length > 0) fail('the pickle stops with a malformed stack');
        return stack[0];
      case op.MARK:
        marks.push(stack.length);
        break;
      case op.POP:
        pop();
        break;
      case op.POP_MARK:
        popMark();
        break;
      case op.DUP:
        stack.push(top());
        break;
      case op.NONE:
        stack.push(null);
        break;
      case op.NEWTRUE:
        stack.push(true);
        break;
      case op.NEWFALSE:
        stack.push(false);
        break;
      case op.BININT:
        stack.push(view.getInt32(need(4), true));
        break;
      case op.BININT1:
        stack.push(u8());
        break;
      case op.BININT2:
        stack.push(u16());
        break;
      case op.LONG1:
        stack.push(long(u8()));
        break;
      case op.LONG4: {
        const length = u32();
        stack.push(long(length));
        break;
      }
      case op.BINFLOAT:
        stack.push(view.getFloat64(need(8), false));
        break;
      case op.SHORT_BINUNICODE:
        stack.push(text(u8()));
        break;
      case op.BINUNICODE:
        stack.push(text(u32()));
        break;
      case op.BINUNICODE8:
        stack.push(text(u64()));
        break;
      case op.SHORT_BINBYTES:
      case op.BINBYTES: {
        const length = code === op.BINBYTES ? u32() : u8();
        const start = need(length);
        stack.push(bytes.slice(start, start + length));
        break;
      }
      case op.EMPTY_TUPLE:
      case op.EMPTY_LIST:
        stack.push([]);
        break;
      case op.TUPLE:
      case op.LIST:
        stack.push(popMark());
        break;
      case op.TUPLE1:
      case op.TUPLE2:
      case op.TUPLE3: {
        const items = Array.from({ length: code - op.TUPLE1 + 1 }, pop).reverse();
        stack.push(items);
        break;
      }
      case op.APPEND: {
        const item = pop();
        asList(top()).push(item);
        break;
      }
      case op.APPENDS: {
        const items = popMark();
        asList(top()).push(...items);
        break;
      }
      case op.EMPTY_DICT:
        stack.push(new Map());
        break;
      case op.DICT: {
        const dict = new Map();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case op.SETITEM: {
        const value = pop();
        const key = pop();
        asDict(top()).set(key, value);
        break;
      }
      case op.SETITEMS: {
        const items = popMark();
        setItems(asDict(top()), items);
        break;
      }
      case op.BINPUT:
        memo.set(u8(), top());
        break;
      case op.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case op.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case op.BINGET:
      case op.LONG_BINGET: {
        const index = code === op.BINGET ? u8() : u32();
        if (!memo.has(index)) fail(`memo entry ${index} is read before it is written`);
        stack.push(memo.get(index));
        break;
      }
      case op.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case op.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case op.REDUCE: {
        const args = pop();
        const callable = pop();
        if (typeof callable !== 'function') fail('REDUCE calls something that is not an allowed function');
        if (!Array.isArray(args)) fail('REDUCE needs an argument tuple');
        try {
          stack.push((callable as PickleCallable)(args as unknown[]));
        } catch (error) {
          fail((error as Error).message);
        }
        break;
      }
      case op.BUILD: {
        const state = pop();
        // torch pickles a state dict as an OrderedDict whose instance attributes (`_metadata`, the
        // modules' format versions) come by BUILD. They are not entries of the dict: leave them out.
        if (!(top() instanceof Map) || !(state instanceof Map)) fail('BUILD is only supported for dict attributes');
        break;
      }
      case op.BINPERSID: {
        const pid = pop();
        try {
          stack.push(options.persistentLoad(pid));
        } catch (error) {
          fail((error as Error).message);
        }
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${code.toString(16).padStart(2, '0')}`);
    }
  }
}
