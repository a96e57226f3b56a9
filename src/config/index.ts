// Resolving a config: a preset name, a JSON file or an object, plus overrides, validated into a
// complete Config. Errors are one line naming the field: `config <source>: model.depth: ...`.
import * as fs from 'fs';
import { presets } from './presets';
import { configSchema, type Config, type ConfigInput } from './schema';

export { configSchema, modelSchema, type Config, type ConfigInput, type ModelConfig } from './schema';
export { presets, COCO_CATEGORY_IDS } from './presets';

type Plain = Record<string, unknown>;

/** Config fields renamed when the vocabulary was unified: an old JSON file gets a pointed message. */
const RENAMED: Record<string, string> = {
  scoreThresh: 'scoreThreshold',
  nmsThresh: 'nmsThreshold',
  fgIouThresh: 'fgIouThreshold',
  bgIouThresh: 'bgIouThreshold',
  detectionsPerImg: 'maxDetections',
};

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else (arrays included) in `over` replaces `base`. */
function merge(base: unknown, over: unknown): unknown {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = merge(base[key], value);
  return out;
}

function load(source: string | ConfigInput): { input: unknown; where: string } {
  if (typeof source !== 'string') return { input: source, where: 'config' };
  if (Object.prototype.hasOwnProperty.call(presets, source)) return { input: { name: source, ...presets[source] }, where: `config ${source}` };
  if (!source.endsWith('.json') && !fs.existsSync(source)) {
    throw new Error(`config '${source}': not a preset (${Object.keys(presets).join(', ')}) nor a file`);
  }
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (error) {
    throw new Error(`config ${source}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return { input: JSON.parse(text), where: `config ${source}` };
  } catch (error) {
    throw new Error(`config ${source}: invalid JSON (${(error as Error).message})`);
  }
}

/**
 * The complete config of a preset name, a JSON file path or a config object, with `overrides`
 * merged over it. Overriding model.numClasses drops a preset's categoryIds of another length.
 */
export function resolveConfig(source: string | ConfigInput, overrides: ConfigInput = {}): Config {
  const { input, where } = load(source);
  const merged = merge(input, overrides) as Plain;
  const model = merged.model;
  const overriddenClasses = overrides.model?.numClasses;
  if (isPlain(model) && overriddenClasses !== undefined && overrides.model?.categoryIds === undefined &&
      Array.isArray(model.categoryIds) && model.categoryIds.length !== overriddenClasses) {
    delete model.categoryIds;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.length ? `${issue.path.join('.')}: ` : '';
    const renamed = issue.code === 'unrecognized_keys' ? issue.keys.find((key) => key in RENAMED) : undefined;
    const message = renamed ? `'${renamed}' is now called '${RENAMED[renamed]}'` : issue.message.split('\n')[0];
    throw new Error(`${where}: ${path}${message}`);
  }
  return parsed.data;
}
