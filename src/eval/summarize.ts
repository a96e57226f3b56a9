// pycocotools' summarize(): the 12 stats, its text table, and the per-category and per-size views
// built the same way. Means are numpy's (pairwise summation in blocks of 8192), so the numbers
// agree with pycocotools to the last bit, not just to rounding.
import type { EvalArrays } from './cocoeval';

export interface SummaryLine {
  ap: boolean;
  iouThreshold?: number;
  area: string;
  /** Undefined where the line asks for maxDets[i] and fewer were configured: its value is then -1. */
  maxDets: number | undefined;
}

/** One line of pycocotools' table: which mean it takes. */
const COCO_LINES = (maxDets: number[]): SummaryLine[] => [
  { ap: true, area: 'all', maxDets: 100 },
  { ap: true, iouThreshold: 0.5, area: 'all', maxDets: maxDets[2] },
  { ap: true, iouThreshold: 0.75, area: 'all', maxDets: maxDets[2] },
  { ap: true, area: 'small', maxDets: maxDets[2] },
  { ap: true, area: 'medium', maxDets: maxDets[2] },
  { ap: true, area: 'large', maxDets: maxDets[2] },
  { ap: false, area: 'all', maxDets: maxDets[0] },
  { ap: false, area: 'all', maxDets: maxDets[1] },
  { ap: false, area: 'all', maxDets: maxDets[2] },
  { ap: false, area: 'small', maxDets: maxDets[2] },
  { ap: false, area: 'medium', maxDets: maxDets[2] },
  { ap: false, area: 'large', maxDets: maxDets[2] },
];

/** The 12 summary stats in summarize() order (with the lines that produced them). */
export function summaryLines(e: EvalArrays): SummaryLine[] {
  return COCO_LINES(e.params.maxDets);
}

/** Lines for area ranges beyond COCO's four (e.g. 'tiny'), AP and AR at the largest maxDets. */
export function extraAreaLines(e: EvalArrays): SummaryLine[] {
  const coco = new Set(['all', 'small', 'medium', 'large']);
  const maxDet = e.params.maxDets[e.params.maxDets.length - 1];
  const extra = e.params.areaRanges.filter((r) => !coco.has(r.name));
  return [
    ...extra.map((r) => ({ ap: true, area: r.name, maxDets: maxDet })),
    ...extra.map((r) => ({ ap: false, area: r.name, maxDets: maxDet })),
  ];
}

/** The means already taken, per evaluation: stats, the table and perSize ask for many of the same. */
const summaryCache = new WeakMap<EvalArrays, Map<string, number>>();

/**
 * _summarize(): the mean of precision (ap) or recall over the selected thresholds, all categories
 * (or those given), the named area range and maxDets, ignoring -1 entries; -1 when nothing is defined.
 */
export function summaryValue(e: EvalArrays, line: SummaryLine, categories?: number[]): number {
  if (categories) return meanOf(e, line, categories);
  const known = summaryCache.get(e) ?? new Map<string, number>();
  summaryCache.set(e, known);
  const key = `${line.ap} ${line.iouThreshold} ${line.area} ${line.maxDets}`;
  if (!known.has(key)) known.set(key, meanOf(e, line));
  return known.get(key) as number;
}

/** The values one mean is taken over, kept between calls (up to T × R × K of them). */
let gathered = new Float64Array(0);

function meanOf(e: EvalArrays, line: SummaryLine, categories?: number[]): number {
  const [T, R, K, A, M] = e.precisionShape;
  const ts = indicesWhere(T, (t) => line.iouThreshold === undefined || e.params.iouThresholds[t] === line.iouThreshold);
  const as = indicesWhere(A, (a) => e.params.areaRanges[a].name === line.area);
  const ms = indicesWhere(M, (m) => e.params.maxDets[m] === line.maxDets);
  const ks = categories ? Int32Array.from(categories) : indicesWhere(K, () => true);
  // Recall is precision's layout without the R axis.
  const [values, rs] = line.ap ? [e.precision, R] : [e.recall, 1];
  const size = ts.length * rs * ks.length * as.length * ms.length;
  if (gathered.length < size) gathered = new Float64Array(size);
  const n = gatherDefined(values, [rs, K, A, M], ts, ks, as, ms);
  return n ? numpyMean(gathered.subarray(0, n)) : -1;
}

/**
 * Copies the entries > -1 of values[ts, :rs, ks, as, ms] into `gathered` in row-major order, as
 * s[s > -1] does; returns how many. A function of its own, ending with its loop: V8 optimises the
 * loop while it runs (on-stack replacement) and enters that code again on the next call, where
 * code after the loop that had not yet run when it was optimised would deoptimise every time.
 */
