// Matching a loaded state dict to the parameter and buffer names a model expects, the way
// torchvision's own loading does: its older checkpoint key layout is renamed to the current one,
// a backbone-only ImageNet ResNet goes under `backbone.body.`, BatchNorm's num_batches_tracked
// (which FrozenBatchNorm does not have) is skipped, and a shape mismatch names the key.
import type { Tensor } from '../native';

export interface MatchedStateDict {
  /** The loaded tensors under the model's names, in the file's order. */
  tensors: Map<string, Tensor>;
  /** Names the model expects that the file does not provide. */
  missing: string[];
  /** Names in the file (as written there) that the model has no use for, e.g. an ImageNet `fc.*`. */
  unexpected: string[];
  /** True when the file was a backbone-only ImageNet ResNet, loaded into `backbone.body`. */
  backboneOnly: boolean;
}

// torchvision before 0.13 (its published COCO weights) named these without the Conv2dNormActivation
// level: `backbone.fpn.inner_blocks.0.weight` is now `backbone.fpn.inner_blocks.0.0.weight`, and
// `rpn.head.conv.weight` is now `rpn.head.conv.0.0.weight`.
const olderLayout: [RegExp, string][] = [
  [/^(.*\bfpn\.(?:inner|layer)_blocks\.\d+)\.(weight|bias)$/, '$1.0.$2'],
  [/^(.*\brpn\.head\.conv)\.(weight|bias)$/, '$1.0.0.$2'],
];

const BACKBONE_BODY = 'backbone.body.';

function shapeText(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Puts `loaded` under the names of `expectedShapes` (the model's state dict names and shapes).
 * Throws `weights FILE: key K has shape [..] but the model expects [..]` on a shape mismatch;
 * missing and unexpected names are returned for the caller to report or refuse.
 */
export function matchStateDict(expectedShapes: Map<string, number[]>, loaded: Map<string, Tensor>, file = 'state dict'): MatchedStateDict {
  const keys = [...loaded.keys()];
  const backboneOnly =
    expectedShapes.has(`${BACKBONE_BODY}conv1.weight`) && loaded.has('conv1.weight') && !keys.some((key) => key.startsWith('backbone.'));
  const tensors = new Map<string, Tensor>();
  const unexpected: string[] = [];
  for (const [key, tensor] of loaded) {
    let name = backboneOnly ? BACKBONE_BODY + key : key;
    if (!expectedShapes.has(name)) {
      for (const [pattern, replacement] of olderLayout) {
        const renamed = name.replace(pattern, replacement);
        if (renamed !== name && expectedShapes.has(renamed)) name = renamed;
      }
    }
    const expected = expectedShapes.get(name);
    if (!expected || tensors.has(name)) {
      // BatchNorm's step counter means nothing to FrozenBatchNorm: not worth a warning.
      if (!key.endsWith('num_batches_tracked')) unexpected.push(key);
      continue;
    }
    if (expected.length !== tensor.shape.length || expected.some((size, d) => size !== tensor.shape[d])) {
      throw new Error(`weights ${file}: key ${key} has shape ${shapeText(tensor.shape)} but the model expects ${shapeText(expected)}`);
    }
    tensors.set(name, tensor);
  }
  const missing = [...expectedShapes.keys()].filter((name) => !tensors.has(name));
  return { tensors, missing, unexpected, backboneOnly };
}
