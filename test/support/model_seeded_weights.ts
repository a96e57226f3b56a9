import { fmix32 } from '../../src/data/random';
import type { Float32Tensor } from '../../src/types';
// The seeded state dict of test/fixtures/make_model_fixtures.py, reproduced bit for bit: every
// tensor is filled from an integer hash of (tensor name, element index), so the ~160 MB torchvision
// weights behind the committed reference outputs need not be committed.

const HEAD_GAINS: Record<string, number> = {
  'rpn.head.cls_logits': 0.5,
  'rpn.head.bbox_pred': 0.06,
  'roi_heads.box_predictor.cls_score': 0.6,
  'roi_heads.box_predictor.bbox_pred': 0.1,
};

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Element i of tensor `name` in [-0.5, 0.5): murmur3's fmix32, top 24 bits (exact in float64). */
function uniformFill(name: string, n: number, map: (u: number) => number, out: Float32Array): void {
  const base = Math.imul(fnv1a(name), 0x9e3779b9);
  for (let i = 0; i < n; i++) out[i] = map((fmix32((base + i) >>> 0) >>> 8) / 16777216 - 0.5);
}

/** The value of state-dict entry `name`, as seeded_value() in the fixture script. */
export function seededTensor(name: string, shape: number[]): Float32Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const parts = name.split('.');
  const leaf = parts[parts.length - 1];
  const isBn = name.includes('.bn') || name.includes('downsample.1') || name.includes('backbone.body.bn1');
  let map: (u: number) => number;
  if (isBn) {
    const damp = parts[parts.length - 2] === 'bn3' ? 0.2 : 1.0;
    const maps: Record<string, (u: number) => number> = {
      weight: (u) => damp * (1.0 + 0.4 * u),
      bias: (u) => 0.2 * u,
      running_mean: (u) => 0.2 * u,
      running_var: (u) => 1.0 + u,
    };
    map = maps[leaf];
  } else if (leaf === 'bias') {
    map = (u) => 0.1 * u;
  } else {
    const fanIn = n / shape[0];
    const gain = HEAD_GAINS[parts.slice(0, -1).join('.')] ?? Math.sqrt(2.0);
    const scale = Math.sqrt(12.0 / fanIn);
    map = (u) => u * gain * scale;
  }
  uniformFill(name, n, map, data);
  return { data, shape };
}

/** The seeded state dict for a model with these names and shapes. */
export function seededStateDict(shapes: Map<string, number[]>): Map<string, Float32Tensor> {
  return new Map([...shapes].map(([name, shape]) => [name, seededTensor(name, shape)]));
}
