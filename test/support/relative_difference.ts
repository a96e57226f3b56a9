// How far one tensor's values are from a reference's, relative to the reference's scale: shared by
// the parity tests and the GPU check (bench/gpu_check.ts).

/** max |a − b| / max |b| over arrays of one length. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}
