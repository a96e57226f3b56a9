import type { Tensor } from '../types';
// Matching a loaded state dict to the parameter and buffer names a model expects, the way
// torchvision's own loading does: its older checkpoint key layout is renamed to the current one,
// a backbone-only ImageNet ResNet goes under `backbone.body.`, BatchNorm's num_batches_tracked
// (which FrozenBatchNorm does not have) is skipped, and a shape mismatch names the key.

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

/** The architecture a state dict's names reveal: its ResNet depth and whether it has the IR module. */
function architectureOf(names: Iterable<string>): { depth?: number; relation: boolean } {
  let layer3Blocks = 0;
  let bottleneck = false;
  let relation = false;
  for (const name of names) {
    relation ||= name.includes('roi_heads.relation.');
    const block = /(?:^|\.)layer3\.(\d+)\.(conv\d)\./.exec(name);
    if (!block) continue;
    layer3Blocks = Math.max(layer3Blocks, Number(block[1]) + 1);
    bottleneck ||= block[2] === 'conv3';
  }
  // layer3's block count tells the depths apart (2, 6, 6, 23, 36); 34 and 50 differ by the bottleneck's conv3.
  const depth = ({ 2: 18, 6: bottleneck ? 50 : 34, 23: 101, 36: 152 } as Record<number, number>)[layer3Blocks];
  return { depth, relation };
}

/** A one-phrase guess at why a file does not fit a model, naming the config that would. */
function mismatchHint(fileNames: Iterable<string>, model: { depth: number; relation: boolean }): string {
  const file = architectureOf(fileNames);
  const family = file.relation ? 'ir_rcnn' : 'faster_rcnn';
  if (file.depth !== undefined && file.depth !== model.depth) {
    const fix = [50, 101].includes(file.depth) ? `try --config ${family}_r${file.depth}_fpn_coco` : `use a config with model.depth ${file.depth}`;
    return `a ResNet-${file.depth} checkpoint? ${fix}`;
  }
  if (file.relation !== model.relation) {
    return file.relation ? `an IR R-CNN checkpoint? use an ir_rcnn_* config` : `a Faster R-CNN checkpoint? use a faster_rcnn_* config`;
  }
  return 'wrong architecture or --num-classes?';
}

export interface StrictOptions {
  /** Accept a file that lacks some of the model's tensors (they keep their initial values). */
  allowMissing?: boolean;
  /** Accept a file with tensors the model has no place for (they are ignored). */
  allowUnexpected?: boolean;
}

function listed(names: string[]): string {
  return names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
}

/**
 * Refuses a match that load_state_dict(strict=True) would refuse, with one line naming a few of
 * the keys and the likely cause; `options` opts out of either half. An ImageNet checkpoint's
 * classifier (`fc.*`) is never counted as unexpected: loading a backbone is what it is for.
 */
export function checkStrict(matched: MatchedStateDict, file: string, model: { depth: number; relation: boolean }, options: StrictOptions = {}): void {
  const fileNames = () => [...matched.tensors.keys(), ...matched.unexpected];
  const unexpected = matched.backboneOnly ? matched.unexpected.filter((key) => !key.startsWith('fc.')) : matched.unexpected;
  if (unexpected.length > 0 && !options.allowUnexpected) {
    throw new Error(
      `weights ${file}: ${unexpected.length} tensor(s) that this model does not have (${listed(unexpected)}); ` +
        `${mismatchHint(fileNames(), model)} (allowUnexpected / --allow-unexpected ignores them)`,
    );
  }
  if (matched.missing.length > 0 && !options.allowMissing) {
    throw new Error(
      `weights ${file}: missing ${matched.missing.length} tensor(s) of this model (${listed(matched.missing)}); ` +
        `${mismatchHint(fileNames(), model)} (allowMissing keeps their initial values)`,
    );
  }
}
