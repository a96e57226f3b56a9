// onnxruntime-node: what a Node user who only needs inference would reach for, torchvision's model
// exported to ONNX and run there. It is no dependency of the project, not even a dev one: on
// linux/x64 its install script downloads the CUDA provider from outside the npm registry, so a plain
// `npm install` fails where only the npm registry is reachable (CI). The CPU binary ships inside
// the npm package, so installing it without scripts is all the bench needs; it uses it when it
// resolves and otherwise skips its rows with a notice giving this command.
export const ONNXRUNTIME_INSTALL = 'npm install --no-save --ignore-scripts onnxruntime-node@1.30';

const PACKAGE = 'onnxruntime-node';

/** The parts of onnxruntime-node's API the bench uses (its own types are not installed with the project). */
export interface OnnxRuntime {
  env: { versions: { node: string } };
  InferenceSession: {
    create(file: string, options: { intraOpNumThreads: number }): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>>;
    }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

function installed(): boolean {
  try {
    require.resolve(PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** Why the onnxruntime-node rows cannot run here, or undefined when they can. */
export function onnxRuntimeUnavailable(device: string): string | undefined {
  if (device !== 'cpu') return `${PACKAGE}: its npm package runs on the CPU only, so its rows are skipped with --device ${device}`;
  if (!installed()) return `${PACKAGE} is not installed, so its rows are skipped; to add them: ${ONNXRUNTIME_INSTALL}`;
  return undefined;
}

export function loadOnnxRuntime(): OnnxRuntime {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(PACKAGE) as OnnxRuntime;
}

/**
 * How far `boxes` are from `reference` (both flattened [n, 4] x1, y1, x2, y2): each box's largest
 * coordinate difference to its nearest reference box, the largest of those in pixels. Matching by
 * nearest box, not by rank, because near-equal scores may come out in another order.
 */
export function maxBoxDifference(boxes: ArrayLike<number>, reference: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < boxes.length; i += 4) {
    let nearest = Infinity;
    for (let j = 0; j < reference.length; j += 4) {
      let difference = 0;
      for (let c = 0; c < 4; c++) difference = Math.max(difference, Math.abs(boxes[i + c] - reference[j + c]));
      nearest = Math.min(nearest, difference);
    }
    worst = Math.max(worst, nearest);
  }
  return worst;
}
