// Typed arrays that grow geometrically while a file streams in, so loading N records costs a few
// reallocations and no JS object per record.

type NumericArray = Float64Array | Float32Array | Int32Array | Uint8Array;

export class Growable<A extends NumericArray> {
  private data: A;
  length = 0;

  constructor(private readonly make: (size: number) => A, initialCapacity = 1024) {
    this.data = make(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = value;
  }

  /** The elements pushed so far, without copying: valid until the next push. */
  view(): A {
    return this.data.subarray(0, this.length) as A;
  }

  /** An array of exactly `length` elements (a copy, so the slack is freed). */
  toArray(): A {
    return this.data.slice(0, this.length) as A;
  }

  private grow(): void {
    const bigger = this.make(Math.max(1024, this.data.length * 2));
    bigger.set(this.data as never);
    this.data = bigger;
  }
}
