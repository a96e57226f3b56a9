// A literal, slow transcription of pycocotools' COCOeval (evaluate → evaluateImg → accumulate)
// over plain JS objects, line for line with the Python structure: one evalImg per
// (category, area, image), concatenation and re-sorting per (category, area, maxDets). The fast
// evaluator in src/eval is checked against it on random cases where its grouping, cut-off and
// reuse shortcuts could go wrong; it is test code only.
import type { CocoAnnotations } from '../../src/data/coco';
import type { Detections } from '../../src/eval/detections';
import type { EvalParams } from '../../src/eval/params';

interface Gt {
  id: number;
  bbox: number[];
  area: number;
  iscrowd: number;
  ignore?: number;
}

interface Dt {
  id: number;
  bbox: number[];
  area: number;
  score: number;
}

interface EvalImg {
  dtScores: number[];
  dtMatches: number[][]; // [T][D]
  dtIgnore: boolean[][]; // [T][D]
  gtIgnore: number[];
}

/** np.argsort(keys, kind='mergesort'): a stable ascending argsort. */
function stableArgsort(keys: number[]): number[] {
  return keys.map((k, i) => [k, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
}

function iou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2] * d[3];
  return i / (crowd ? da : da + g[2] * g[3] - i);
}

export function literalCocoEval(gt: CocoAnnotations, dets: Detections, p: EvalParams): { precision: Float64Array; recall: Float64Array } {
  const imgIds = [...new Set(gt.images.ids)].sort((a, b) => a - b);
  const catIds = [...new Set(gt.categories.ids)].sort((a, b) => a - b);
  const gts = new Map<string, Gt[]>();
  const dts = new Map<string, Dt[]>();
  const a = gt.annotations;
  for (let i = 0; i < a.ids.length; i++) {
    const key = `${gt.images.ids[a.imageIndex[i]]},${gt.categories.ids[a.categoryIndex[i]]}`;
    const g: Gt = { id: a.ids[i], bbox: Array.from(a.bbox.subarray(4 * i, 4 * i + 4)), area: a.area[i], iscrowd: a.iscrowd[i] };
    g.ignore = g.iscrowd ? 1 : 0;
    gts.set(key, [...(gts.get(key) ?? []), g]);
  }
  for (let i = 0; i < dets.count; i++) {
    const key = `${gt.images.ids[dets.imageIndex[i]]},${gt.categories.ids[dets.categoryIndex[i]]}`;
    const bbox = Array.from(dets.bbox.subarray(4 * i, 4 * i + 4));
    dts.set(key, [...(dts.get(key) ?? []), { id: i + 1, bbox, area: bbox[2] * bbox[3], score: dets.score[i] }]);
  }
  const maxDets = [...p.maxDets].sort((x, y) => x - y);
  const maxDet = maxDets[maxDets.length - 1];
  const T = p.iouThresholds.length;

  const computeIoU = (imgId: number, catId: number): number[][] => {
    const g = gts.get(`${imgId},${catId}`) ?? [];
    let d = dts.get(`${imgId},${catId}`) ?? [];
    if (g.length === 0 && d.length === 0) return [];
    d = stableArgsort(d.map((x) => -x.score)).map((i) => d[i]).slice(0, maxDet);
    if (g.length === 0 || d.length === 0) return [];
    return d.map((dd) => g.map((gg) => iou(dd.bbox, gg.bbox, gg.iscrowd !== 0)));
  };
  const ious = new Map<string, number[][]>();
  for (const imgId of imgIds) for (const catId of catIds) ious.set(`${imgId},${catId}`, computeIoU(imgId, catId));

  const evaluateImg = (imgId: number, catId: number, rng: [number, number]): EvalImg | null => {
    let g = gts.get(`${imgId},${catId}`) ?? [];
    let d = dts.get(`${imgId},${catId}`) ?? [];
    if (g.length === 0 && d.length === 0) return null;
    const gIgnore = g.map((x) => (x.ignore || x.area < rng[0] || x.area > rng[1] ? 1 : 0));
    const gtind = stableArgsort(gIgnore);
    g = gtind.map((i) => g[i]);
    const gtIg = gtind.map((i) => gIgnore[i]);
    d = stableArgsort(d.map((x) => -x.score)).map((i) => d[i]).slice(0, maxDet);
    const iscrowd = g.map((x) => x.iscrowd);
    const raw = ious.get(`${imgId},${catId}`) as number[][];
    const M = raw.length ? raw.map((row) => gtind.map((i) => row[i])) : raw;
    const gtm = Array.from({ length: T }, () => new Array<number>(g.length).fill(0));
    const dtm = Array.from({ length: T }, () => new Array<number>(d.length).fill(0));
    const dtIg: boolean[][] = Array.from({ length: T }, () => new Array<boolean>(d.length).fill(false));
    if (M.length) {
      p.iouThresholds.forEach((t, tind) => {
        d.forEach((dd, dind) => {
          let best = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let gind = 0; gind < g.length; gind++) {
            if (gtm[tind][gind] > 0 && !iscrowd[gind]) continue;
            if (m > -1 && gtIg[m] === 0 && gtIg[gind] === 1) break;
            if (M[dind][gind] < best) continue;
            best = M[dind][gind];
            m = gind;
          }
          if (m === -1) return;
          dtIg[tind][dind] = gtIg[m] === 1;
          dtm[tind][dind] = g[m].id;
          gtm[tind][m] = dd.id;
        });
      });
    }
    for (let tind = 0; tind < T; tind++) {
      d.forEach((dd, dind) => {
        const outside = dd.area < rng[0] || dd.area > rng[1];
        dtIg[tind][dind] = dtIg[tind][dind] || (dtm[tind][dind] === 0 && outside);
      });
    }
    return { dtScores: d.map((x) => x.score), dtMatches: dtm, dtIgnore: dtIg, gtIgnore: gtIg };
  };

  const evalImgs: (EvalImg | null)[] = [];
  for (const catId of catIds) for (const rng of p.areaRanges) for (const imgId of imgIds) evalImgs.push(evaluateImg(imgId, catId, [rng.min, rng.max]));

  const R = p.recallThresholds.length;
  const K = catIds.length;
  const A = p.areaRanges.length;
  const Mn = maxDets.length;
  const I0 = imgIds.length;
  const precision = new Float64Array(T * R * K * A * Mn).fill(-1);
  const recall = new Float64Array(T * K * A * Mn).fill(-1);
  for (let k = 0; k < K; k++) {
    for (let ai = 0; ai < A; ai++) {
      for (let m = 0; m < Mn; m++) {
        const E = imgIds.map((_, i) => evalImgs[k * A * I0 + ai * I0 + i]).filter((e): e is EvalImg => e !== null);
        if (E.length === 0) continue;
        const md = maxDets[m];
        const scores = E.flatMap((e) => e.dtScores.slice(0, md));
        const inds = stableArgsort(scores.map((s) => -s));
        const dtm = Array.from({ length: T }, (_, t) => {
          const row = E.flatMap((e) => e.dtMatches[t].slice(0, md));
          return inds.map((i) => row[i]);
        });
        const dtIg = Array.from({ length: T }, (_, t) => {
          const row = E.flatMap((e) => e.dtIgnore[t].slice(0, md));
          return inds.map((i) => row[i]);
        });
        const npig = E.flatMap((e) => e.gtIgnore).filter((x) => x === 0).length;
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          let tpSum = 0;
          let fpSum = 0;
          const rc: number[] = [];
          const pr: number[] = [];
          for (let i = 0; i < inds.length; i++) {
            if (dtm[t][i] !== 0 && !dtIg[t][i]) tpSum++;
            if (dtm[t][i] === 0 && !dtIg[t][i]) fpSum++;
            rc.push(tpSum / npig);
            pr.push(tpSum / (fpSum + tpSum + Number.EPSILON));
          }
          const nd = rc.length;
          recall[((t * K + k) * A + ai) * Mn + m] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          p.recallThresholds.forEach((thr, r) => {
            let pi = 0;
            while (pi < nd && rc[pi] < thr) pi++;
            precision[(((t * R + r) * K + k) * A + ai) * Mn + m] = pi < nd ? pr[pi] : 0;
          });
        }
      }
    }
  }
  return { precision, recall };
}