function gatherDefined(values: Float64Array, [rs, K, A, M]: number[], ts: Int32Array, ks: Int32Array, as: Int32Array, ms: Int32Array): number {
  let n = 0;
  for (let ti = 0; ti < ts.length; ti++) {
    for (let r = 0; r < rs; r++) {
      for (let ki = 0; ki < ks.length; ki++) {
        for (let ai = 0; ai < as.length; ai++) {
          for (let mi = 0; mi < ms.length; mi++) {
            const v = values[(((ts[ti] * rs + r) * K + ks[ki]) * A + as[ai]) * M + ms[mi]];
            if (v > -1) gathered[n++] = v;
          }
        }
      }
    }
  }
  return n;
}

export function stats(e: EvalArrays): number[] {
  return summaryLines(e).map((line) => summaryValue(e, line));
}

/** AP (IoU .50:.95, area 'all' or the first range, largest maxDets) per category id; -1 if undefined. */
export function perCategoryAp(e: EvalArrays): Map<number, number> {
  const area = e.params.areaRanges.find((r) => r.name === 'all')?.name ?? e.params.areaRanges[0].name;
  const maxDets = e.params.maxDets[e.params.maxDets.length - 1];
  const out = new Map<number, number>();
  e.categoryIds.forEach((id, k) => out.set(id, summaryValue(e, { ap: true, area, maxDets }, [k])));
  return out;
}

export interface SizeSummary {
  ap: number;
  ap50: number;
  ap75: number;
  ar: number;
}

/** AP, AP50, AP75 and AR at the largest maxDets for every area range, by name. */
export function perSize(e: EvalArrays): Record<string, SizeSummary> {
  const maxDets = e.params.maxDets[e.params.maxDets.length - 1];
  const out: Record<string, SizeSummary> = {};
  for (const { name: area } of e.params.areaRanges) {
    out[area] = {
      ap: summaryValue(e, { ap: true, area, maxDets }),
      ap50: summaryValue(e, { ap: true, iouThreshold: 0.5, area, maxDets }),
      ap75: summaryValue(e, { ap: true, iouThreshold: 0.75, area, maxDets }),
      ar: summaryValue(e, { ap: false, area, maxDets }),
    };
  }
  return out;
}

/** pycocotools' printed line, e.g. ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.373`. */
export function formatLine(e: EvalArrays, line: SummaryLine, value: number): string {
  const thresholds = e.params.iouThresholds;
  const iou =
    line.iouThreshold === undefined
      ? `${pyFixed(thresholds[0], 2)}:${pyFixed(thresholds[thresholds.length - 1], 2)}`
      : pyFixed(line.iouThreshold, 2);
  const title = line.ap ? 'Average Precision' : 'Average Recall';
  const kind = line.ap ? '(AP)' : '(AR)';
  return ` ${title.padEnd(18)} ${kind} @[ IoU=${iou.padEnd(9)} | area=${line.area.padStart(6)} | maxDets=${String(line.maxDets ?? 'n/a').padStart(3)} ] = ${pyFixed(value, 3)}`;
}

/** The summarize() table (plus lines for any extra area ranges). */
export function formatSummary(e: EvalArrays): string {
  const lines = [...summaryLines(e), ...extraAreaLines(e)];
  return lines.map((line) => formatLine(e, line, summaryValue(e, line))).join('\n');
}

/**
 * Python's '{:.Nf}'.format(x): rounds the exact binary value, ties to even. (toFixed breaks exact
 * ties upwards: 0.3125 → '0.313' where Python prints '0.312'.)
 */
export function pyFixed(x: number, decimals: number): string {
  const rounded = x.toFixed(decimals);
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + decimals);
  if (!/^50*$/.test(rest)) return rounded;
  const truncated = exact.slice(0, decimals ? dot + 1 + decimals : dot);
  const lastDigit = Number(truncated[truncated.length - 1]);
  if (lastDigit % 2 === 1) return rounded;
  return (x < 0 ? '-' : '') + truncated;
}

/** np.mean of a float64 vector: numpy's reduction (blocks of 8192, pairwise inside) divided by n. */
export function numpyMean(values: ArrayLike<number>): number {
  const a = values instanceof Float64Array ? values : Float64Array.from(values);
  let sum = 0;
  for (let start = 0; start < a.length; start += 8192) {
    sum += pairwiseSum(a, start, Math.min(8192, a.length - start));
  }
  return sum / a.length;
}

/** numpy's pairwise_sum: under 8 values a plain sum, up to 128 eight running sums, else halves. */
function pairwiseSum(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[start + i];
    return s;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = start + 8;
    const blocksEnd = start + n - (n % 8);
    for (; i < blocksEnd; i += 8) {
      r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3];
      r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7];
    }
    let s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < start + n; i++) s += a[i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, start, half) + pairwiseSum(a, start + half, n - half);
}

function indicesWhere(n: number, keep: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) out.push(i);
  return Int32Array.from(out);
}
